//! A stand-in for a store's identity provider (Auth0, Clerk, Supabase…): publishes a JWKS
//! and mints customer tokens, so the local stack and the tests can sign customers in.
//!
//! - `GET /idp/.well-known/jwks.json`: public keys `sim-rsa-1` (RS256) and `sim-ec-1` (ES256)
//! - `POST /idp/token` `{sub, email?, aud, iss?, alg?: RS256|ES256|HS256, secret?, exp_in?, nbf_in?}` → `{token}`
//!
//! The keys are the test-only ones in `tests/fixtures/idp/`.

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

pub const ISSUER: &str = "http://lading-simulator/idp/";
const JWKS: &str = include_str!("../../../tests/fixtures/idp/jwks.json");
const RSA_PEM: &str = include_str!("../../../tests/fixtures/idp/rsa-private.pem");
const EC_PEM: &str = include_str!("../../../tests/fixtures/idp/ec-private.pem");

pub fn router() -> Router {
    Router::new()
        .route(
            "/idp/.well-known/jwks.json",
            get(|| async { ([("content-type", "application/json")], JWKS) }),
        )
        .route("/idp/token", post(mint))
}

#[derive(Deserialize)]
struct Mint {
    sub: String,
    #[serde(default)]
    email: Option<String>,
    aud: String,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    secret: Option<String>,
    #[serde(default)]
    exp_in: Option<i64>,
    #[serde(default)]
    nbf_in: Option<i64>,
}

async fn mint(Json(m): Json<Mint>) -> impl IntoResponse {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut claims = json!({
        "sub": m.sub, "aud": m.aud, "iss": m.iss.unwrap_or_else(|| ISSUER.into()),
        "iat": now, "exp": now + m.exp_in.unwrap_or(3600),
    });
    if let Some(e) = m.email {
        claims["email"] = Value::from(e);
    }
    if let Some(n) = m.nbf_in {
        claims["nbf"] = Value::from(now + n);
    }
    let (alg, key, kid) = match m.alg.as_deref().unwrap_or("RS256") {
        "RS256" => (
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()),
            Some("sim-rsa-1"),
        ),
        "ES256" => (
            Algorithm::ES256,
            EncodingKey::from_ec_pem(EC_PEM.as_bytes()),
            Some("sim-ec-1"),
        ),
        "HS256" => match m.secret {
            Some(s) => (
                Algorithm::HS256,
                Ok(EncodingKey::from_secret(s.as_bytes())),
                None,
            ),
            None => {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({ "error": "HS256 needs secret" })),
                );
            }
        },
        other => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "error": format!("unsupported alg {other}") })),
            );
        }
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    match key.and_then(|k| jsonwebtoken::encode(&header, &claims, &k)) {
        Ok(token) => (StatusCode::OK, Json(json!({ "token": token }))),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": e.to_string() })),
        ),
    }
}
