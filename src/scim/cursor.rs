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

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

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
        hex(&digest[..16])
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
    base64url_encode(&bytes)
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
    let bytes = base64url_decode(token).ok_or_else(invalid)?;
    if bytes.len() <= MAC_LEN {
        return Err(invalid());
    }
    let (payload, mac) = bytes.split_at(bytes.len() - MAC_LEN);
    let expected = hmac_sha256(&key.0, payload);
    if !bool::from(expected.ct_eq(mac)) {
        return Err(invalid());
    }
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

/// HMAC-SHA256 (RFC 2104): `H((K ^ opad) || H((K ^ ipad) || m))`, the key hashed first when
/// longer than SHA-256's 64-byte block. Written out rather than pulling in the `hmac` crate
/// for these few lines; the RFC 4231 vectors in the tests pin it.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding (RFC 4648 §5): safe in a query string as it is.
fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// The inverse of [`base64url_encode`]; `None` for any other character, padding, or a
/// length no encoding produces, or bits left over in the last character.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| ALPHABET.iter().position(|&a| a == c).map(|p| p as u32);
    let bytes = text.as_bytes();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3 + 2);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        let produced = chunk.len() - 1;
        // Canonical form only: the unused low bits of a short chunk must be zero.
        let used_bits = 8 * produced;
        if n & ((1 << (24 - used_bits)) - 1) != 0 {
            return None;
        }
        for i in 0..produced {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
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
    fn hmac_matches_rfc_4231() {
        let rows: &[(&str, &[u8], &[u8], &str)] = &[
            (
                "case 1",
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                "case 2",
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                "case 6 (key longer than a block)",
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (name, k, m, want) in rows {
            assert_eq!(hex(&hmac_sha256(k, m)), *want, "{name}");
        }
    }

    #[test]
    fn base64url_round_trips_and_rejects_non_canonical_text() {
        let rows: &[(&str, &[u8], &str)] = &[
            ("empty", b"", ""),
            ("one byte", b"f", "Zg"),
            ("two bytes", b"fo", "Zm8"),
            ("three bytes", b"foo", "Zm9v"),
            ("rfc 4648", b"foobar", "Zm9vYmFy"),
            ("url alphabet", &[0xfb, 0xff], "-_8"),
        ];
        for (name, bytes, text) in rows {
            assert_eq!(base64url_encode(bytes), *text, "{name}");
            assert_eq!(base64url_decode(text).as_deref(), Some(*bytes), "{name}");
        }
        for bad in ["Zg==", "Z", "Zh", "Zm9v+", "Zm/v", "é"] {
            assert_eq!(base64url_decode(bad), None, "{bad}");
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
        let mut tampered = base64url_decode(&token).unwrap();
        tampered[5] ^= 1;
        let tampered = base64url_encode(&tampered);
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
