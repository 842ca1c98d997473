//! Security properties of a whole run: nothing secret or personal reaches the logs, and a
//! rejected token costs no store call.
//!
//! A test binary of its own, because it installs the process-wide tracing subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Method, Request};
use scim_lambda::auth::StaticToken;
use scim_lambda::scim::urn;
use scim_lambda::service::Service;
use scim_lambda::store::Store;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::{AppState, Tokens, app};
use secrecy::SecretString;
use serde_json::{Value, json};

use support::request;

const TOKEN: &str = "s3cr3t-token-that-must-never-be-logged";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A request to the SCIM base path.
fn scim(method: Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Request<Body> {
    request(method, &format!("/scim/v2{path}"), token, body)
}

#[tokio::test]
async fn a_full_run_logs_no_token_no_body_and_no_personal_data() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .json()
        .init();

    let service = Arc::new(Service::new(MemoryStore::new()));
    let tokens = Tokens::Static(StaticToken::new(&SecretString::from(TOKEN)));
    let app = app(AppState::new_shared(
        Arc::clone(&service),
        tokens,
        "/scim/v2",
    ));
    let send = |r| support::send(&app, r);

    let user = json!({"schemas": [urn::USER], "userName": "carol.personal@contoso.com", "name": {"familyName": "Privatename"}, "password": "P@ss-hunter2"});
    let created = send(scim(Method::POST, "/Users", Some(TOKEN), Some(&user))).await;
    assert_eq!(created.status, 201);
    let filter = "/Users?filter=userName%20eq%20%22carol.personal%40contoso.com%22";
    assert_eq!(
        send(scim(Method::GET, filter, Some(TOKEN), None))
            .await
            .status,
        200
    );
    let wrong = format!("{TOKEN}-but-wrong");
    assert_eq!(
        send(scim(Method::GET, "/Users", Some(&wrong), None))
            .await
            .status,
        401
    );
    let bad_json = Request::post("/scim/v2/Users")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from("{\"userName\": \"leaky@contoso.com\""))
        .unwrap();
    assert_eq!(send(bad_json).await.status, 400);

    // A rejected token costs no store call.
    let before = service.store().calls().snapshot();
    for token in [None, Some("nope"), Some(&*"x".repeat(10_000))] {
        assert_eq!(
            send(scim(Method::GET, "/Users", token, None)).await.status,
            401
        );
    }
    assert_eq!(service.store().calls().snapshot().since(&before).total(), 0);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("\"status\":201"),
        "the request log is captured: {logs}"
    );
    for secret in [
        TOKEN,
        "Bearer",
        "carol.personal",
        "Privatename",
        "hunter2",
        "leaky@contoso.com",
    ] {
        assert!(
            !logs.contains(secret),
            "{secret:?} appears in the logs:\n{logs}"
        );
    }
}
