//! A test application over a chosen store, driven in process with `oneshot`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use scim_lambda::auth::StaticToken;
use scim_lambda::scim::cursor::CursorKey;
use scim_lambda::scim::urn;
use scim_lambda::service::Service;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::store::{CallCounts, Store, TenantId};
use scim_lambda::{App, AppState, Tokens, app};
use secrecy::SecretString;
use serde_json::Value;

pub use crate::support::enc;
use crate::support::{self, Reply};

/// The bearer token every test app accepts.
pub const TOKEN: &str = "test-token-0123456789";
/// The base path the app serves.
pub const BASE: &str = "/scim/v2";

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
        if !support::emulator::enabled("DynamoDB router") {
            return None;
        }
        let store = support::emulator::dynamo_store("scim-api").await;
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
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let builder = support::http::builder(method, &format!("{BASE}{path}"), Some(TOKEN))
            .header("host", "scim.example.com");
        self.raw(support::http::with_body(builder, body)).await
    }

    /// Sends a request exactly as built.
    pub async fn raw(&self, request: Request<Body>) -> Reply {
        support::send(&self.app, request).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    /// Creates a user with this userName and returns its id.
    pub async fn user(&self, user_name: &str) -> String {
        let body = serde_json::json!({
            "schemas": [urn::USER],
            "userName": user_name,
            "active": true,
        });
        self.post("/Users", &body).await.expect(201).id()
    }

    /// Creates an empty group with this displayName and returns its id.
    pub async fn group(&self, name: &str) -> String {
        let body = serde_json::json!({
            "schemas": [urn::GROUP],
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
