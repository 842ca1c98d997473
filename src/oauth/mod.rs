//! OAuth 2.0 for the Entra gallery, the pure parts: client-secret and id formats
//! ([`secret`]), RFC 6749 errors ([`error`]), access-token claims and lifetimes ([`access`]),
//! signing keys, rotation and JWKS ([`keys`]), federated-assertion rules ([`assertion`]), the
//! authorization-server metadata ([`metadata`]) and an injectable wall clock ([`clock`]).
//!
//! No I/O here: fetching federated issuers' keys and loading signing keys live in
//! `crate::auth`, the token and admin use cases in `crate::oauth_server`, HTTP in `crate::http`.

pub mod access;
pub mod assertion;
pub mod clock;
pub(crate) mod error;
pub mod keys;
pub(crate) mod secret;

pub use error::OAuthError;

/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/oauth2/token";
/// The JWKS document's path.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";
/// The metadata document's path (RFC 8414).
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// The RFC 8414 metadata of the authorization server at `issuer` (an origin, no trailing
/// slash).
pub fn metadata(issuer: &str) -> serde_json::Value {
    serde_json::json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"],
        "response_types_supported": ["token"],
    })
}
