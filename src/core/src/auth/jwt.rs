//! Customer identity: a bearer JWT from the store's identity provider. HS256 with a shared
//! secret, RS256/ES256 through a JWKS URL (cached per isolate). `iss`, `aud`, `exp` and
//! `nbf` are checked; time comes from the platform clock.

use crate::AppError;
use crate::ports::{HttpClient, OutboundRequest, Platform};
use crate::sql::stores::IdentitySettings;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::cell::RefCell;
use std::collections::HashMap;

/// Seconds of clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_S: i64 = 30;
/// How long a fetched JWKS is trusted.
const JWKS_TTL_MS: i64 = 10 * 60 * 1000;
/// A token naming an unknown `kid` refetches the JWKS at most this often.
const JWKS_REFRESH_MIN_MS: i64 = 30 * 1000;

#[derive(Debug, Clone, Deserialize)]
pub struct CustomerClaims {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    pub exp: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
}

thread_local! {
    static JWKS: RefCell<HashMap<String, (i64, JwkSet)>> = RefCell::new(HashMap::new());
}

fn invalid(msg: impl Into<String>) -> AppError {
    AppError::unauthenticated("invalid_token", msg)
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
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| invalid("The bearer token is not a JWT."))?;
    let key = match header.alg {
        Algorithm::HS256 => {
            let secret = idp
                .hs256_secret
                .as_deref()
                .ok_or_else(|| invalid("This store does not accept HS256 tokens."))?;
            DecodingKey::from_secret(secret.as_bytes())
        }
        Algorithm::RS256 | Algorithm::ES256 => {
            let url = idp
                .jwks_url
                .as_deref()
                .ok_or_else(|| invalid("This store does not accept RS256/ES256 tokens."))?;
            let jwk = find_jwk(p, url, header.kid.as_deref()).await?;
            DecodingKey::from_jwk(&jwk)
                .map_err(|_| invalid("The signing key in the JWKS is unusable."))?
        }
        other => return Err(invalid(format!("Algorithm {other:?} is not accepted."))),
    };
    let mut v = Validation::new(header.alg);
    // exp/nbf are checked below against the platform clock, so tests can move time.
    v.validate_exp = false;
    v.validate_nbf = false;
    v.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
    v.set_issuer(&[&idp.issuer]);
    v.set_audience(&[&idp.audience]);
    let data = jsonwebtoken::decode::<CustomerClaims>(token, &key, &v).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as K;
        invalid(match e.kind() {
            K::InvalidSignature => "The token's signature does not verify.".to_owned(),
            K::InvalidIssuer => "The token was issued by another issuer.".to_owned(),
            K::InvalidAudience => "The token is meant for another audience.".to_owned(),
            K::MissingRequiredClaim(c) => format!("The token lacks the '{c}' claim."),
            _ => format!("The token is invalid: {e}."),
        })
    })?;
    let now_s = p.now_ms() / 1000;
    let c = data.claims;
    if c.exp + LEEWAY_S < now_s {
        return Err(invalid("The token has expired."));
    }
    if c.nbf.is_some_and(|nbf| nbf - LEEWAY_S > now_s) {
        return Err(invalid("The token is not valid yet."));
    }
    if c.sub.is_empty() || c.sub.len() > 255 {
        return Err(invalid("The token's subject is empty or too long."));
    }
    Ok(c)
}

async fn find_jwk<P: Platform>(
    p: &P,
    url: &str,
    kid: Option<&str>,
) -> Result<jsonwebtoken::jwk::Jwk, AppError> {
    let now = p.now_ms();
    let pick = |set: &JwkSet| match kid {
        Some(k) => set.find(k).cloned(),
        None if set.keys.len() == 1 => set.keys.first().cloned(),
        None => None,
    };
    let cached = JWKS.with(|c| c.borrow().get(url).cloned());
    if let Some((at, set)) = &cached {
        if now - at < JWKS_TTL_MS {
            if let Some(k) = pick(set) {
                return Ok(k);
            }
            if now - at < JWKS_REFRESH_MIN_MS {
                return Err(invalid("No key in the JWKS matches the token's kid."));
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
    let found = pick(&set);
    JWKS.with(|c| c.borrow_mut().insert(url.to_owned(), (now, set)));
    found.ok_or_else(|| invalid("No key in the JWKS matches the token's kid."))
}
