//! Token verification keys and the verifier: HS256 with a shared secret (development), or RS256/ES256 public keys
//! from a PEM or JWKS file, chosen by `kid` (production). The algorithm is pinned by the key, never by the token.

use crate::config::JwtConfig;
use jsonwebtoken::{jwk, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Seconds of clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;
/// Longest token accepted, in bytes; anything longer is refused before it is parsed.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Longest `sub` accepted: ids are stored in audit rows and caseload columns.
const MAX_SUB_BYTES: usize = 255;
/// Name of the generated development secret inside the data folder.
const SECRET_FILE: &str = "jwt-secret";

/// Why a token was refused. The text is safe to show: it never contains the token or its claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("a bearer token is required (Authorization: Bearer <JWT>)")]
    Missing,
    /// Not a JWT, or not a bearer credential.
    #[error("the bearer token is malformed")]
    Malformed,
    /// The header names an algorithm this service does not accept for its keys.
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    /// The `kid` names no configured key.
    #[error("the token's key id is not known")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature does not verify")]
    Signature,
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// Wrong `iss`.
    #[error("the token's issuer is not accepted")]
    Issuer,
    /// Wrong `aud`.
    #[error("the token's audience is not accepted")]
    Audience,
    /// A required claim is absent or empty.
    #[error("the token lacks the required claim {0}")]
    MissingClaim(String),
}

/// A key configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A key or secret file holds nothing usable.
    #[error("{0}")]
    Invalid(String),
    /// Signing needs the HS256 secret, and the service is configured for public keys.
    #[error("development tokens are HS256; this instance verifies RS256/ES256 keys from VS_JWT_PUBLIC_KEYS, so mint tokens with your identity provider")]
    NoSigningKey,
    /// Signing failed.
    #[error("cannot sign the token: {0}")]
    Sign(String),
}

/// The claims this service reads. Roles are kept raw so unknown names can be ignored rather than refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The caller's stable id.
    pub sub: String,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: serde_json::Value,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Not before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Role names.
    #[serde(default)]
    pub roles: serde_json::Value,
}

impl Claims {
    /// The role names in the `roles` claim that are strings; anything else in it is ignored.
    pub fn role_names(&self) -> Vec<String> {
        match &self.roles {
            serde_json::Value::Array(items) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            serde_json::Value::String(one) => vec![one.clone()],
            _ => Vec::new(),
        }
    }
}

struct PublicKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

enum Keys {
    Shared { decoding: DecodingKey, encoding: EncodingKey },
    Public(Vec<PublicKey>),
}

/// Verifies bearer tokens (and mints HS256 development tokens).
pub struct Authenticator {
    keys: Keys,
    issuer: String,
    audience: String,
    /// Secret material for other signatures (pagination cursors), derived from the HS256 secret.
    derived_secret: Vec<u8>,
    /// Tokens already verified, by their exact text: a client sends the same token with every request, and the
    /// signature and claims of a given text never change. `exp` and `nbf` are checked again on every use.
    verified: std::sync::Mutex<std::collections::HashMap<String, Claims>>,
}

/// Verified tokens remembered at most; the cache is emptied when full.
const VERIFIED_CACHE_ENTRIES: usize = 10_000;

impl Authenticator {
    /// Loads keys as configured: public keys when `VS_JWT_PUBLIC_KEYS` is set, else the HS256 secret from
    /// `VS_JWT_SECRET`, else a secret generated once into `data_dir` (mode 0600).
    pub fn from_config(cfg: &JwtConfig, data_dir: &Path) -> Result<Self, KeyError> {
        let secret = match &cfg.secret {
            Some(s) => s.clone().into_bytes(),
            None => load_or_create_secret(data_dir, cfg.public_keys.is_some())?,
        };
        let keys = match &cfg.public_keys {
            Some(path) => Keys::Public(load_public_keys(path)?),
            None => Keys::Shared {
                decoding: DecodingKey::from_secret(&secret),
                encoding: EncodingKey::from_secret(&secret),
            },
        };
        Ok(Self {
            keys,
            issuer: cfg.issuer.clone(),
            audience: cfg.audience.clone(),
            derived_secret: derive(&secret, b"virtual-school pagination cursors"),
            verified: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// A key for signing other things this instance hands out (cursors); never the token secret itself.
    pub fn derived_secret(&self) -> &[u8] {
        &self.derived_secret
    }

    /// Verifies `token` and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Malformed);
        }
        let cached = self.verified.lock().ok().and_then(|c| c.get(token).cloned());
        if let Some(claims) = cached {
            let now = jsonwebtoken::get_current_timestamp();
            if claims.exp + LEEWAY_SECS <= now {
                return Err(AuthError::Expired);
            }
            if claims.nbf.is_some_and(|nbf| nbf > now + LEEWAY_SECS) {
                return Err(AuthError::NotYetValid);
            }
            return Ok(claims);
        }
        let claims = self.verify_uncached(token)?;
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= VERIFIED_CACHE_ENTRIES {
                cache.clear();
            }
            cache.insert(token.to_owned(), claims.clone());
        }
        Ok(claims)
    }

    fn verify_uncached(&self, token: &str) -> Result<Claims, AuthError> {
        // `alg: none` and unknown algorithms fail here: jsonwebtoken has no such variant.
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        let (alg, key) = match &self.keys {
            Keys::Shared { decoding, .. } => (Algorithm::HS256, decoding),
            Keys::Public(keys) => {
                // A single key without a `kid` (a PEM file) verifies every token, whatever `kid` it names.
                let found = match (&header.kid, keys.as_slice()) {
                    (_, [only]) if only.kid.is_none() => Some(only),
                    (Some(kid), _) => keys.iter().find(|k| k.kid.as_deref() == Some(kid.as_str())),
                    (None, [only]) => Some(only),
                    (None, _) => None,
                };
                let found = found.ok_or(AuthError::UnknownKey)?;
                (found.alg, &found.key)
            }
        };
        if header.alg != alg {
            return Err(AuthError::Algorithm);
        }
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(map_error)?;
        if data.claims.sub.trim().is_empty() {
            return Err(AuthError::MissingClaim("sub".into()));
        }
        if data.claims.sub.len() > MAX_SUB_BYTES {
            return Err(AuthError::Malformed);
        }
        Ok(data.claims)
    }

    /// Mints an HS256 token for development and tests.
    pub fn mint(&self, sub: &str, roles: &[String], ttl_minutes: u64) -> Result<String, KeyError> {
        let Keys::Shared { encoding, .. } = &self.keys else {
            return Err(KeyError::NoSigningKey);
        };
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: sub.to_owned(),
            iss: self.issuer.clone(),
            aud: serde_json::Value::String(self.audience.clone()),
            exp: now + ttl_minutes * 60,
            nbf: Some(now),
            iat: Some(now),
            jti: Some(uuid::Uuid::now_v7().to_string()),
            roles: serde_json::json!(roles),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, encoding)
            .map_err(|e| KeyError::Sign(e.to_string()))
    }
}

fn map_error(e: jsonwebtoken::errors::Error) -> AuthError {
    use jsonwebtoken::errors::ErrorKind as K;
    match e.into_kind() {
        K::InvalidSignature => AuthError::Signature,
        K::ExpiredSignature => AuthError::Expired,
        K::ImmatureSignature => AuthError::NotYetValid,
        K::InvalidIssuer => AuthError::Issuer,
        K::InvalidAudience => AuthError::Audience,
        K::MissingRequiredClaim(c) => AuthError::MissingClaim(c),
        K::InvalidAlgorithm | K::InvalidAlgorithmName | K::MissingAlgorithm => AuthError::Algorithm,
        // A claim of the wrong type (a string `exp`, a missing `sub` field) fails JSON decoding.
        K::Json(e) if e.to_string().contains("missing field") => {
            let field = e.to_string().split('`').nth(1).unwrap_or("claim").to_owned();
            AuthError::MissingClaim(field)
        }
        _ => AuthError::Malformed,
    }
}

fn derive(secret: &[u8], label: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = match <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret) {
        Ok(m) => m,
        // HMAC takes keys of any length; this arm cannot be reached.
        Err(_) => return label.to_vec(),
    };
    mac.update(label);
    mac.finalize().into_bytes().to_vec()
}

/// Reads the generated secret, or creates it. With public keys configured it only keys pagination cursors.
fn load_or_create_secret(data_dir: &Path, public_keys: bool) -> Result<Vec<u8>, KeyError> {
    use base64::Engine;
    use rand::RngCore;
    let path = data_dir.join(SECRET_FILE);
    let io = |source| KeyError::Io { path: path.display().to_string(), source };
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let trimmed = existing.trim();
        if trimmed.len() >= 32 {
            return Ok(trimmed.as_bytes().to_vec());
        }
        return Err(KeyError::Invalid(format!(
            "{} holds fewer than 32 characters; delete it to have a new secret generated",
            path.display()
        )));
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => {
            std::io::Write::write_all(&mut file, secret.as_bytes()).map_err(io)?;
            if public_keys {
                log::warn!(
                    "generated a local secret for pagination cursors in {} (mode 0600); give every instance the same VS_CURSOR_SECRET",
                    path.display()
                );
            } else {
                log::warn!(
                    "VS_JWT_SECRET is not set: generated a development HS256 secret in {} (mode 0600); set VS_JWT_SECRET or VS_JWT_PUBLIC_KEYS in production",
                    path.display()
                );
            }
            Ok(secret.into_bytes())
        }
        // Another instance created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let existing = std::fs::read_to_string(&path).map_err(io)?;
            Ok(existing.trim().as_bytes().to_vec())
        }
        Err(e) => Err(io(e)),
    }
}

fn load_public_keys(path: &Path) -> Result<Vec<PublicKey>, KeyError> {
    let bytes = std::fs::read(path).map_err(|source| KeyError::Io { path: path.display().to_string(), source })?;
    let text = String::from_utf8_lossy(&bytes);
    if text.trim_start().starts_with('{') {
        let set: jwk::JwkSet = serde_json::from_slice(&bytes)
            .map_err(|e| KeyError::Invalid(format!("VS_JWT_PUBLIC_KEYS: not a JWKS document: {e}")))?;
        let mut keys = Vec::new();
        for key in &set.keys {
            if matches!(key.common.public_key_use, Some(jwk::PublicKeyUse::Encryption)) {
                continue;
            }
            let alg = match (&key.algorithm, key.common.key_algorithm) {
                (jwk::AlgorithmParameters::RSA(_), None | Some(jwk::KeyAlgorithm::RS256)) => Algorithm::RS256,
                (jwk::AlgorithmParameters::EllipticCurve(p), None | Some(jwk::KeyAlgorithm::ES256))
                    if p.curve == jwk::EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                // Other key types and algorithms are not accepted; skip them rather than fail start-up.
                _ => continue,
            };
            let decoding = DecodingKey::from_jwk(key)
                .map_err(|e| KeyError::Invalid(format!("VS_JWT_PUBLIC_KEYS: unusable key: {e}")))?;
            keys.push(PublicKey { kid: key.common.key_id.clone(), alg, key: decoding });
        }
        if keys.is_empty() {
            return Err(KeyError::Invalid("the JWKS holds no RS256 or P-256 ES256 key".into()));
        }
        Ok(keys)
    } else if let Ok(key) = DecodingKey::from_rsa_pem(&bytes) {
        Ok(vec![PublicKey { kid: None, alg: Algorithm::RS256, key }])
    } else if let Ok(key) = DecodingKey::from_ec_pem(&bytes) {
        Ok(vec![PublicKey { kid: None, alg: Algorithm::ES256, key }])
    } else {
        Err(KeyError::Invalid("neither a JWKS file nor an RSA or EC public key in PEM".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(secret: &str) -> Authenticator {
        let cfg = JwtConfig {
            secret: Some(secret.into()),
            public_keys: None,
            issuer: "virtual-school".into(),
            audience: "virtual-school-api".into(),
        };
        Authenticator::from_config(&cfg, Path::new("/nonexistent")).unwrap()
    }

    #[test]
    fn minted_tokens_verify_and_keep_their_roles() {
        let a = hs("0123456789abcdef0123456789abcdef");
        let t = a.mint("vso-1", &["vso".into(), "teacher".into()], 5).unwrap();
        let c = a.verify(&t).unwrap();
        assert_eq!(c.sub, "vso-1");
        assert_eq!(c.role_names(), vec!["vso", "teacher"]);
    }

    #[test]
    fn a_remembered_token_still_expires_and_still_waits_for_nbf() {
        let a = hs("0123456789abcdef0123456789abcdef");
        let t = a.mint("vso-1", &["vso".into()], 5).unwrap();
        assert!(a.verify(&t).is_ok());
        let now = jsonwebtoken::get_current_timestamp();
        a.verified.lock().unwrap().get_mut(&t).unwrap().exp = now - 100;
        assert_eq!(a.verify(&t).unwrap_err(), AuthError::Expired);
        let t2 = a.mint("vso-2", &["vso".into()], 5).unwrap();
        assert!(a.verify(&t2).is_ok());
        a.verified.lock().unwrap().get_mut(&t2).unwrap().nbf = Some(now + 600);
        assert_eq!(a.verify(&t2).unwrap_err(), AuthError::NotYetValid);
    }

    #[test]
    fn another_secret_fails_the_signature() {
        let t = hs("0123456789abcdef0123456789abcdef").mint("x", &[], 5).unwrap();
        assert_eq!(hs("fedcba9876543210fedcba9876543210").verify(&t).unwrap_err(), AuthError::Signature);
    }

    #[test]
    fn garbage_is_malformed() {
        let a = hs("0123456789abcdef0123456789abcdef");
        assert_eq!(a.verify("not-a-jwt").unwrap_err(), AuthError::Malformed);
        assert_eq!(a.verify("").unwrap_err(), AuthError::Malformed);
    }

    #[test]
    fn generated_secret_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_secret(dir.path(), false).unwrap();
        let second = load_or_create_secret(dir.path(), false).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(SECRET_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
