//! RFC 9865 cursors: opaque, tamper-proof, tenant-bound continuation tokens.
//!
//! A cursor names the last resource id a page returned, the tenant, the resource kind and a
//! hash of the filter it was issued for, plus an expiry; an HMAC-SHA256 over all of it stops a
//! client from forging one (to read past another tenant's key, or to make the server start a
//! query at an arbitrary key) or replaying it with another filter. The wire form is
//! `base64url(payload || mac)` without padding. The payload is text,
//! `v1|<tenant>|<kind>|<filter hash>|<expiry>|<last id>`: tenant ids, kind names, hex and
//! digits cannot contain `|`, and the id stands last, so no field can bleed into another.
//!
//! Pure: the key and the current time are arguments. Where the key comes from (the
//! environment, or a random one per process) is the caller's business (`service`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::scim::error::Error;
use crate::scim::filter::Filter;
use crate::scim::schema::ResourceKind;

/// Seconds a cursor stays valid after it is issued; advertised as `pagination.cursorTimeout`
/// (RFC 9865 §4). An hour covers a slow client paging through a large directory; the cursor
/// only names a position, so a longer life leaks nothing.
pub const CURSOR_TIMEOUT_SECS: u64 = 3600;

/// Length of the MAC appended to the payload.
const MAC_LEN: usize = 32;
/// Format tag, so a future layout can be told apart (and old cursors refused cleanly).
const VERSION: &str = "v1";

/// The HMAC key cursors are signed with. Every instance that may receive a cursor must hold
/// the same key (see `docs/dynamodb.md`, "Cursors").
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl CursorKey {
    /// A key from 32 random bytes (one process: cursors die with it).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        CursorKey(bytes)
    }

    /// A key derived from a configured secret of any length (e.g. `SCIM_CURSOR_KEY`), with a
    /// label so the same secret used elsewhere never yields this key.
    pub fn derive(secret: &[u8]) -> Self {
        CursorKey(hmac_sha256(secret, b"scim-lambda cursor key v1"))
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(..)")
    }
}

/// What a cursor binds: who may use it and for which query.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorScope<'a> {
    /// The tenant the listing belongs to.
    pub tenant: &'a str,
    /// The resource kind listed.
    pub kind: ResourceKind,
    /// The filter of the listing (`None` for all resources).
    pub filter: Option<&'a Filter>,
}

impl CursorScope<'_> {
    /// First 16 bytes of SHA-256 over the filter's canonical text: a different filter (or
    /// none) gives a different hash, so a cursor cannot be replayed against another query.
    fn filter_hash(&self) -> String {
        let text = self.filter.map(ToString::to_string).unwrap_or_default();
        let digest = Sha256::digest(text.as_bytes());
        hex::encode(&digest[..16])
    }
}

/// Issues the cursor continuing after `last_id`, valid until `now + CURSOR_TIMEOUT_SECS`
/// (`now` in seconds since the Unix epoch).
pub fn encode(key: &CursorKey, scope: &CursorScope<'_>, last_id: &str, now: u64) -> String {
    let payload = format!(
        "{VERSION}|{}|{}|{}|{}|{last_id}",
        scope.tenant,
        scope.kind.name(),
        scope.filter_hash(),
        now.saturating_add(CURSOR_TIMEOUT_SECS),
    );
    let mut bytes = payload.into_bytes();
    let mac = hmac_sha256(&key.0, &bytes);
    bytes.extend_from_slice(&mac);
    URL_SAFE_NO_PAD.encode(&bytes)
}

/// Verifies a cursor and returns the id to continue after.
///
/// # Errors
/// 400 `invalidCursor` when the token is malformed, forged, or issued for another tenant,
/// kind or filter; 400 `expiredCursor` when it is past its expiry (RFC 9865 §3.1, Table 1).
pub fn decode(
    key: &CursorKey,
    scope: &CursorScope<'_>,
    token: &str,
    now: u64,
) -> Result<String, Error> {
    let invalid = || {
        Error::invalid_cursor(
            "the cursor is not one this server issued for this query; \
             send an empty cursor to start again",
        )
    };
    // The engine refuses padding and non-canonical trailing bits, so one cursor has one text.
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    if bytes.len() <= MAC_LEN {
        return Err(invalid());
    }
    let (payload, tag) = bytes.split_at(bytes.len() - MAC_LEN);
    // Constant-time comparison.
    mac(&key.0, payload)
        .verify_slice(tag)
        .map_err(|_| invalid())?;
    // Authentic from here on: a mismatch below is a cursor used out of its scope.
    let text = std::str::from_utf8(payload).map_err(|_| invalid())?;
    let mut fields = text.splitn(6, '|');
    let mut next = || fields.next().ok_or_else(invalid);
    let (version, tenant, kind, hash, expiry, last_id) =
        (next()?, next()?, next()?, next()?, next()?, next()?);
    if version != VERSION
        || tenant != scope.tenant
        || kind != scope.kind.name()
        || hash != scope.filter_hash()
        || last_id.is_empty()
    {
        return Err(invalid());
    }
    let expiry: u64 = expiry.parse().map_err(|_| invalid())?;
    if now > expiry {
        return Err(Error::expired_cursor(
            "the cursor has expired; send an empty cursor to start again",
        ));
    }
    Ok(last_id.to_string())
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    mac(key, message).finalize().into_bytes().into()
}

fn mac(key: &[u8], message: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length (RFC 2104 §2), so `new_from_slice` cannot fail here.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(message);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;

    const NOW: u64 = 1_750_000_000;

    fn key() -> CursorKey {
        CursorKey::from_bytes([7; 32])
    }

    fn scope<'a>(tenant: &'a str, filter: Option<&'a Filter>) -> CursorScope<'a> {
        CursorScope {
            tenant,
            kind: ResourceKind::User,
            filter,
        }
    }

    #[test]
    fn only_the_canonical_text_of_a_cursor_is_accepted() {
        let s = scope("default", None);
        let token = encode(&key(), &s, "id-42", NOW);
        let padded = format!("{token}{}", "=".repeat((4 - token.len() % 4) % 4));
        let standard = token.replace('-', "+").replace('_', "/");
        for bad in [padded.as_str(), standard.as_str(), "", "Z", "é"] {
            if bad == token {
                continue;
            }
            assert!(decode(&key(), &s, bad, NOW).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_cursor_round_trips_within_its_scope() {
        let filter = Filter::parse(r#"title eq "x""#).unwrap();
        for (name, s) in [
            ("no filter", scope("default", None)),
            ("filter", scope("acme", Some(&filter))),
        ] {
            let token = encode(&key(), &s, "id-42", NOW);
            assert!(!token.contains(['+', '/', '=', '|']), "{name}: url-safe");
            assert_eq!(
                decode(&key(), &s, &token, NOW + 10).unwrap(),
                "id-42",
                "{name}"
            );
        }
    }

    #[test]
    fn cursors_out_of_scope_forged_or_expired_are_refused() {
        let f1 = Filter::parse(r#"title eq "x""#).unwrap();
        let f2 = Filter::parse(r#"title eq "y""#).unwrap();
        let issued = scope("alpha", Some(&f1));
        let token = encode(&key(), &issued, "id-1", NOW);
        let mut tampered = URL_SAFE_NO_PAD.decode(&token).unwrap();
        tampered[5] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(&tampered);
        let groups = CursorScope {
            kind: ResourceKind::Group,
            ..issued.clone()
        };
        let other_key = CursorKey::derive(b"another instance's secret");
        type Row<'a> = (&'a str, CursorKey, CursorScope<'a>, String, u64, ScimType);
        let rows: Vec<Row> = vec![
            (
                "other tenant",
                key(),
                scope("beta", Some(&f1)),
                token.clone(),
                NOW,
                ScimType::InvalidCursor,
            ),
            (
                "other filter",
                key(),
                scope("alpha", Some(&f2)),
                token.clone(),
                NOW,
                ScimType::InvalidCursor,
            ),
            (
                "no filter",
                key(),
                scope("alpha", None),
                token.clone(),
                NOW,
                ScimType::InvalidCursor,
            ),
            (
                "other kind",
                key(),
                groups,
                token.clone(),
                NOW,
                ScimType::InvalidCursor,
            ),
            (
                "other key",
                other_key,
                issued.clone(),
                token.clone(),
                NOW,
                ScimType::InvalidCursor,
            ),
            (
                "tampered",
                key(),
                issued.clone(),
                tampered,
                NOW,
                ScimType::InvalidCursor,
            ),
            (
                "garbage",
                key(),
                issued.clone(),
                "not a cursor!".into(),
                NOW,
                ScimType::InvalidCursor,
            ),
            (
                "too short",
                key(),
                issued.clone(),
                "AAAA".into(),
                NOW,
                ScimType::InvalidCursor,
            ),
            (
                "expired",
                key(),
                issued.clone(),
                token.clone(),
                NOW + CURSOR_TIMEOUT_SECS + 1,
                ScimType::ExpiredCursor,
            ),
        ];
        for (name, k, s, t, now, want) in rows {
            let err = decode(&k, &s, &t, now).expect_err(name);
            assert_eq!((err.status, err.scim_type), (400, Some(want)), "{name}");
        }
        assert!(decode(&key(), &issued, &token, NOW + CURSOR_TIMEOUT_SECS).is_ok());
    }
}
