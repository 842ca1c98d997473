//! The whole loop on a local server (embedded store), over real sockets: a webhook receiver on
//! 127.0.0.1 is registered through the admin API, Entra's `"active": "False"` PATCH arrives, a
//! signed `user.deactivated` reaches the receiver, and the pull API replays the history.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use scim_lambda::feed::WebhookSecret;
use serde_json::{Value, json};

const TOKEN: &str = "local-feed-token-0123456789";
const ADMIN: &str = "local-feed-admin-0123456789";

struct Server {
    child: std::process::Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scim-lambda"))
        .env("SCIM_LISTEN", "127.0.0.1:0")
        .env("SCIM_TOKEN", TOKEN)
        .env("SCIM_ADMIN_TOKEN", ADMIN)
        .env("SCIM_STORE", "memory")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().unwrap().unwrap();
        if let Some(url) = line.split("http://").nth(1) {
            break url.split('/').next().unwrap().to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, addr }
}

async fn call(method: &str, url: &str, bearer: &str, body: Option<Value>) -> (u16, Value) {
    let uri: axum::http::Uri = url.parse().unwrap();
    let stream = tokio::net::TcpStream::connect(uri.authority().unwrap().as_str())
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = hyper::Request::builder()
        .method(method)
        .uri(uri.path_and_query().unwrap().as_str())
        .header("host", uri.authority().unwrap().as_str())
        .header("authorization", format!("Bearer {bearer}"))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivation_reaches_a_local_webhook_signed_and_the_feed_replays() {
    // The receiver: records (headers, body) of every delivery.
    let seen: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
    let record = Arc::clone(&seen);
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let record = Arc::clone(&record);
            async move {
                record.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let server = start();
    let base = format!("http://{}", server.addr);
    let (status, created) = call(
        "POST",
        &format!("{base}/admin/v1/webhooks"),
        ADMIN,
        Some(json!({"url": hook, "types": ["user.deactivated"]})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = WebhookSecret::parse(created["secret"].as_str().unwrap()).unwrap();
    let (status, listed) = call("GET", &format!("{base}/admin/v1/webhooks"), ADMIN, None).await;
    assert_eq!(status, 200);
    assert!(
        listed["webhooks"][0].get("secret").is_none(),
        "the secret is shown once"
    );
    // A SCIM token never opens the admin API.
    let (status, _) = call("GET", &format!("{base}/admin/v1/webhooks"), TOKEN, None).await;
    assert_eq!(status, 401);

    let (status, user) = call(
        "POST",
        &format!("{base}/scim/v2/Users"),
        TOKEN,
        Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bjensen", "active": true})),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap().to_string();
    let (status, _) = call(
        "PATCH",
        &format!("{base}/scim/v2/Users/{id}"),
        TOKEN,
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
        ),
    )
    .await;
    assert_eq!(status, 200);

    // Bounded wait for the delivery.
    let mut delivery = None;
    for _ in 0..100 {
        if let Some(d) = seen.lock().unwrap().first().cloned() {
            delivery = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (headers, body) = delivery.expect("a delivery within 5 s");
    let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_string();
    let event: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(event["type"], "user.deactivated");
    assert_eq!(h("webhook-id"), event["jti"].as_str().unwrap());
    let ts: i64 = h("webhook-timestamp").parse().unwrap();
    assert!(secret.verify(
        &h("webhook-id"),
        ts,
        body.as_bytes(),
        &h("webhook-signature")
    ));
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "only the subscribed type is delivered"
    );

    // The pull API replays the tenant's whole history from the start.
    let (status, page) = call(
        "GET",
        &format!("{base}/admin/v1/tenants/default/events?after=0&limit=10"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let types: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["user.created", "user.deactivated"]);
    assert_eq!(page["next"], "2");
    let (status, bad) = call(
        "GET",
        &format!("{base}/admin/v1/tenants/default/events?after=x"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (400, Some("invalid_request"))
    );
}
