//! An application with OAuth over a chosen OAuth store, a manual clock, and a federated issuer
//! served on 127.0.0.1.

use std::sync::Arc;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::body::Body;
use axum::http::{Method, Request};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use scim_lambda::auth::liveness::MemoryTenantStatus;
use scim_lambda::auth::signing::SigningKeys;
use scim_lambda::auth::{StaticToken, TokenDigest};
use scim_lambda::clock::ManualClock;
use scim_lambda::http::admin::AdminAuth;
use scim_lambda::http::app_with;
use scim_lambda::oauth::access::Lifetime;
use scim_lambda::oauth::keys::KeyRing;
use scim_lambda::oauth_server::settings::{Wiring, wire};
use scim_lambda::service::Service;
use scim_lambda::store::memory::MemoryStore;
use scim_lambda::store::oauth::OAuthStore;
use scim_lambda::{App, AppState, Tokens};
use secrecy::SecretString;
use serde_json::{Value, json};

/// The static SCIM token of the `default` tenant.
pub const SCIM_TOKEN: &str = "static-scim-token-0123456789";
/// The admin token.
pub const ADMIN_TOKEN: &str = "admin-token-0123456789";
/// Host the test requests name; the issuer is `http://localhost`.
pub const HOST: &str = "localhost";

pub use crate::support::Reply;

/// One instance of the application over a shared OAuth store.
#[derive(Clone)]
pub struct Instance {
    app: App,
}

/// What the instances of one deployment share.
pub struct Deployment<O> {
    pub store: Arc<O>,
    pub clock: ManualClock,
    pub tenants: Arc<MemoryTenantStatus>,
}

impl<O: OAuthStore> Deployment<O> {
    pub fn new(store: O) -> Self {
        Deployment {
            store: Arc::new(store),
            clock: ManualClock::starting_now(),
            tenants: Arc::new(MemoryTenantStatus::default()),
        }
    }

    /// An instance with its own caches, signing with `ring`.
    pub fn instance(&self, ring: KeyRing) -> Instance {
        let wired = wire(Wiring {
            store: Arc::clone(&self.store),
            keys: Arc::new(SigningKeys::fixed(ring)),
            clock: Arc::new(self.clock.clone()),
            tenants: Arc::clone(&self.tenants) as _,
            lifetime: Lifetime::default(),
            issuer: None,
            base_path: "/scim/v2".into(),
            allow_loopback_http: true,
        });
        let tokens = Tokens::Static(StaticToken::new(&SecretString::from(SCIM_TOKEN)));
        let admin = TokenDigest::of(ADMIN_TOKEN).unwrap();
        let state = AppState::new(Service::new(MemoryStore::new()), tokens, "/scim/v2")
            .with_access_tokens(wired.access)
            .with_admin(AdminAuth::Token(admin));
        let public =
            scim_lambda::http::oauth::oauth_router::<MemoryStore, O>(Arc::clone(&wired.server));
        let admin =
            scim_lambda::http::oauth_admin::oauth_admin_router::<O>().with_state(wired.server);
        Instance {
            app: app_with(state, public, admin),
        }
    }
}

impl Instance {
    pub async fn send(&self, request: Request<Body>) -> Reply {
        crate::support::send(&self.app, request).await
    }

    /// A token request with this form body and optional Basic credentials.
    pub async fn token(&self, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> Reply {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = Request::builder()
            .method(Method::POST)
            .uri("/oauth2/token")
            .header("host", HOST)
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            let encoded = STANDARD.encode(format!("{id}:{secret}"));
            request = request.header("authorization", format!("Basic {encoded}"));
        }
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// An access token for a client secret (asserting success).
    pub async fn access_token(&self, client_id: &str, secret: &str) -> String {
        let r = self
            .token(
                &[("grant_type", "client_credentials")],
                Some((client_id, secret)),
            )
            .await
            .expect(200);
        r.body["access_token"].as_str().unwrap().to_string()
    }

    /// A SCIM request with a bearer.
    pub async fn scim(
        &self,
        method: Method,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(format!("/scim/v2{path}"))
            .header("host", HOST)
            .header("authorization", format!("Bearer {bearer}"))
            .header("content-type", "application/scim+json");
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.send(request.body(body).unwrap()).await
    }

    /// An admin request.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.admin_as(method, path, body, ADMIN_TOKEN).await
    }

    pub async fn admin_as(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        bearer: &str,
    ) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(format!("/admin/v1{path}"))
            .header("host", HOST)
            .header("authorization", format!("Bearer {bearer}"))
            .header("content-type", "application/json");
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.send(request.body(body).unwrap()).await
    }

    /// Creates a client of `tenant`; returns (clientId, clientSecret).
    pub async fn client(&self, tenant: &str, body: Value) -> (String, String) {
        let r = self
            .admin(
                Method::POST,
                &format!("/tenants/{tenant}/clients"),
                Some(body),
            )
            .await
            .expect(201);
        (
            r.body["clientId"].as_str().unwrap().to_string(),
            r.body["clientSecret"].as_str().unwrap().to_string(),
        )
    }
}

/// A federated issuer: an ES256 key pair whose JWKS and OpenID configuration are served on
/// 127.0.0.1.
pub struct Issuer {
    pub url: String,
    pub kid: String,
    key: EncodingKey,
}

impl Issuer {
    pub async fn start() -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let pkcs8 = pair.to_pkcs8v1().unwrap();
        let point = pair.public_key().as_ref().to_vec();
        let kid = format!("kid-{}", uuid::Uuid::new_v4());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let jwks = json!({"keys": [{
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        }]});
        let config = json!({"issuer": url, "jwks_uri": format!("{url}/keys")});
        let router = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || {
                    let c = config.to_string();
                    async move { c }
                }),
            )
            .route(
                "/keys",
                axum::routing::get(move || {
                    let j = jwks.to_string();
                    async move { j }
                }),
            );
        tokio::spawn(async move { axum::serve(listener, router).await });
        Issuer {
            url,
            kid,
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
        }
    }

    /// A signed assertion with `claims`, under `kid`.
    pub fn sign(&self, claims: &Value, kid: &str) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_string());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}
