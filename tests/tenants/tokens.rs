//! The token cache bound (on the deployment's manual clock), the cost of a cached and an
//! uncached token, a flood of unknown tokens, expiry, and the per-tenant request cap.

use std::time::Duration;

use axum::http::Method;
use scim_lambda::store::Call;
use serde_json::json;

use crate::helpers::{Deployment, user};
use crate::on_both_stores;

on_both_stores!(
    revoke_and_disable_take_effect_at_once_here_and_within_60_seconds_elsewhere,
    a_cached_token_costs_no_read_and_an_uncached_one_one_read,
    unknown_and_malformed_tokens_cost_at_most_one_read_and_are_never_cached,
    an_expired_token_is_refused_even_when_cached,
    a_tenant_over_its_cap_gets_429_and_others_do_not,
);

const PROBE: &str = "/scim/v2/Users?count=0";

async fn status(d: &Deployment, one: bool, token: &str) -> u16 {
    let app = if one { &d.one } else { &d.two };
    d.scim(app, token, Method::GET, PROBE, None)
        .await
        .status
        .as_u16()
}

async fn revoke_and_disable_take_effect_at_once_here_and_within_60_seconds_elsewhere(
    d: &Deployment,
) {
    let (t, k) = d.tenant_with_token("Revokers").await;
    let token_id = &k[5..25];
    // Both instances verify (and cache) the token.
    assert_eq!(
        (status(d, true, &k).await, status(d, false, &k).await),
        (200, 200)
    );
    d.admin(
        Method::DELETE,
        &format!("/tenants/{t}/tokens/{token_id}"),
        None,
    )
    .await
    .expect(204);
    assert_eq!(
        status(d, true, &k).await,
        401,
        "at once on the instance that revoked"
    );
    d.clock.advance(Duration::from_secs(59));
    assert_eq!(
        status(d, false, &k).await,
        200,
        "another instance may trust its cache < 60 s"
    );
    d.clock.advance(Duration::from_secs(1));
    assert_eq!(status(d, false, &k).await, 401, "but not for 60 s");

    let k2 = d
        .admin(
            Method::POST,
            &format!("/tenants/{t}/tokens"),
            Some(json!({})),
        )
        .await
        .expect(201)
        .str("token");
    assert_eq!(
        (status(d, true, &k2).await, status(d, false, &k2).await),
        (200, 200)
    );
    d.admin(
        Method::PATCH,
        &format!("/tenants/{t}"),
        Some(json!({"status": "disabled"})),
    )
    .await
    .expect(200);
    assert_eq!(status(d, true, &k2).await, 401);
    d.clock.advance(Duration::from_secs(60));
    assert_eq!(status(d, false, &k2).await, 401);
    d.admin(
        Method::PATCH,
        &format!("/tenants/{t}"),
        Some(json!({"status": "active"})),
    )
    .await
    .expect(200);
    assert_eq!(
        (status(d, true, &k2).await, status(d, false, &k2).await),
        (200, 200)
    );
    // Deleting refuses at once too.
    d.admin(Method::DELETE, &format!("/tenants/{t}"), None)
        .await
        .expect(202);
    assert_eq!(status(d, true, &k2).await, 401);
    d.clock.advance(Duration::from_secs(60));
    assert_eq!(status(d, false, &k2).await, 401);
}

async fn a_cached_token_costs_no_read_and_an_uncached_one_one_read(d: &Deployment) {
    let (_, k) = d.tenant_with_token("Costs").await;
    // The first use also records lastUsedAt and lastRequestAt (coarse: once per 5 minutes).
    assert_eq!(status(d, true, &k).await, 200);
    let before = d.calls();
    assert_eq!(status(d, true, &k).await, 200);
    let cached = d.calls().since(&before);
    d.clock.advance(Duration::from_secs(61));
    let before = d.calls();
    assert_eq!(status(d, true, &k).await, 200);
    let uncached = d.calls().since(&before);
    // `count=0` is answered from the counter: the same request cost either way, plus the read.
    assert_eq!(
        uncached.get(Call::GetItem),
        cached.get(Call::GetItem) + 1,
        "{uncached} vs {cached}"
    );
    assert_eq!(
        uncached.total(),
        cached.total() + 1,
        "{uncached} vs {cached}"
    );
    assert_eq!(uncached.get(Call::UpdateItem), 0, "no write per request");
}

async fn unknown_and_malformed_tokens_cost_at_most_one_read_and_are_never_cached(d: &Deployment) {
    let (_, k) = d.tenant_with_token("Flood").await;
    let unknown = format!("scim_{}_{}", "a".repeat(20), "b".repeat(52));
    let wrong_secret = format!("{}{}", &k[..26], "c".repeat(52));
    for (token, reads) in [
        (unknown.as_str(), 1),
        (unknown.as_str(), 1),
        ("scim_short_secret", 0),
        ("scim_", 0),
        (&"x".repeat(3000), 0),
    ] {
        let before = d.calls();
        assert_eq!(status(d, true, token).await, 401);
        let cost = d.calls().since(&before);
        assert_eq!(
            cost.total(),
            reads,
            "{}: {cost}",
            &token[..token.len().min(12)]
        );
    }
    // A wrong secret for an uncached id costs its read and is not cached as valid...
    for _ in 0..2 {
        let before = d.calls();
        assert_eq!(status(d, false, &wrong_secret).await, 401);
        assert_eq!(d.calls().since(&before).total(), 1);
    }
    // ...and once the real token is cached, a wrong secret for its id costs nothing.
    assert_eq!(status(d, true, &k).await, 200);
    let before = d.calls();
    assert_eq!(status(d, true, &wrong_secret).await, 401);
    assert_eq!(d.calls().since(&before).total(), 0);
    assert_eq!(
        status(d, true, &k).await,
        200,
        "valid traffic is unaffected"
    );
}

async fn an_expired_token_is_refused_even_when_cached(d: &Deployment) {
    let (t, _) = d.tenant_with_token("Expiry").await;
    let now = scim_lambda::clock::Clock::now(d.clock.as_ref());
    let expires = scim_lambda::tenancy::admin::rfc3339(now + 30);
    let k = d
        .admin(
            Method::POST,
            &format!("/tenants/{t}/tokens"),
            Some(json!({"expiresAt": expires})),
        )
        .await
        .expect(201)
        .str("token");
    assert_eq!(status(d, true, &k).await, 200);
    d.clock.advance(Duration::from_secs(29));
    assert_eq!(status(d, true, &k).await, 200);
    d.clock.advance(Duration::from_secs(2));
    assert_eq!(status(d, true, &k).await, 401);
}

async fn a_tenant_over_its_cap_gets_429_and_others_do_not(d: &Deployment) {
    let (t, k) = d.tenant_with_token("Runaway").await;
    let (_, calm) = d.tenant_with_token("Calm").await;
    d.admin(
        Method::PATCH,
        &format!("/tenants/{t}"),
        Some(json!({"requestsPerSecond": 2})),
    )
    .await
    .expect(200);
    // Two seconds of burst at 2/s, then refused with Retry-After and a SCIM error.
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..6 {
            v.push(status(d, true, &k).await);
        }
        v
    };
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
    let r = d
        .scim(&d.one, &k, Method::POST, "/scim/v2/Users", Some(user("x")))
        .await
        .scim_error(429);
    assert_eq!(r.headers.get("retry-after").unwrap(), "1");
    assert_eq!(
        status(d, true, &calm).await,
        200,
        "another tenant is not affected"
    );
    assert_eq!(status(d, false, &k).await, 200, "the cap is per instance");
    d.clock.advance(Duration::from_secs(1));
    assert_eq!(status(d, true, &k).await, 200);
}
