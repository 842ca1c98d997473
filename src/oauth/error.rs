//! Token-endpoint errors (RFC 6749 §5.2): the code, the HTTP status, and a description that
//! helps the admin configuring Entra without revealing which part of a credential was wrong to
//! someone guessing.

/// Why a token request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// The request is malformed: a missing or repeated parameter, two authentication methods,
    /// a body that is not a form.
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// Client authentication failed: unknown client, wrong, expired or revoked secret, or an
    /// assertion that does not verify (including a replayed one).
    #[error("{0}")]
    InvalidClient(&'static str),
    /// The credential is valid but what it would grant is not: the tenant is disabled.
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// A grant type other than `client_credentials`.
    #[error("only grant_type=client_credentials is supported")]
    UnsupportedGrantType,
    /// The store, a key or a federated issuer could not be reached: 503, `temporarily_unavailable`
    /// (the code RFC 6749 §4.1.2.1 defines for this), so the client retries.
    #[error("the authorization server is temporarily unavailable; retry")]
    TemporarilyUnavailable,
    /// A bug (500, `server_error`).
    #[error("internal error; it has been logged")]
    ServerError,
}

impl OAuthError {
    /// The `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient(_) => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthError::ServerError => "server_error",
        }
    }

    /// The HTTP status: 401 for a failed client authentication, 400 for the rest of §5.2.
    pub fn status(&self) -> u16 {
        match self {
            OAuthError::InvalidClient(_) => 401,
            OAuthError::InvalidRequest(_)
            | OAuthError::InvalidGrant(_)
            | OAuthError::UnsupportedGrantType => 400,
            OAuthError::TemporarilyUnavailable => 503,
            OAuthError::ServerError => 500,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_follow_rfc_6749() {
        let rows = [
            (OAuthError::InvalidRequest("x"), "invalid_request", 400),
            (OAuthError::InvalidClient("x"), "invalid_client", 401),
            (OAuthError::InvalidGrant("x"), "invalid_grant", 400),
            (
                OAuthError::UnsupportedGrantType,
                "unsupported_grant_type",
                400,
            ),
            (
                OAuthError::TemporarilyUnavailable,
                "temporarily_unavailable",
                503,
            ),
            (OAuthError::ServerError, "server_error", 500),
        ];
        for (e, code, status) in rows {
            assert_eq!((e.code(), e.status()), (code, status), "{e:?}");
        }
    }
}
