//! A deployment of two instances over one store, on a manual clock, driven in process.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use scim_lambda::auth::cache::ManualClock;
use scim_lambda::auth::{StaticToken, TokenDigest};
use scim_lambda::http::admin::AdminAuth;
use scim_lambda::scim::schema::ResourceKind;
use scim_lambda::service::Service;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::store::{CallCounts, Lookup, PageRequest, Query, Store, TenantId};
use scim_lambda::tenancy::Tenancy;
use scim_lambda::tenancy::purge::{Progress, purge_tenant};
use scim_lambda::{App, AppState, Tokens, app};
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The admin API's bearer token in these tests.
pub const ADMIN: &str = "admin-token-for-tests";
/// The single-tenant (`default`) token.
pub const DEFAULT_TOKEN: &str = "default-token-for-tests";

type Fut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A response with its body parsed.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        self
    }

    /// An admin error with this status and code.
    #[track_caller]
    pub fn admin_error(self, status: u16, code: &str) -> Self {
        let r = self.expect(status);
        assert_eq!(r.body["error"], code, "{}", r.body);
        assert!(r.body["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(
            r.body.get("schemas").is_none(),
            "never a SCIM error: {}",
            r.body
        );
        assert_eq!(
            r.headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        r
    }

    /// A SCIM error with this status.
    #[track_caller]
    pub fn scim_error(self, status: u16) -> Self {
        let r = self.expect(status);
        assert_eq!(
            r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{}",
            r.body
        );
        r
    }

    pub fn str(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_default().to_string()
    }
}

/// Two instances of one deployment (each with its own token cache and request caps) over one
/// store, and hooks into that store.
#[derive(Clone)]
pub struct Deployment {
    pub one: App,
    pub two: App,
    pub clock: Arc<ManualClock>,
    calls: Arc<dyn Fn() -> CallCounts + Send + Sync>,
    purge: Arc<dyn Fn(TenantId, usize) -> Fut<Progress> + Send + Sync>,
    leftovers: Arc<dyn Fn(TenantId) -> Fut<usize> + Send + Sync>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap()
}

impl Deployment {
    pub fn memory() -> Self {
        let store = Arc::new(Service::new(MemoryStore::new()));
        let leftovers_of = Arc::clone(&store);
        Self::over(
            store,
            Arc::new(move |t: TenantId| {
                let s = Arc::clone(&leftovers_of);
                Box::pin(async move { leftovers_via_trait(s.store(), &t).await }) as Fut<usize>
            }),
        )
    }

    pub async fn dynamo() -> Option<Self> {
        if std::env::var_os("SCIM_TEST_DYNAMODB").is_none() {
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "skipped: the DynamoDB tenant tests need scripts/with-emulator.sh"
                );
            });
            return None;
        }
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        let table = format!("scim-tenants-{}", uuid::Uuid::new_v4());
        let store = scim_lambda::store::dynamo::DynamoStore::new(client.clone(), table.clone());
        store.create_table_if_missing().await.unwrap();
        Some(Self::over(
            Arc::new(Service::new(store)),
            Arc::new(move |t: TenantId| {
                let (client, table) = (client.clone(), table.clone());
                Box::pin(async move { items_mentioning(&client, &table, t.as_str()).await })
                    as Fut<usize>
            }),
        ))
    }

    fn over<S: Store>(
        service: Arc<Service<S>>,
        leftovers: Arc<dyn Fn(TenantId) -> Fut<usize> + Send + Sync>,
    ) -> Self {
        let clock = Arc::new(ManualClock::at(now_ms()));
        let instance = || {
            let tokens = Tokens::Static(StaticToken::new(&SecretString::from(DEFAULT_TOKEN)));
            let tenancy = Tenancy::new(clock.clone(), 50).with_background_purge(false);
            app(
                AppState::new_shared(Arc::clone(&service), tokens, "/scim/v2")
                    .with_tenancy(tenancy)
                    .with_admin(AdminAuth::Token(TokenDigest::of(ADMIN).unwrap())),
            )
        };
        let (one, two) = (instance(), instance());
        let calls_of = Arc::clone(&service);
        let purge_of = Arc::clone(&service);
        Deployment {
            one,
            two,
            clock,
            calls: Arc::new(move || calls_of.store().calls().snapshot()),
            purge: Arc::new(move |t, budget| {
                let s = Arc::clone(&purge_of);
                Box::pin(async move { purge_tenant(s.store(), &t, budget).await.unwrap() })
            }),
            leftovers,
        }
    }

    pub fn calls(&self) -> CallCounts {
        (self.calls)()
    }

    pub async fn purge(&self, tenant: &str, budget: usize) -> Progress {
        (self.purge)(TenantId::parse(tenant).unwrap(), budget).await
    }

    /// Items (or records) of the tenant still stored.
    pub async fn leftovers(&self, tenant: &str) -> usize {
        (self.leftovers)(TenantId::parse(tenant).unwrap()).await
    }

    /// An admin request on instance one.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("/admin/v1{path}"))
            .header("host", "scim.example.com")
            .header("authorization", format!("Bearer {ADMIN}"));
        if body.is_some() {
            b = b.header("content-type", "application/json");
        }
        let body = body.map_or_else(Body::empty, |v| Body::from(v.to_string()));
        send(&self.one, b.body(body).unwrap()).await
    }

    /// A SCIM request with `token` to `path` (from the root: `/scim/v2/...` or
    /// `/tenants/<id>/scim/v2/...`), on instance `app`.
    pub async fn scim(
        &self,
        app: &App,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut b = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "scim.example.com")
            .header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            b = b.header("content-type", "application/scim+json");
        }
        let body = body.map_or_else(Body::empty, |v| Body::from(v.to_string()));
        send(app, b.body(body).unwrap()).await
    }

    /// Creates a tenant and a token for it: (tenant id, token).
    pub async fn tenant_with_token(&self, name: &str) -> (String, String) {
        let t = self
            .admin(Method::POST, "/tenants", Some(json!({"name": name})))
            .await
            .expect(201);
        let id = t.str("id");
        let k = self
            .admin(
                Method::POST,
                &format!("/tenants/{id}/tokens"),
                Some(json!({"description": "entra"})),
            )
            .await
            .expect(201);
        (id, k.str("token"))
    }
}

pub async fn send(app: &App, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// What the store still holds for a tenant, through the traits (memory store).
async fn leftovers_via_trait<S: Store>(store: &S, tenant: &TenantId) -> usize {
    let mut n = 0;
    for kind in [ResourceKind::User, ResourceKind::Group] {
        let q = Query {
            lookup: Lookup::All,
            filter: None,
            sort: None,
            page: PageRequest::Cursor {
                after: None,
                count: 1000,
            },
        };
        n += store.query(tenant, kind, &q).await.unwrap().records.len();
    }
    n += store.tokens(tenant).await.unwrap().len();
    n += usize::from(store.tenant(tenant).await.unwrap().is_some());
    n
}

/// Items of the table whose any string attribute mentions `needle` (a full scan: tests only).
async fn items_mentioning(client: &aws_sdk_dynamodb::Client, table: &str, needle: &str) -> usize {
    let mut n = 0;
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        for item in out.items.unwrap_or_default() {
            let mentions = item.values().any(|v| match v {
                aws_sdk_dynamodb::types::AttributeValue::S(s) => s.contains(needle),
                _ => false,
            });
            n += usize::from(mentions);
        }
        match out.last_evaluated_key {
            Some(k) => start = Some(k),
            None => return n,
        }
    }
}

/// Runs each test against a deployment over each store (DynamoDB when the emulator is there).
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(&$crate::helpers::Deployment::memory()).await;
                }
            )*
        }
        mod dynamo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(d) = $crate::helpers::Deployment::dynamo().await {
                        super::$name(&d).await;
                    }
                }
            )*
        }
    };
}

/// A SCIM user body.
pub fn user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "externalId": format!("ext-{name}"),
        "emails": [{"type": "work", "value": format!("{name}@example.com"), "primary": true}],
        "active": true,
    })
}

/// A SCIM group body with members.
pub fn group(name: &str, members: &[String]) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>(),
    })
}

/// URL-encodes a query value.
pub fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
