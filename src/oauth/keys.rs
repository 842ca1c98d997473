//! The access-token signing keys: ES256 (P-256) key pairs named by a `kid`, the ring of the
//! current and the previous key (rotation with overlap), signing, verification and the JWKS
//! document. Signatures come from `jsonwebtoken` on aws-lc-rs, the crypto library rustls
//! already links for the AWS SDK: no second crypto stack, no hand-written signature code.
//!
//! A key is derived from a seed: the stack generates a random string in Secrets Manager (which
//! cannot generate an EC key itself), every instance derives the same key pair from it, and a
//! rotation is a new seed as `AWSCURRENT` with the old one as `AWSPREVIOUS`. Locally the seed
//! is random per process unless one is configured.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::access::{ACCESS_TOKEN_TYP, AccessClaims};

/// Why a key could not be made or a token signed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The seed is empty.
    #[error("the signing-key seed is empty")]
    EmptySeed,
    /// The derived scalar was rejected (probability about 2^-32) or the crypto library failed.
    #[error("the signing key could not be built")]
    Rejected,
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

/// Why a presented token did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a JWT, wrong `typ`/`alg`, bad signature or claims that do not parse.
    #[error("the token is not a valid access token")]
    Invalid,
    /// Its `kid` names no key this instance holds (perhaps one rotated in since it loaded).
    #[error("the token was signed with an unknown key")]
    UnknownKey,
}

/// One ES256 signing key.
pub struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Value,
}

impl SigningKey {
    /// The key pair derived from `seed` (HMAC-SHA256 of the seed as the private scalar), named
    /// by the RFC 7638 thumbprint of its public key, so every instance derives the same `kid`.
    ///
    /// # Errors
    /// [`KeyError`] when the seed is empty or the scalar is rejected.
    pub fn from_seed(seed: &[u8]) -> Result<Self, KeyError> {
        if seed.is_empty() {
            return Err(KeyError::EmptySeed);
        }
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"scim-lambda access-token key v1")
            .map_err(|_| KeyError::Rejected)?;
        mac.update(seed);
        let scalar = mac.finalize().into_bytes();
        // RFC 5915 ECPrivateKey { version 1, privateKey OCTET STRING (32) }: the curve comes
        // from the algorithm and the public key is computed by the library.
        let mut der = vec![0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20];
        der.extend_from_slice(&scalar);
        let pair = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
            .map_err(|_| KeyError::Rejected)?;
        let pkcs8 = pair.to_pkcs8v1().map_err(|_| KeyError::Rejected)?;
        // Uncompressed point: 0x04 || x (32) || y (32).
        let point = pair.public_key().as_ref();
        if point.len() != 65 {
            return Err(KeyError::Rejected);
        }
        let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
        let y = URL_SAFE_NO_PAD.encode(&point[33..]);
        // RFC 7638: the required members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        let decoding = DecodingKey::from_ec_components(&x, &y).map_err(|_| KeyError::Rejected)?;
        Ok(SigningKey {
            jwk: json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": "ES256"}),
            kid,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            decoding,
        })
    }

    /// A key from a fresh random seed (local runs, tests).
    ///
    /// # Errors
    /// When the OS random source fails or the key is rejected.
    pub fn random() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|_| KeyError::Rejected)?;
        Self::from_seed(&seed)
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.kid)
    }
}

/// The keys in force: `current` signs; `current` and `previous` verify, so tokens signed
/// before a rotation stay valid until they expire.
#[derive(Debug)]
pub struct KeyRing {
    current: SigningKey,
    previous: Option<SigningKey>,
}

impl KeyRing {
    /// A ring of one key.
    pub fn new(current: SigningKey) -> Self {
        KeyRing {
            current,
            previous: None,
        }
    }

    /// A ring with a previous key still verifying.
    pub fn with_previous(mut self, previous: Option<SigningKey>) -> Self {
        self.previous = previous.filter(|p| p.kid != self.current.kid);
        self
    }

    /// The key ids, current first.
    pub fn kids(&self) -> Vec<&str> {
        std::iter::once(self.current.kid())
            .chain(self.previous.as_ref().map(SigningKey::kid))
            .collect()
    }

    /// Whether a key with this id is in the ring.
    pub fn has(&self, kid: &str) -> bool {
        self.key(kid).is_some()
    }

    fn key(&self, kid: &str) -> Option<&SigningKey> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|k| k.kid == kid)
    }

    /// Signs access-token claims with the current key (`typ: at+jwt`, `kid`).
    ///
    /// # Errors
    /// [`KeyError::Sign`] when the library fails.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(ACCESS_TOKEN_TYP.to_string());
        header.kid = Some(self.current.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.current.encoding).map_err(KeyError::Sign)
    }

    /// Verifies the signature and `typ` of `token` and returns its claims, unchecked for time
    /// and audience (the caller checks those against its own clock, see
    /// [`AccessClaims::check`]).
    ///
    /// # Errors
    /// [`VerifyError::UnknownKey`] for a `kid` not in the ring, `Invalid` for anything else.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Invalid)?;
        if header.alg != Algorithm::ES256 || header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(VerifyError::Invalid);
        }
        let kid = header.kid.ok_or(VerifyError::Invalid)?;
        let key = self.key(&kid).ok_or(VerifyError::UnknownKey)?;
        decode_unchecked(token, &key.decoding, Algorithm::ES256)
    }

    /// The public keys as a JWKS document (RFC 7517), current first.
    pub fn jwks(&self) -> Value {
        let keys: Vec<&Value> = std::iter::once(&self.current.jwk)
            .chain(self.previous.as_ref().map(|k| &k.jwk))
            .collect();
        json!({ "keys": keys })
    }
}

/// Verifies the signature of `token` with `key` and parses its claims, leaving every time and
/// audience check to the caller (who owns the clock and the rules).
///
/// # Errors
/// [`VerifyError::Invalid`] for a bad signature or claims that do not parse as `T`.
pub fn decode_unchecked<T: DeserializeOwned>(
    token: &str,
    key: &DecodingKey,
    alg: Algorithm,
) -> Result<T, VerifyError> {
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<T>(token, key, &validation)
        .map(|data| data.claims)
        .map_err(|_| VerifyError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::access::Lifetime;
    use crate::tenant::TenantId;

    fn claims() -> AccessClaims {
        AccessClaims::issue(
            "https://a.example",
            "https://a.example/scim/v2",
            "c_x",
            &TenantId::default(),
            1000,
            Lifetime::default(),
        )
    }

    #[test]
    fn keys_from_one_seed_agree_across_instances() {
        let a = SigningKey::from_seed(b"seed-1").unwrap();
        let b = SigningKey::from_seed(b"seed-1").unwrap();
        let c = SigningKey::from_seed(b"seed-2").unwrap();
        assert_eq!(a.kid(), b.kid());
        assert_ne!(a.kid(), c.kid());
        let claims = claims();
        let token = KeyRing::new(a).sign(&claims).unwrap();
        assert_eq!(KeyRing::new(b).verify(&token).unwrap(), claims);
        assert!(matches!(
            SigningKey::from_seed(b""),
            Err(KeyError::EmptySeed)
        ));
    }

    #[test]
    fn rotation_keeps_the_previous_key_verifying() {
        let old = KeyRing::new(SigningKey::from_seed(b"old").unwrap());
        let claims = claims();
        let token = old.sign(&claims).unwrap();
        let rotated = KeyRing::new(SigningKey::from_seed(b"new").unwrap())
            .with_previous(Some(SigningKey::from_seed(b"old").unwrap()));
        assert_eq!(rotated.verify(&token).unwrap(), claims);
        assert_eq!(rotated.jwks()["keys"].as_array().unwrap().len(), 2);
        let after_next = KeyRing::new(SigningKey::from_seed(b"newer").unwrap())
            .with_previous(Some(SigningKey::from_seed(b"new").unwrap()));
        assert_eq!(after_next.verify(&token), Err(VerifyError::UnknownKey));
    }

    #[test]
    fn tampered_or_foreign_tokens_fail() {
        let ring = KeyRing::new(SigningKey::from_seed(b"k").unwrap());
        let token = ring.sign(&claims()).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut forged = claims();
        forged.tenant = "other".into();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let tampered = parts.join(".");
        // A token whose header says it is not an access token (e.g. an ID token).
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(ring.kids()[0].to_string());
        let pkcs8 = SigningKey::from_seed(b"k").unwrap();
        let untyped = jsonwebtoken::encode(&header, &claims(), &pkcs8.encoding).unwrap();
        let rows = [
            ("tampered payload", tampered.as_str()),
            ("not a jwt", "abc.def"),
            ("no typ", untyped.as_str()),
            ("empty", ""),
        ];
        for (name, t) in rows {
            assert_eq!(ring.verify(t), Err(VerifyError::Invalid), "{name}");
        }
    }

    #[test]
    fn jwks_publishes_public_parts_only() {
        let key = SigningKey::from_seed(b"k").unwrap();
        let kid = key.kid().to_string();
        let jwks = KeyRing::new(key).jwks();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["kid"], kid.as_str());
        assert_eq!(jwk["kty"], "EC");
        assert!(jwk.get("d").is_none());
        // The published key verifies: a relying party can use the document as it is.
        let parsed: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
        assert!(DecodingKey::from_jwk(&parsed.keys[0]).is_ok());
    }
}
