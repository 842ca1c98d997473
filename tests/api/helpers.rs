//! A test application over a chosen store, driven in process with `oneshot`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use scim_lambda::auth::StaticToken;
use scim_lambda::scim::cursor::CursorKey;
use scim_lambda::service::Service;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::store::{CallCounts, Store, TenantId};
use scim_lambda::{App, AppState, Tokens, app};
use secrecy::SecretString;
use serde_json::Value;
use tower::ServiceExt;

/// The bearer token every test app accepts.
pub const TOKEN: &str = "test-token-0123456789";
/// The base path the app serves.
pub const BASE: &str = "/scim/v2";

/// A response, its body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }

    /// Asserts a SCIM error with this status and `scimType`.
    #[track_caller]
    pub fn expect_error(self, status: u16, scim_type: Option<&str>) -> Self {
        let r = self.expect(status);
        assert_eq!(
            r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{}",
            r.body
        );
        assert_eq!(
            r.body["status"],
            status.to_string(),
            "status is a string: {}",
            r.body
        );
        assert_eq!(r.body["scimType"].as_str(), scim_type, "{}", r.body);
        assert!(
            r.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{}",
            r.body
        );
        assert_eq!(r.header("content-type"), Some("application/scim+json"));
        r
    }

    /// The `id` of a returned resource.
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .expect("response has an id")
            .to_string()
    }
}

/// An application over one store.
#[derive(Clone)]
pub struct TestApp {
    app: App,
    calls: Arc<dyn Fn() -> CallCounts + Send + Sync>,
}

impl TestApp {
    /// Over a new memory store.
    pub fn memory() -> Self {
        Self::over(MemoryStore::new(), TenantId::default())
    }

    /// Over a DynamoDB store on a fresh table of the emulator, or `None` when no emulator is
    /// configured (`scripts/with-emulator.sh` sets `SCIM_TEST_DYNAMODB`).
    pub async fn dynamo() -> Option<Self> {
        if std::env::var_os("SCIM_TEST_DYNAMODB").is_none() {
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: the DynamoDB router tests need scripts/with-emulator.sh"
                );
            });
            return None;
        }
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let table = format!("scim-api-{}", uuid::Uuid::new_v4());
        let store = scim_lambda::store::dynamo::DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&config),
            table,
        );
        store.create_table_if_missing().await.expect("create table");
        Some(Self::over(store, TenantId::default()))
    }

    /// Over any store.
    pub fn over<S: Store>(store: S, tenant: TenantId) -> Self {
        Self::serving(Service::new(store), tenant)
    }

    /// Over any store, signing cursors with `key` (as every instance of a deployment does).
    pub fn over_with_key<S: Store>(store: S, tenant: TenantId, key: CursorKey) -> Self {
        Self::serving(Service::new(store).with_cursor_key(key), tenant)
    }

    fn serving<S: Store>(service: Service<S>, tenant: TenantId) -> Self {
        let service = Arc::new(service);
        let tokens =
            Tokens::Static(StaticToken::new(&SecretString::from(TOKEN)).for_tenant(tenant));
        let state = AppState::new_shared(service, tokens, BASE);
        let calls_of = Arc::clone(&state.service);
        TestApp {
            app: app(state),
            calls: Arc::new(move || calls_of.store().calls().snapshot()),
        }
    }

    /// Backend calls made so far.
    pub fn calls(&self) -> CallCounts {
        (self.calls)()
    }

    /// Sends a request with the test token; `path` is relative to the base path.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> TestResponse {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{BASE}{path}"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("host", "scim.example.com");
        if body.is_some() {
            builder = builder.header("content-type", "application/scim+json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.raw(builder.body(body).expect("request")).await
    }

    /// Sends a request exactly as built.
    pub async fn raw(&self, request: Request<Body>) -> TestResponse {
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: &Value) -> TestResponse {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> TestResponse {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: &Value) -> TestResponse {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> TestResponse {
        self.send(Method::DELETE, path, None).await
    }

    /// Creates a user with this userName and returns its id.
    pub async fn user(&self, user_name: &str) -> String {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "active": true,
        });
        self.post("/Users", &body).await.expect(201).id()
    }

    /// Creates an empty group with this displayName and returns its id.
    pub async fn group(&self, name: &str) -> String {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
        });
        self.post("/Groups", &body).await.expect(201).id()
    }

    /// The member ids of a group, sorted.
    pub async fn member_ids(&self, group_id: &str) -> Vec<String> {
        let r = self.get(&format!("/Groups/{group_id}")).await.expect(200);
        let mut ids: Vec<String> = r.body["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|i| i["value"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }
}

/// URL-encodes a filter for a query string.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Loads a recorded request body from `tests/fixtures`.
pub fn fixture(path: &str) -> Value {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Runs each named test body against every store the environment provides: always the memory
/// store, and the DynamoDB store when the emulator is configured.
#[macro_export]
macro_rules! on_every_store {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(&$crate::helpers::TestApp::memory()).await;
                }
            )*
        }
        mod dynamo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::dynamo().await {
                        super::$name(&app).await;
                    }
                }
            )*
        }
    };
}
