//! A deployment of two instances over one store, on a manual clock, driven in process.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::Method;
use scim_lambda::auth::{StaticToken, TokenDigest};
use scim_lambda::clock::ManualClock;
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

use crate::support::{emulator, http};

/// The admin API's bearer token in these tests.
pub const ADMIN: &str = "admin-token-for-tests";
/// The single-tenant (`default`) token.
pub const DEFAULT_TOKEN: &str = "default-token-for-tests";

type Fut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pub use crate::support::{Reply, enc, send};

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
        if !emulator::enabled("DynamoDB tenant") {
            return None;
        }
        let config = emulator::sdk_config().await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        let table = format!("scim-tenants-{}", uuid::Uuid::new_v4());
        let store = scim_lambda::store::dynamo::DynamoStore::new(client.clone(), table.clone())
            .with_operation_timeout(emulator::OPERATION_TIMEOUT);
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
        let clock = Arc::new(ManualClock::starting_now());
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
        let b = http::builder(method, &format!("/admin/v1{path}"), Some(ADMIN))
            .header("host", "scim.example.com");
        send(&self.one, http::with_json(b, body.as_ref())).await
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
        let b = http::builder(method, path, Some(token)).header("host", "scim.example.com");
        send(app, http::with_body(b, body.as_ref())).await
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
