//! Webhook deliveries against a receiver on 127.0.0.1: signatures a receiver can check,
//! retries on the schedule (on a manual clock), dead letters, the address policy, and the SQS
//! queue on the emulator.

use scim_lambda::clock::{Clock, SystemClock};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use scim_lambda::feed::delivery::{Delivery, Https};
use scim_lambda::feed::pipeline::{Outgoing, Push};
use scim_lambda::feed::queue::{DeliveryQueue, LocalQueue, Sqs, WebhookPush, handle_due};
use scim_lambda::feed::retry_delay;
use scim_lambda::feed::{UrlPolicy, WebhookSecret};
use scim_lambda::store::TenantId;
use scim_lambda::store::webhooks::{Endpoint, MemoryWebhooks, WebhookStore};
use secrecy::ExposeSecret;

/// What the receiver saw: (webhook-id, timestamp, signature, body).
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

/// A receiver answering the scripted statuses in turn (then 200).
async fn receiver(script: Vec<u16>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    let record = Arc::clone(&seen);
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let record = Arc::clone(&record);
            let script = Arc::clone(&script);
            async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                record.lock().unwrap().push((
                    h("webhook-id"),
                    h("webhook-timestamp"),
                    h("webhook-signature"),
                    body,
                ));
                let status = script.lock().unwrap().pop_front().unwrap_or(200);
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

fn endpoint(url: &str, secret: &WebhookSecret, types: Option<Vec<String>>) -> Endpoint {
    Endpoint {
        id: "wh_test".into(),
        url: url.into(),
        secret: secret.expose(),
        tenants: Some(vec![TenantId::parse("t_acme").unwrap()]),
        types,
        created_at: "2026-12-01T00:00:00Z".into(),
    }
}

fn event(seq: u64, ty: &str) -> Outgoing {
    Outgoing {
        tenant: TenantId::parse("t_acme").unwrap(),
        seq,
        id: format!("evt_{seq}"),
        event_type: ty.into(),
        doc: serde_json::json!({"jti": format!("evt_{seq}"), "type": ty, "seq": seq}).to_string(),
    }
}

#[tokio::test]
async fn a_signed_delivery_is_retried_on_the_schedule_until_it_lands() {
    let (url, seen) = receiver(vec![500, 503]).await;
    let secret = WebhookSecret::generate().unwrap();
    let webhooks = Arc::new(MemoryWebhooks::default());
    webhooks
        .put_endpoint(&endpoint(&url, &secret, None))
        .await
        .unwrap();
    let queue = Arc::new(LocalQueue::new());
    let push = WebhookPush::new(Arc::clone(&webhooks), Arc::clone(&queue));
    push.push(&[event(1, "user.deactivated")]).await.unwrap();
    let transport = Https::new(UrlPolicy::Local).unwrap();
    // A manual clock: each due delivery is attempted when the clock reaches it.
    let mut now = SystemClock.now_ms();
    let mut attempts = 0;
    loop {
        let (due, next) = queue.take_due(now);
        if due.is_empty() {
            match next {
                Some(n) => {
                    // The retry comes exactly on the schedule.
                    let expected = retry_delay(attempts).unwrap().as_millis() as u64;
                    assert!(n - now <= expected, "retry {attempts} after {} ms", n - now);
                    now = n;
                    continue;
                }
                None => break,
            }
        }
        attempts += 1;
        handle_due(&transport, &*webhooks, &*queue, due, now)
            .await
            .unwrap();
    }
    assert_eq!(attempts, 3);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    for (id, ts, signature, body) in &seen {
        assert_eq!(id, "evt_1", "webhook-id is the event id on every attempt");
        let ts: i64 = ts.parse().unwrap();
        assert!(
            secret.verify(id, ts, body.as_bytes(), signature),
            "receiver can verify"
        );
    }
    assert!(queue.dead_letters().is_empty());
}

#[tokio::test]
async fn a_dead_endpoint_is_dead_lettered_when_the_schedule_is_spent() {
    let (url, seen) = receiver(vec![500; 64]).await;
    let secret = WebhookSecret::generate().unwrap();
    let webhooks = MemoryWebhooks::default();
    webhooks
        .put_endpoint(&endpoint(&url, &secret, None))
        .await
        .unwrap();
    let queue = LocalQueue::new();
    let transport = Https::new(UrlPolicy::Local).unwrap();
    let start = 1_750_000_000_000;
    let mut delivery = Delivery {
        endpoint: "wh_test".into(),
        event_id: "evt_9".into(),
        doc: "{}".into(),
        attempt: 1,
        due_ms: start,
    };
    let mut now = start;
    loop {
        handle_due(&transport, &webhooks, &queue, vec![delivery.clone()], now)
            .await
            .unwrap();
        let (_, next) = queue.take_due(0);
        let (due, _) = queue.take_due(u64::MAX);
        match due.into_iter().next() {
            Some(d) => {
                now = next.unwrap();
                delivery = d;
            }
            None => break,
        }
    }
    let dead = queue.dead_letters();
    assert_eq!(dead.len(), 1);
    let attempts = seen.lock().unwrap().len() as u64;
    assert_eq!(attempts, u64::from(dead[0].attempt));
    assert!(
        now - start >= 3 * 24 * 3600 * 1000,
        "retried for at least three days"
    );
}

#[tokio::test]
async fn endpoints_get_only_their_tenants_and_types() {
    let (url, seen) = receiver(vec![]).await;
    let secret = WebhookSecret::generate().unwrap();
    let webhooks = Arc::new(MemoryWebhooks::default());
    webhooks
        .put_endpoint(&endpoint(
            &url,
            &secret,
            Some(vec!["user.deactivated".into()]),
        ))
        .await
        .unwrap();
    let queue = Arc::new(LocalQueue::new());
    let push = WebhookPush::new(Arc::clone(&webhooks), Arc::clone(&queue));
    let mut other = event(3, "user.deactivated");
    other.tenant = TenantId::parse("t_other").unwrap();
    push.push(&[
        event(1, "user.created"),
        event(2, "user.deactivated"),
        other,
    ])
    .await
    .unwrap();
    let (due, _) = queue.take_due(u64::MAX);
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].event_id, "evt_2");
    let transport = Https::new(UrlPolicy::Local).unwrap();
    handle_due(&transport, &*webhooks, &*queue, due, u64::MAX / 2)
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn deployed_deliveries_never_reach_loopback_or_metadata_addresses() {
    let (url, seen) = receiver(vec![]).await;
    let secret = WebhookSecret::generate().unwrap();
    let webhooks = MemoryWebhooks::default();
    let queue = LocalQueue::new();
    let transport = Https::new(UrlPolicy::Deployed).unwrap();
    for target in [
        url.replace("http://", "https://"),
        "https://169.254.169.254/latest/meta-data/".to_string(),
        "https://localhost/hook".to_string(),
    ] {
        webhooks
            .put_endpoint(&endpoint(&target, &secret, None))
            .await
            .unwrap();
        let d = Delivery {
            endpoint: "wh_test".into(),
            event_id: "evt_1".into(),
            doc: "{}".into(),
            attempt: 1,
            due_ms: 0,
        };
        handle_due(&transport, &webhooks, &queue, vec![d], 1)
            .await
            .unwrap();
        let (retried, _) = queue.take_due(u64::MAX);
        assert_eq!(retried.len(), 1, "{target}: refused, so retried later");
    }
    assert!(
        seen.lock().unwrap().is_empty(),
        "no request reached the receiver"
    );
}

#[tokio::test]
async fn the_sqs_queue_carries_deliveries_and_dead_letters() {
    if std::env::var_os("SCIM_TEST_DYNAMODB").is_none() {
        return;
    }
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let client = aws_sdk_sqs::Client::new(&config);
    let name = format!("scim-deliveries-{}", uuid::Uuid::new_v4());
    let url = |q: aws_sdk_sqs::operation::create_queue::CreateQueueOutput| {
        q.queue_url().unwrap().to_string()
    };
    let queue_url = url(client
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap());
    let dead_url = url(client
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .unwrap());
    let sqs = Sqs::new(client.clone(), queue_url.clone(), dead_url.clone());
    let now = 1_750_000_000_000;
    let d = Delivery {
        endpoint: "wh_1".into(),
        event_id: "evt_1".into(),
        doc: "{\"seq\":1}".into(),
        attempt: 2,
        due_ms: now,
    };
    sqs.send(vec![d.clone()], now).await.unwrap();
    sqs.dead_letter(Delivery {
        attempt: 20,
        ..d.clone()
    })
    .await
    .unwrap();
    let received = client
        .receive_message()
        .queue_url(&queue_url)
        .send()
        .await
        .unwrap();
    let body = received.messages()[0].body().unwrap();
    assert_eq!(serde_json::from_str::<Delivery>(body).unwrap(), d);
    let dead = client
        .receive_message()
        .queue_url(&dead_url)
        .send()
        .await
        .unwrap();
    let dead: Delivery = serde_json::from_str(dead.messages()[0].body().unwrap()).unwrap();
    assert_eq!(dead.attempt, 20);
}

/// The secret is shown once: an endpoint's Debug never carries it.
#[test]
fn an_endpoints_debug_never_shows_its_secret() {
    let secret = WebhookSecret::generate().unwrap();
    let e = endpoint("https://example.com", &secret, None);
    let text = secret.expose();
    assert!(!format!("{e:?}").contains(text.expose_secret()));
}
