//! Customer identity: a bearer JWT from the store's identity provider. HS256 with a shared
//! secret, RS256/ES256 through a JWKS URL (cached per isolate). `iss`, `aud`, `exp` and
//! `nbf` are checked; time comes from the platform clock.
//!
//! Why not the `jsonwebtoken` crate here: its pure-Rust RSA/ECDSA backends add about
//! 170 KB (gzip) to every Worker that links them, while the Workers runtime verifies
//! RS256/ES256 natively with Web Crypto. So the public-key check is a platform port
//! ([`Platform::verify_signature`]), HS256 uses `hmac`, and this module does the JOSE
//! parsing and claim checks (tests cover every rejection, and the suite signs its tokens
//! with `jsonwebtoken`).

use crate::AppError;
use crate::ports::{HttpClient, OutboundRequest, Platform};
use crate::sql::stores::IdentitySettings;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::HashMap;

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_S: i64 = 30;
/// How long a fetched JWKS is trusted.
const JWKS_TTL_MS: i64 = 10 * 60 * 1000;
/// A token naming an unknown `kid` refetches the JWKS at most this often.
const JWKS_REFRESH_MIN_MS: i64 = 30 * 1000;

pub use crate::ports::{Jwk, SigAlg};

impl Jwk {
    /// Whether this key may verify `alg` (no algorithm confusion: an RSA key never checks
    /// an ECDSA signature, a key marked for another `alg` is not used).
    fn fits(&self, alg: SigAlg) -> bool {
        let (kty, name) = match alg {
            SigAlg::Rs256 => ("RSA", "RS256"),
            SigAlg::Es256 => ("EC", "ES256"),
        };
        self.kty == kty
            && self.alg.as_deref().is_none_or(|a| a == name)
            && match alg {
                SigAlg::Rs256 => self.n.is_some() && self.e.is_some(),
                SigAlg::Es256 => {
                    self.crv.as_deref() == Some("P-256") && self.x.is_some() && self.y.is_some()
                }
            }
    }
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
struct JwkSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct Claims {
    sub: Option<String>,
    #[serde(default)]
    email: Option<String>,
    iss: Option<String>,
    aud: Option<Audience>,
    exp: Option<f64>,
    #[serde(default)]
    nbf: Option<f64>,
}

/// What a verified token says about the customer.
#[derive(Debug, Clone)]
pub struct CustomerClaims {
    pub sub: String,
    pub email: Option<String>,
    pub exp: i64,
}

thread_local! {
    static JWKS: RefCell<HashMap<String, (i64, Vec<Jwk>)>> = RefCell::new(HashMap::new());
}

fn invalid(msg: impl Into<String>) -> AppError {
    AppError::unauthenticated("invalid_token", msg)
}

fn b64(part: &str) -> Result<Vec<u8>, AppError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid("The bearer token is not a JWT."))
}

/// Verifies a customer token.
///
/// # Errors
/// 401 `invalid_token` with the reason; 502 when the JWKS cannot be fetched.
pub async fn verify<P: Platform>(
    p: &P,
    idp: &IdentitySettings,
    token: &str,
) -> Result<CustomerClaims, AppError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, c, s] = parts.as_slice() else {
        return Err(invalid("The bearer token is not a JWT."));
    };
    let header: Header =
        serde_json::from_slice(&b64(h)?).map_err(|_| invalid("The bearer token is not a JWT."))?;
    if header.crit.is_some() {
        return Err(invalid(
            "Tokens with critical header extensions are not accepted.",
        ));
    }
    let signature = b64(s)?;
    let signing_input = format!("{h}.{c}");
    let ok = match header.alg.as_str() {
        "HS256" => {
            let secret = idp
                .hs256_secret
                .as_deref()
                .ok_or_else(|| invalid("This store does not accept HS256 tokens."))?;
            crate::crypto::hmac_sha256_verify(
                secret.as_bytes(),
                &[signing_input.as_bytes()],
                &signature,
            )
        }
        "RS256" | "ES256" => {
            let alg = if header.alg == "RS256" {
                SigAlg::Rs256
            } else {
                SigAlg::Es256
            };
            let url = idp
                .jwks_url
                .as_deref()
                .ok_or_else(|| invalid("This store does not accept RS256/ES256 tokens."))?;
            let jwk = find_jwk(p, url, header.kid.as_deref(), alg).await?;
            p.verify_signature(alg, &jwk, signing_input.as_bytes(), &signature)
                .await
                .map_err(|_| invalid("The signing key in the JWKS is unusable."))?
        }
        other => return Err(invalid(format!("Algorithm {other} is not accepted."))),
    };
    if !ok {
        return Err(invalid("The token's signature does not verify."));
    }
    let claims: Claims = serde_json::from_slice(&b64(c)?)
        .map_err(|_| invalid("The token's claims are not valid JSON."))?;
    check_claims(p, idp, claims)
}

fn check_claims<P: Platform>(
    p: &P,
    idp: &IdentitySettings,
    c: Claims,
) -> Result<CustomerClaims, AppError> {
    let missing = |name: &str| invalid(format!("The token lacks the '{name}' claim."));
    let sub = c.sub.ok_or_else(|| missing("sub"))?;
    let iss = c.iss.ok_or_else(|| missing("iss"))?;
    let aud = c.aud.ok_or_else(|| missing("aud"))?;
    let exp = c.exp.ok_or_else(|| missing("exp"))? as i64;
    if iss != idp.issuer {
        return Err(invalid("The token was issued by another issuer."));
    }
    let for_us = match &aud {
        Audience::One(a) => a == &idp.audience,
        Audience::Many(list) => list.iter().any(|a| a == &idp.audience),
    };
    if !for_us {
        return Err(invalid("The token is meant for another audience."));
    }
    let now_s = p.now_ms() / 1000;
    if exp + LEEWAY_S < now_s {
        return Err(invalid("The token has expired."));
    }
    if c.nbf.is_some_and(|nbf| nbf as i64 - LEEWAY_S > now_s) {
        return Err(invalid("The token is not valid yet."));
    }
    if sub.is_empty() || sub.len() > 255 {
        return Err(invalid("The token's subject is empty or too long."));
    }
    Ok(CustomerClaims {
        sub,
        email: c.email,
        exp,
    })
}

async fn find_jwk<P: Platform>(
    p: &P,
    url: &str,
    kid: Option<&str>,
    alg: SigAlg,
) -> Result<Jwk, AppError> {
    let now = p.now_ms();
    let pick = |keys: &[Jwk]| {
        let mut fitting = keys.iter().filter(|k| k.fits(alg));
        match kid {
            Some(kid) => fitting.find(|k| k.kid.as_deref() == Some(kid)).cloned(),
            None => {
                let first = fitting.next().cloned();
                // Without a kid the choice must be unambiguous.
                if fitting.next().is_some() {
                    None
                } else {
                    first
                }
            }
        }
    };
    let cached = JWKS.with(|c| c.borrow().get(url).cloned());
    if let Some((at, keys)) = &cached {
        if now - at < JWKS_TTL_MS && now >= *at {
            if let Some(k) = pick(keys) {
                return Ok(k);
            }
            if now - at < JWKS_REFRESH_MIN_MS {
                return Err(invalid("No key in the JWKS matches the token."));
            }
        }
    }
    let res = p
        .http()
        .send(OutboundRequest {
            method: "GET",
            url: url.to_owned(),
            headers: vec![("accept".into(), "application/json".into())],
            body: None,
            timeout_ms: None,
        })
        .await
        .map_err(|e| AppError::Upstream(format!("JWKS fetch failed: {e}")))?;
    if res.status != 200 {
        return Err(AppError::Upstream(format!(
            "JWKS fetch answered {}",
            res.status
        )));
    }
    let set: JwkSet = serde_json::from_slice(&res.body)
        .map_err(|e| AppError::Upstream(format!("JWKS is not valid: {e}")))?;
    // Keys of other kinds (OKP, symmetric…) are skipped, not fatal.
    let keys: Vec<Jwk> = set
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value(k).ok())
        .collect();
    let found = pick(&keys);
    JWKS.with(|c| c.borrow_mut().insert(url.to_owned(), (now, keys)));
    found.ok_or_else(|| invalid("No key in the JWKS matches the token."))
}
