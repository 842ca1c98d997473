//! The change feed's use cases behind the admin API: pulling a tenant's events and managing
//! webhook endpoints.

use crate::clock::{Clock, SystemClock};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Result, Service};
use crate::feed::{TYPES, UrlPolicy, WebhookSecret, check_url};
use crate::scim::error::Error as ScimError;
use crate::store::feed::{FeedPage, MAX_PAGE};
use crate::store::webhooks::Endpoint;
use crate::store::{Store, TenantId};

/// What the vendor asks to register.
#[derive(Debug, Clone, Default)]
pub struct NewEndpoint {
    /// Where to deliver.
    pub url: String,
    /// Only these tenants' events (`None`: all).
    pub tenants: Option<Vec<TenantId>>,
    /// Only these types (`None`: all).
    pub types: Option<Vec<String>>,
}

impl<S: Store> Service<S> {
    /// One page of `tenant`'s feed after position `after` (at most `limit`, capped).
    ///
    /// # Errors
    /// Store failures.
    pub async fn events(&self, tenant: &TenantId, after: u64, limit: usize) -> Result<FeedPage> {
        let now = SystemClock.now_ms() / 1000;
        Ok(self
            .store
            .events(tenant, after, limit.clamp(1, MAX_PAGE), now)
            .await?)
    }

    /// Registers an endpoint under `policy` and returns it with its new signing secret, the
    /// only time the secret is shown.
    ///
    /// # Errors
    /// `Scim(invalidValue)` for a URL the policy refuses or an unknown event type; store
    /// failures.
    pub async fn register_webhook(
        &self,
        new: NewEndpoint,
        policy: UrlPolicy,
    ) -> Result<(Endpoint, WebhookSecret)> {
        check_url(&new.url, policy).map_err(|e| ScimError::invalid_value(e.to_string()))?;
        if let Some(unknown) = new
            .types
            .iter()
            .flatten()
            .find(|t| !TYPES.contains(&t.as_str()))
        {
            return Err(ScimError::invalid_value(format!(
                "unknown event type {unknown:?}; the types are {}",
                TYPES.join(", ")
            ))
            .into());
        }
        let secret = WebhookSecret::generate().map_err(|e| super::Error::Internal(Box::new(e)))?;
        let endpoint = Endpoint {
            id: webhook_id().map_err(|e| super::Error::Internal(Box::new(e)))?,
            url: new.url,
            secret: secret.expose(),
            tenants: new.tenants,
            types: new.types,
            created_at: OffsetDateTime::now_utc()
                .format(&Rfc3339)
                .unwrap_or_default(),
        };
        self.store.put_endpoint(&endpoint).await?;
        Ok((endpoint, secret))
    }

    /// Every registered endpoint.
    ///
    /// # Errors
    /// Store failures.
    pub async fn webhooks(&self) -> Result<Vec<Endpoint>> {
        Ok(self.store.endpoints().await?)
    }

    /// Removes an endpoint; `false` when there was none.
    ///
    /// # Errors
    /// Store failures.
    pub async fn delete_webhook(&self, id: &str) -> Result<bool> {
        Ok(self.store.delete_endpoint(id).await?)
    }
}

/// `wh_` + 20 lower-case base32 characters (100 random bits).
fn webhook_id() -> std::result::Result<String, getrandom::Error> {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes)?;
    Ok(format!(
        "wh_{}",
        bytes
            .iter()
            .map(|b| char::from(ALPHABET[usize::from(b % 32)]))
            .collect::<String>()
    ))
}
