//! Protocol details every client relies on: errors for bad input, versions and
//! preconditions, content negotiation, paths, projection, sorting and search.

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};

use crate::helpers::{BASE, TOKEN, TestApp, enc};

fn user(name: &str) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name})
}

fn with_token(b: axum::http::request::Builder) -> axum::http::request::Builder {
    b.header("authorization", format!("Bearer {TOKEN}"))
}

pub async fn d1_malformed_bodies_get_scim_errors(app: &TestApp) {
    let post = |ct: Option<&str>, body: Vec<u8>| {
        let mut b = with_token(Request::post(format!("{BASE}/Users")));
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        b.body(Body::from(body)).unwrap()
    };
    app.raw(post(Some("application/scim+json"), b"{not json".to_vec()))
        .await
        .expect_error(400, Some("invalidSyntax"));
    app.raw(post(Some("application/scim+json"), b"".to_vec()))
        .await
        .expect_error(400, Some("invalidSyntax"));
    app.raw(post(Some("application/scim+json"), b"[1,2]".to_vec()))
        .await
        .expect_error(400, Some("invalidSyntax"));
    app.raw(post(Some("text/plain"), user("x").to_string().into_bytes()))
        .await
        .expect_error(415, None);
    let big = format!(
        r#"{{"userName":"big","displayName":"{}"}}"#,
        "x".repeat(1024 * 1024 + 10)
    );
    app.raw(post(Some("application/scim+json"), big.into_bytes()))
        .await
        .expect_error(413, None);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    app.raw(post(Some("application/json"), deep.into_bytes()))
        .await
        .expect_error(400, Some("invalidSyntax"));
    app.post("/Users", &json!({"displayName": "no user name"}))
        .await
        .expect_error(400, Some("invalidValue"));
    app.post("/Users", &json!({"userName": "x", "active": "maybe"}))
        .await
        .expect_error(400, Some("invalidValue"));
    app.get(&format!("/Users?filter={}", enc("userName eq")))
        .await
        .expect_error(400, Some("invalidFilter"));
    app.get("/Users?count=ten")
        .await
        .expect_error(400, Some("invalidValue"));
    let r = app
        .patch(
            "/Users/00000000-0000-4000-8000-000000000000",
            &json!({"Operations": [{"op": "jump"}]}),
        )
        .await;
    r.expect_error(400, Some("invalidSyntax"));
}

pub async fn d4_application_json_and_no_content_type_are_served(app: &TestApp) {
    for ct in [
        Some("application/json"),
        Some("application/scim+json; charset=utf-8"),
        None,
    ] {
        let mut b = with_token(Request::post(format!("{BASE}/Users")));
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        let name = format!("ct-{}@x", ct.unwrap_or("none").len());
        let r = app
            .raw(b.body(Body::from(user(&name).to_string())).unwrap())
            .await
            .expect(201);
        assert_eq!(r.header("content-type"), Some("application/scim+json"));
    }
}

pub async fn d3_d5_unknown_attributes_ignored_and_names_case_insensitive(app: &TestApp) {
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "UserName": "d5@x", "shoeSize": 44, "Name": {"GivenName": "D"}, "Emails": [{"Value": "d5@x", "Type": "work", "Primary": "True"}]});
    let r = app.post("/Users", &body).await.expect(201).body;
    assert_eq!(r["userName"], "d5@x");
    assert_eq!(r["name"]["givenName"], "D");
    assert_eq!(r["emails"][0]["primary"], true);
    assert!(r.get("shoeSize").is_none());
}

pub async fn versions_etags_and_preconditions(app: &TestApp) {
    let id = app.user("etag@x").await;
    let path = format!("/Users/{id}");
    let r = app.get(&path).await.expect(200);
    assert_eq!(
        (r.header("etag"), r.body["meta"]["version"].as_str()),
        (Some("W/\"1\""), Some("W/\"1\""))
    );
    let conditional = |method: &str, header: &str, value: &str, body: Option<Value>| {
        let mut b = with_token(
            Request::builder()
                .method(method)
                .uri(format!("{BASE}{path}")),
        )
        .header(header, value);
        if body.is_some() {
            b = b.header("content-type", "application/scim+json");
        }
        b.body(body.map_or_else(Body::empty, |v| Body::from(v.to_string())))
            .unwrap()
    };
    let r = app
        .raw(conditional("GET", "if-none-match", "W/\"1\"", None))
        .await
        .expect(304);
    assert_eq!(r.header("etag"), Some("W/\"1\""));
    app.raw(conditional("GET", "if-none-match", "W/\"7\"", None))
        .await
        .expect(200);
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "T"}]});
    app.raw(conditional(
        "PATCH",
        "if-match",
        "W/\"9\"",
        Some(patch.clone()),
    ))
    .await
    .expect_error(412, None);
    let r = app
        .raw(conditional(
            "PATCH",
            "if-match",
            "W/\"1\"",
            Some(patch.clone()),
        ))
        .await
        .expect(200);
    assert_eq!(r.header("etag"), Some("W/\"2\""));
    app.raw(conditional(
        "PUT",
        "if-match",
        "W/\"1\"",
        Some(user("etag@x")),
    ))
    .await
    .expect_error(412, None);
    app.raw(conditional("DELETE", "if-match", "W/\"1\"", None))
        .await
        .expect_error(412, None);
    app.raw(conditional("DELETE", "if-match", "W/\"2\"", None))
        .await
        .expect(204);
}

pub async fn prefer_minimal_and_projection_on_writes(app: &TestApp) {
    let req = with_token(Request::post(format!("{BASE}/Users")))
        .header("content-type", "application/scim+json")
        .header("prefer", "return=minimal")
        .body(Body::from(user("minimal@x").to_string()))
        .unwrap();
    let r = app.raw(req).await.expect(204);
    assert!(r.header("etag").is_some());
    let r = app
        .post("/Users?attributes=userName", &user("proj@x"))
        .await
        .expect(201);
    assert_eq!(
        r.body.as_object().unwrap().len(),
        3,
        "schemas, id, userName: {}",
        r.body
    );
}

pub async fn paths_tolerate_stage_prefix_case_and_trailing_slash(app: &TestApp) {
    let id = app.user("paths@x").await;
    for uri in [
        format!("/prod{BASE}/Users/{id}"),
        format!("/SCIM/V2/users/{id}/"),
        format!("{BASE}//Users/{id}"),
    ] {
        let r = app
            .raw(with_token(Request::get(&uri)).body(Body::empty()).unwrap())
            .await
            .expect(200);
        assert_eq!(r.body["id"], id.as_str(), "{uri}");
    }
    let staged = app
        .raw(
            with_token(Request::get(format!("/prod{BASE}/Users/{id}")))
                .header("host", "h.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        staged.body["meta"]["location"],
        format!("https://h.example/prod{BASE}/Users/{id}")
    );
    app.raw(
        with_token(Request::get("/elsewhere"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .expect_error(404, None);
    app.raw(
        with_token(Request::get(format!("{BASE}/Nope")))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .expect_error(404, None);
    app.raw(
        with_token(Request::delete(format!("{BASE}/Users")))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .expect_error(405, None);
}

pub async fn sorting_filters_and_search(app: &TestApp) {
    for (name, title) in [("s-b@x", "Beta"), ("s-a@x", "alpha"), ("s-c@x", "Gamma")] {
        let mut u = user(name);
        u["title"] = json!(title);
        app.post("/Users", &u).await.expect(201);
    }
    let r = app
        .get(&format!(
            "/Users?filter={}&sortBy=title&sortOrder=descending",
            enc(r#"userName sw "s-""#)
        ))
        .await
        .expect(200)
        .body;
    let titles: Vec<&str> = r["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Gamma", "Beta", "alpha"]);
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "title co \"a\" and not (title eq \"Beta\")", "attributes": ["userName"], "sortBy": "userName"});
    let r = app.post("/Users/.search", &search).await.expect(200).body;
    let names: Vec<&str> = r["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["s-a@x", "s-c@x"]);
    app.group("Search Group").await;
    let all = app
        .post(
            "/.search",
            &json!({"filter": "meta.resourceType pr", "count": 2}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        (all["totalResults"].as_u64(), all["itemsPerPage"].as_u64()),
        (Some(4), Some(2))
    );
    let later = app
        .post("/.search", &json!({"startIndex": 4, "count": 10}))
        .await
        .expect(200)
        .body;
    assert_eq!(later["Resources"][0]["displayName"], "Search Group");
}

/// `Location` and `meta.location` come from the request's own `Host` (or the configured
/// public URL), never from a forwarding header a client can forge.
pub async fn forged_forwarding_headers_do_not_change_urls(app: &TestApp) {
    let request = with_token(Request::post(format!("{BASE}/Users")))
        .header("host", "scim.example.com")
        .header("x-forwarded-host", "attacker.example")
        .header("x-forwarded-proto", "http")
        .header("content-type", "application/scim+json")
        .body(Body::from(user("forged").to_string()))
        .unwrap();
    let created = app.raw(request).await.expect(201);
    let location = created.header("location").unwrap().to_string();
    assert!(
        location.starts_with("https://scim.example.com/scim/v2/Users/"),
        "{location}"
    );
    assert_eq!(created.body["meta"]["location"], location.as_str());
    assert!(!created.body.to_string().contains("attacker"));
    // A Host that is not a host at all does not become part of a URL either.
    let request = with_token(Request::get(format!("{BASE}/Users/{}", created.id())))
        .header("host", "evil.example/path?")
        .body(Body::empty())
        .unwrap();
    let read = app.raw(request).await.expect(200);
    let location = read.body["meta"]["location"].as_str().unwrap();
    assert!(
        location.starts_with("http://localhost/scim/v2/Users/"),
        "{location}"
    );
}

crate::on_every_store!(
    forged_forwarding_headers_do_not_change_urls,
    d1_malformed_bodies_get_scim_errors,
    d4_application_json_and_no_content_type_are_served,
    d3_d5_unknown_attributes_ignored_and_names_case_insensitive,
    versions_etags_and_preconditions,
    prefer_minimal_and_projection_on_writes,
    paths_tolerate_stage_prefix_case_and_trailing_slash,
    sorting_filters_and_search,
);

/// Memory store only: 10,001 members are quick to build in memory and slow on the emulator;
/// the cap is enforced by the service, the same code for both stores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_lists_past_the_cap_are_refused_with_too_many() {
    let app = TestApp::memory();
    let g = app.group("Huge").await;
    let cap = scim_lambda::service::MAX_MEMBERS_IN_RESPONSE;
    let mut batch = Vec::new();
    for i in 0..=cap {
        batch.push(json!({"value": app.user(&format!("huge{i}@x")).await}));
        if batch.len() == 1000 || i == cap {
            let body = json!({"Operations": [{"op": "add", "path": "members", "value": batch}]});
            app.patch(&format!("/Groups/{g}"), &body).await.expect(204);
            batch = Vec::new();
        }
    }
    app.get(&format!("/Groups/{g}"))
        .await
        .expect_error(400, Some("tooMany"));
    app.get("/Groups").await.expect_error(400, Some("tooMany"));
    let slim = app
        .get(&format!("/Groups/{g}?excludedAttributes=members"))
        .await
        .expect(200);
    assert!(slim.body.get("members").is_none());
    let found = app
        .get(&format!(
            "/Groups?filter={}&excludedAttributes=members",
            enc(r#"displayName eq "huge""#)
        ))
        .await
        .expect(200);
    assert_eq!(found.body["totalResults"], 1);
}
