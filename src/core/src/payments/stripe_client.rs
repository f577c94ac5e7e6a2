//! Calls to Stripe's API (or the simulator, by `api_base`): form-encoded bodies with
//! bracketed keys, `Idempotency-Key` on every POST, and answers sorted into what the
//! caller can do about them.

use crate::ports::{HttpClient, OutboundRequest, Platform};
use serde_json::Value;

pub use crate::ports::StripeConfig;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StripeError {
    /// Stripe refused the request (4xx): retrying the same request will not help.
    #[error("Stripe refused ({status} {kind}/{code}): {message}")]
    Rejected {
        status: u16,
        kind: String,
        code: String,
        message: String,
        param: Option<String>,
    },
    /// The Idempotency-Key was used with other parameters: a bug on our side.
    #[error("Stripe idempotency error: {0}")]
    Idempotency(String),
    /// Network failure, 409 (key in use), 429 or 5xx: the same request may succeed later.
    #[error("Stripe unavailable: {0}")]
    RetryLater(String),
}

/// `{"a":{"b":[{"c":1}]}}` → `a[b][0][c]=1`, in key order; nulls are left out.
pub fn encode_form(params: &Value) -> String {
    let mut pairs = Vec::new();
    flatten(String::new(), params, &mut pairs);
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(&k, &v);
    }
    out.finish()
}

fn flatten(prefix: String, v: &Value, out: &mut Vec<(String, String)>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_owned()
        } else {
            format!("{prefix}[{k}]")
        }
    };
    match v {
        Value::Null => {}
        Value::Object(m) => m.iter().for_each(|(k, v)| flatten(key(k), v, out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, v)| flatten(key(&i.to_string()), v, out)),
        Value::String(s) => out.push((prefix, s.clone())),
        other => out.push((prefix, other.to_string())),
    }
}

async fn send<P: Platform>(p: &P, req: OutboundRequest) -> Result<Value, StripeError> {
    let res = p.http().send(req).await.map_err(StripeError::RetryLater)?;
    let body: Value = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
    match res.status {
        200..=299 => Ok(body),
        409 | 429 | 500..=599 => Err(StripeError::RetryLater(format!(
            "HTTP {}: {}",
            res.status, body["error"]["message"]
        ))),
        status => {
            let e = &body["error"];
            let text = |k: &str| e[k].as_str().unwrap_or("").to_owned();
            if text("type") == "idempotency_error" {
                return Err(StripeError::Idempotency(text("message")));
            }
            Err(StripeError::Rejected {
                status,
                kind: text("type"),
                code: text("code"),
                message: text("message"),
                param: e["param"].as_str().map(str::to_owned),
            })
        }
    }
}

/// `POST {api_base}{path}` with form parameters and an idempotency key derived from our
/// own ids (never from the clock).
///
/// # Errors
/// See [`StripeError`].
pub async fn post<P: Platform>(
    p: &P,
    cfg: &StripeConfig,
    path: &str,
    params: &Value,
    idempotency_key: &str,
) -> Result<Value, StripeError> {
    send(
        p,
        OutboundRequest {
            method: "POST",
            url: format!("{}{path}", cfg.api_base.trim_end_matches('/')),
            headers: vec![
                ("authorization".into(), format!("Bearer {}", cfg.secret_key)),
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("idempotency-key".into(), idempotency_key.to_owned()),
            ],
            body: Some(encode_form(params).into_bytes()),
            timeout_ms: None,
        },
    )
    .await
}

/// `GET {api_base}{path_and_query}`.
///
/// # Errors
/// See [`StripeError`].
pub async fn get<P: Platform>(
    p: &P,
    cfg: &StripeConfig,
    path_and_query: &str,
) -> Result<Value, StripeError> {
    send(
        p,
        OutboundRequest {
            method: "GET",
            url: format!("{}{path_and_query}", cfg.api_base.trim_end_matches('/')),
            headers: vec![("authorization".into(), format!("Bearer {}", cfg.secret_key))],
            body: None,
            timeout_ms: None,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_parameters_use_stripes_bracket_form() {
        let form = encode_form(&json!({
            "mode": "payment",
            "metadata": { "order_id": "ord_1", "note": null },
            "line_items": [{ "quantity": 2, "price_data": { "currency": "usd", "unit_amount": 2500, "product_data": { "name": "Poster & frame" } } }],
            "allow_promotion_codes": true,
        }));
        let pairs: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| pairs.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        assert_eq!(get("mode"), Some("payment"));
        assert_eq!(get("metadata[order_id]"), Some("ord_1"));
        assert_eq!(get("metadata[note]"), None, "nulls are left out");
        assert_eq!(get("line_items[0][quantity]"), Some("2"));
        assert_eq!(get("line_items[0][price_data][unit_amount]"), Some("2500"));
        assert_eq!(
            get("line_items[0][price_data][product_data][name]"),
            Some("Poster & frame")
        );
        assert_eq!(get("allow_promotion_codes"), Some("true"));
    }
}
