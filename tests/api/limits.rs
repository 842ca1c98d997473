//! Input limits, one test per limit: every oversized or absurd input gets a SCIM error (never a
//! 5xx, a panic or a hang), and the cheap refusals cost no store call.
//!
//! The values are documented, with their reasons, in `docs/security.md`.

use axum::body::Body;
use axum::http::Request;
use scim_lambda::http::limits::MAX_BODY_BYTES;
use scim_lambda::scim::filter::{MAX_FILTER_DEPTH, MAX_FILTER_LEN};
use scim_lambda::scim::list::MAX_COUNT;
use scim_lambda::scim::patch::MAX_OPERATIONS;
use scim_lambda::scim::path::{MAX_ATTRIBUTE_LIST_ENTRIES, MAX_ATTRIBUTE_LIST_LEN};
use scim_lambda::scim::urn::PATCH_OP;
use serde_json::{Value, json};

use crate::helpers::{BASE, TOKEN, TestApp, enc};

fn post_raw(path: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(format!("{BASE}{path}"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/scim+json")
        .body(Body::from(body))
        .unwrap()
}

pub async fn body_over_one_mib_is_413(app: &TestApp) {
    // No Content-Length (as `oneshot` sends it): the capped read refuses it. A declared length
    // over the cap is refused before reading.
    let padding = |n: usize| format!(r#"{{"userName":"big","x":"{}"}}"#, "x".repeat(n));
    let over = padding(MAX_BODY_BYTES);
    assert!(over.len() > MAX_BODY_BYTES);
    app.raw(post_raw("/Users", over.into_bytes()))
        .await
        .expect_error(413, None);
    let lying = Request::post(format!("{BASE}/Users"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-length", "999999999999")
        .body(Body::from("{}"))
        .unwrap();
    app.raw(lying).await.expect_error(413, None);
}

pub async fn json_nesting_deeper_than_serde_allows_is_400(app: &TestApp) {
    // serde_json stops at 128 levels; the error is a SCIM invalidSyntax, not a stack overflow.
    for (open, close) in [("[", "]"), (r#"{"a":"#, "}")] {
        let deep = format!("{}1{}", open.repeat(100_000), close.repeat(100_000));
        app.raw(post_raw("/Users", deep.into_bytes()))
            .await
            .expect_error(400, Some("invalidSyntax"));
    }
    let id = app.user("nested").await;
    let value = format!("{}1{}", "[".repeat(500), "]".repeat(500));
    let patch = format!(
        r#"{{"schemas":["{PATCH_OP}"],"Operations":[{{"op":"add","path":"title","value":{value}}}]}}"#
    );
    let r = Request::patch(format!("{BASE}/Users/{id}"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from(patch))
        .unwrap();
    app.raw(r).await.expect_error(400, Some("invalidSyntax"));
}

pub async fn patch_operations_are_capped(app: &TestApp) {
    let id = app.user("many.ops").await;
    let op = json!({"op": "replace", "path": "title", "value": "t"});
    let body = |n: usize| json!({"schemas": [PATCH_OP], "Operations": vec![op.clone(); n]});
    let before = app.calls();
    app.patch(&format!("/Users/{id}"), &body(MAX_OPERATIONS + 1))
        .await
        .expect_error(400, Some("tooMany"));
    assert_eq!(
        app.calls().since(&before).total(),
        0,
        "refused before any read"
    );
    app.patch(&format!("/Users/{id}"), &body(MAX_OPERATIONS))
        .await
        .expect(200);
}

pub async fn filter_length_and_depth_are_capped(app: &TestApp) {
    let long = format!(r#"userName eq "{}""#, "a".repeat(MAX_FILTER_LEN));
    let deep = format!(
        "{}userName pr{}",
        "(".repeat(MAX_FILTER_DEPTH + 1),
        ")".repeat(MAX_FILTER_DEPTH + 1)
    );
    let brackets = format!(
        "{}value pr{}",
        "emails[".repeat(MAX_FILTER_DEPTH + 1),
        "]".repeat(MAX_FILTER_DEPTH + 1)
    );
    let before = app.calls();
    for filter in [&long, &deep, &brackets] {
        app.get(&format!("/Users?filter={}", enc(filter)))
            .await
            .expect_error(400, Some("invalidFilter"));
        let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": filter});
        app.post("/Users/.search", &search)
            .await
            .expect_error(400, Some("invalidFilter"));
    }
    // The same depth in a PATCH path is invalidPath.
    let id = app.user("deep.path").await;
    let path = format!("emails[{}type eq \"w\"{}]", "(".repeat(20), ")".repeat(20));
    let body = json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": path}]});
    app.patch(&format!("/Users/{id}"), &body)
        .await
        .expect_error(400, Some("invalidPath"));
    assert_eq!(
        app.calls().since(&before).total(),
        1,
        "only the user create"
    );
    let at_limit = format!(
        "{}userName pr{}",
        "(".repeat(MAX_FILTER_DEPTH),
        ")".repeat(MAX_FILTER_DEPTH)
    );
    app.get(&format!("/Users?filter={}", enc(&at_limit)))
        .await
        .expect(200);
}

pub async fn count_is_capped_and_start_index_floored(app: &TestApp) {
    app.user("paged").await;
    let r = app
        .get("/Users?count=1000000000&startIndex=-5")
        .await
        .expect(200);
    assert_eq!(r.body["startIndex"], 1, "{}", r.body);
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["itemsPerPage"], 1);
    let r = app.get("/Users?startIndex=0&count=-1").await.expect(200);
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["itemsPerPage"], 0);
    // Beyond i64: a value, not a panic.
    app.get("/Users?count=99999999999999999999999")
        .await
        .expect_error(400, Some("invalidValue"));
    let spc = app.get("/ServiceProviderConfig").await.expect(200);
    assert_eq!(spc.body["filter"]["maxResults"], MAX_COUNT);
}

pub async fn attribute_lists_are_capped(app: &TestApp) {
    let id = app.user("projected").await;
    let many = vec!["userName"; MAX_ATTRIBUTE_LIST_ENTRIES + 1].join(",");
    let long = format!("userName,{}", "a".repeat(MAX_ATTRIBUTE_LIST_LEN));
    let before = app.calls();
    for list in [&many, &long] {
        for param in ["attributes", "excludedAttributes"] {
            app.get(&format!("/Users?{param}={}", enc(list)))
                .await
                .expect_error(400, Some("invalidPath"));
            app.get(&format!("/Users/{id}?{param}={}", enc(list)))
                .await
                .expect_error(400, Some("invalidPath"));
        }
    }
    assert_eq!(app.calls().since(&before).total(), 0);
    let at_cap = vec!["userName"; MAX_ATTRIBUTE_LIST_ENTRIES].join(",");
    let r = app
        .get(&format!("/Users/{id}?attributes={}", enc(&at_cap)))
        .await
        .expect(200);
    assert_eq!(r.body["userName"], "projected");
}

pub async fn ids_that_are_not_uuids_are_404_without_a_store_call(app: &TestApp) {
    let odd = [
        "not-a-uuid".to_string(),
        "x".repeat(5000),
        "%00".to_string(),
        "..%2F..%2Fetc".to_string(),
        "T%23default%23USER%23x".to_string(),
    ];
    let before = app.calls();
    for id in &odd {
        app.get(&format!("/Users/{id}"))
            .await
            .expect_error(404, None);
        app.get(&format!("/Groups/{id}"))
            .await
            .expect_error(404, None);
        app.delete(&format!("/Users/{id}"))
            .await
            .expect_error(404, None);
        let user =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x"});
        app.put(&format!("/Users/{id}"), &user)
            .await
            .expect_error(404, None);
        let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "t"}]});
        app.patch(&format!("/Groups/{id}"), &patch)
            .await
            .expect_error(404, None);
    }
    assert_eq!(app.calls().since(&before).total(), 0);
}

pub async fn absurd_tokens_and_headers_are_refused_before_the_store(app: &TestApp) {
    let huge = "x".repeat(1024 * 1024);
    let before = app.calls();
    let cases: Vec<(&str, String)> = vec![
        ("authorization", format!("Bearer {huge}")),
        ("authorization", huge.clone()),
        (
            "authorization",
            format!("Bearer {TOKEN}{}", "x".repeat(5000)),
        ),
        ("authorization", "Bearer".to_string()),
        ("authorization", "Basic dGVzdDp0ZXN0".to_string()),
    ];
    for (name, value) in &cases {
        let r = Request::get(format!("{BASE}/Users"))
            .header(*name, value)
            .body(Body::empty())
            .unwrap();
        let r = app.raw(r).await.expect_error(401, None);
        assert!(r.header("www-authenticate").is_some());
    }
    // Non-UTF-8 bytes in the header value.
    let r = Request::get(format!("{BASE}/Users"))
        .header(
            "authorization",
            axum::http::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    app.raw(r).await.expect_error(401, None);
    // Refused by the bearer layer: not one store call (what makes a refusal cheap, whatever
    // the machine's speed).
    assert_eq!(
        app.calls().since(&before).total(),
        0,
        "a refused request reached the store"
    );
    // A huge unrelated header on an authenticated request is harmless.
    let r = Request::get(format!("{BASE}/Users?count=0"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("x-junk", &huge)
        .header("if-none-match", &huge)
        .body(Body::empty())
        .unwrap();
    let status = app.raw(r).await.status.as_u16();
    assert!(status < 500, "{status}");
    assert!(
        app.calls().since(&before).total() <= 2,
        "only the last (authenticated) request may reach the store"
    );
}

pub async fn list_responses_are_always_well_formed(app: &TestApp) {
    // A mixed bag of odd but valid parameters: the answer is a ListResponse, never an error.
    app.user("odd.params").await;
    for query in [
        "?filter=userName%20eq%20%22nobody%22",
        "?sortBy=userName&sortOrder=DESCENDING",
        "?attributes=&excludedAttributes=",
        "?count=0",
        "?startIndex=1000000",
        "?aadOptscim062020&unknown=%00",
    ] {
        let r = app.get(&format!("/Users{query}")).await.expect(200);
        assert_eq!(
            r.body["schemas"][0],
            Value::from("urn:ietf:params:scim:api:messages:2.0:ListResponse"),
            "{query}"
        );
    }
}

crate::on_every_store!(
    body_over_one_mib_is_413,
    json_nesting_deeper_than_serde_allows_is_400,
    patch_operations_are_capped,
    filter_length_and_depth_are_capped,
    count_is_capped_and_start_index_floored,
    attribute_lists_are_capped,
    ids_that_are_not_uuids_are_404_without_a_store_call,
    absurd_tokens_and_headers_are_refused_before_the_store,
    list_responses_are_always_well_formed,
);
