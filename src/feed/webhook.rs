//! Webhook deliveries per the Standard Webhooks specification (v1): the signing secret, the
//! signature headers, which endpoint URLs may be called, and the retry schedule.
//!
//! The signing secret must be recoverable to sign, so it is kept encrypted at rest (the
//! table's KMS encryption), never hashed; only the endpoint's owner sees it, once, at
//! registration (see `docs/events.md`).

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;

/// The prefix Standard Webhooks gives signing secrets.
const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret (the specification allows 24 to 64).
const SECRET_BYTES: usize = 32;

/// A webhook signing secret: `whsec_` + base64 of its key bytes.
pub struct WebhookSecret(SecretBox<Vec<u8>>);

/// Why a secret or an endpoint URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Not `whsec_` + base64 of 24 to 64 bytes.
    #[error("a signing secret is whsec_ followed by base64 of 24 to 64 bytes")]
    BadSecret,
    /// The URL is not an absolute http(s) URL with a host.
    #[error("the endpoint must be an absolute https URL")]
    NotAUrl,
    /// Plain http outside a local run.
    #[error("the endpoint must use https")]
    NotHttps,
    /// The host is, or resolves to, an address the service must never call (loopback,
    /// private, link-local such as the instance metadata service, ...).
    #[error("the endpoint must not point at a private, loopback or link-local address")]
    ForbiddenAddress,
}

impl WebhookSecret {
    /// A new random secret.
    ///
    /// # Errors
    /// When the OS random source fails.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(WebhookSecret(SecretBox::new(Box::new(bytes))))
    }

    /// Parses `whsec_<base64>`.
    ///
    /// # Errors
    /// [`WebhookError::BadSecret`].
    pub fn parse(text: &str) -> Result<Self, WebhookError> {
        let encoded = text
            .strip_prefix(SECRET_PREFIX)
            .ok_or(WebhookError::BadSecret)?;
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| WebhookError::BadSecret)?;
        if !(24..=64).contains(&bytes.len()) {
            return Err(WebhookError::BadSecret);
        }
        Ok(WebhookSecret(SecretBox::new(Box::new(bytes))))
    }

    /// The secret's text, for showing once and for storing.
    pub fn expose(&self) -> SecretString {
        SecretString::from(format!(
            "{SECRET_PREFIX}{}",
            STANDARD.encode(self.0.expose_secret())
        ))
    }

    /// The `webhook-signature` value for a message: `v1,` + base64 of HMAC-SHA256 over
    /// `<id>.<timestamp>.<body>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    /// Whether one of the space-separated `v1,` signatures in `header` is this secret's for
    /// the message (constant-time per candidate), as a receiver checks it.
    pub fn verify(&self, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
        header.split(' ').any(|candidate| {
            let Some(encoded) = candidate.strip_prefix("v1,") else {
                return false;
            };
            let Ok(tag) = STANDARD.decode(encoded) else {
                return false;
            };
            self.hmac(id, timestamp, body).verify_slice(&tag).is_ok()
        })
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        self.hmac(id, timestamp, body)
            .finalize()
            .into_bytes()
            .to_vec()
    }

    fn hmac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        // HMAC accepts keys of any length (RFC 2104 §2); the key here is 24 to 64 bytes.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose_secret())
            .unwrap_or_else(|_| <Hmac<Sha256> as hmac::digest::KeyInit>::new(&Default::default()));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

/// Where endpoints may point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlPolicy {
    /// In Lambda: `https` only, and never a private, loopback or link-local address.
    Deployed,
    /// A local run: `http://127.0.0.1` and other loopback URLs are allowed, for receivers in
    /// tests and on a laptop.
    Local,
}

/// Checks an endpoint URL's form: scheme and, for a literal IP host, the address. A host
/// name is checked again, address by address, when it is resolved for each delivery
/// ([`check_address`]), since DNS can change after registration.
///
/// # Errors
/// The [`WebhookError`] that applies.
pub fn check_url(url: &str, policy: UrlPolicy) -> Result<(), WebhookError> {
    let uri: http::Uri = url.parse().map_err(|_| WebhookError::NotAUrl)?;
    let host = uri.host().ok_or(WebhookError::NotAUrl)?;
    let literal: Option<IpAddr> = host.trim_matches(|c| c == '[' || c == ']').parse().ok();
    let loopback = literal.is_some_and(|ip| ip.is_loopback()) || host == "localhost";
    match (uri.scheme_str(), policy) {
        (Some("https"), _) => {}
        (Some("http"), UrlPolicy::Local) if loopback => {}
        (Some("http"), _) => return Err(WebhookError::NotHttps),
        _ => return Err(WebhookError::NotAUrl),
    }
    match (literal, policy) {
        (Some(ip), _) => check_address(ip, policy),
        (None, UrlPolicy::Deployed) if host == "localhost" => Err(WebhookError::ForbiddenAddress),
        (None, _) => Ok(()),
    }
}

/// Checks one resolved address of an endpoint before connecting to it.
///
/// # Errors
/// [`WebhookError::ForbiddenAddress`] for loopback (unless local), private, link-local
/// (169.254.0.0/16 holds the instance metadata service), shared, unspecified, multicast,
/// documentation and unique-local addresses.
pub fn check_address(ip: IpAddr, policy: UrlPolicy) -> Result<(), WebhookError> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    if ip.is_loopback() {
        return match policy {
            UrlPolicy::Local => Ok(()),
            UrlPolicy::Deployed => Err(WebhookError::ForbiddenAddress),
        };
    }
    let forbidden = match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
                || a == 0
                || a >= 240
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local (RFC 4193)
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
        }
    };
    if forbidden {
        Err(WebhookError::ForbiddenAddress)
    } else {
        Ok(())
    }
}

/// Delays between delivery attempts of one event to one endpoint: the first retry within a
/// minute, then backing off to every six hours, for at least three days in all.
const SCHEDULE_SECS: &[u64] = &[
    30, 120, 600, 1800, 3600, 7200, 14_400, 21_600, 21_600, 21_600, 21_600, 21_600, 21_600, 21_600,
    21_600, 21_600, 21_600, 21_600, 21_600,
];

/// The delay before attempt `attempt + 1` after `attempt` failed (attempt 1 is the first
/// delivery), or `None` when the schedule is spent and the delivery is dead-lettered.
pub fn retry_delay(attempt: u32) -> Option<Duration> {
    let index = usize::try_from(attempt).ok()?.checked_sub(1)?;
    SCHEDULE_SECS.get(index).copied().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_specification_example() {
        // The example message of the Standard Webhooks specification.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let signature = secret.sign(id, 1_614_265_330, body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(secret.verify(id, 1_614_265_330, body, &signature));
        assert!(secret.verify(id, 1_614_265_330, body, &format!("v1,bm9wZQ== {signature}")));
        assert!(!secret.verify(id, 1_614_265_331, body, &signature));
        assert!(!secret.verify(id, 1_614_265_330, b"{}", &signature));
        assert!(!secret.verify(id, 1_614_265_330, body, "v2,abc"));
    }

    #[test]
    fn secrets_round_trip_and_stay_out_of_debug() {
        let secret = WebhookSecret::generate().unwrap();
        let text = secret.expose();
        assert!(text.expose_secret().starts_with("whsec_"));
        let again = WebhookSecret::parse(text.expose_secret()).unwrap();
        assert_eq!(again.sign("a", 1, b"x"), secret.sign("a", 1, b"x"));
        assert!(!format!("{secret:?}").contains(text.expose_secret()));
        for bad in [
            "",
            "whsec_",
            "whsec_!!",
            "sec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_AAAA",
        ] {
            assert!(WebhookSecret::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn endpoint_urls_table() {
        use UrlPolicy::{Deployed, Local};
        let rows: &[(&str, UrlPolicy, Result<(), WebhookError>)] = &[
            ("https://hooks.example.com/scim", Deployed, Ok(())),
            (
                "http://hooks.example.com/scim",
                Deployed,
                Err(WebhookError::NotHttps),
            ),
            ("http://127.0.0.1:9000/hook", Local, Ok(())),
            (
                "http://127.0.0.1:9000/hook",
                Deployed,
                Err(WebhookError::NotHttps),
            ),
            (
                "https://127.0.0.1/hook",
                Deployed,
                Err(WebhookError::ForbiddenAddress),
            ),
            (
                "http://hooks.example.com/",
                Local,
                Err(WebhookError::NotHttps),
            ),
            (
                "https://169.254.169.254/latest/meta-data",
                Deployed,
                Err(WebhookError::ForbiddenAddress),
            ),
            (
                "https://10.0.0.5/",
                Deployed,
                Err(WebhookError::ForbiddenAddress),
            ),
            (
                "https://[::1]/",
                Deployed,
                Err(WebhookError::ForbiddenAddress),
            ),
            (
                "https://[fd00::1]/",
                Deployed,
                Err(WebhookError::ForbiddenAddress),
            ),
            (
                "https://[::ffff:169.254.169.254]/",
                Deployed,
                Err(WebhookError::ForbiddenAddress),
            ),
            (
                "https://localhost/",
                Deployed,
                Err(WebhookError::ForbiddenAddress),
            ),
            ("https://8.8.8.8/", Deployed, Ok(())),
            ("ftp://example.com/", Local, Err(WebhookError::NotAUrl)),
            ("/relative", Local, Err(WebhookError::NotAUrl)),
        ];
        for (url, policy, expected) in rows {
            assert_eq!(check_url(url, *policy), *expected, "{url} {policy:?}");
        }
    }

    #[test]
    fn the_retry_schedule_lasts_three_days_and_starts_within_a_minute() {
        assert!(retry_delay(1).unwrap() <= Duration::from_secs(60));
        let mut total = Duration::ZERO;
        let mut attempt = 1;
        while let Some(d) = retry_delay(attempt) {
            total += d;
            attempt += 1;
        }
        assert!(total >= Duration::from_secs(3 * 24 * 3600), "{total:?}");
        assert_eq!(retry_delay(0), None);
    }
}
