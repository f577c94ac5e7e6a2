//! Standard Webhooks signatures (<https://www.standardwebhooks.com>), which subscribers
//! verify with existing libraries (`standardwebhooks` on npm and PyPI, Svix's): headers
//! `webhook-id` (the same on every retry of one message), `webhook-timestamp` (unix
//! seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
//! keyed with the base64-decoded part of a `whsec_` secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret: `whsec_` and 24 random bytes in base64.
pub fn new_secret(random: &[u8; 24]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(random))
}

/// The key a secret names (its base64 after `whsec_`; a secret that is not base64 is used
/// as its bytes, as the reference libraries do).
fn key(secret: &str) -> Vec<u8> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    STANDARD
        .decode(b64)
        .unwrap_or_else(|_| b64.as_bytes().to_vec())
}

/// The `webhook-signature` value for one message.
pub fn sign(secret: &str, id: &str, timestamp_s: i64, body: &[u8]) -> String {
    let mac = crate::crypto::hmac_sha256(
        &key(secret),
        &[
            id.as_bytes(),
            b".",
            timestamp_s.to_string().as_bytes(),
            b".",
            body,
        ],
    );
    format!("v1,{}", STANDARD.encode(mac))
}

/// The three headers of a signed message.
pub fn headers(secret: &str, id: &str, timestamp_s: i64, body: &[u8]) -> Vec<(String, String)> {
    vec![
        ("webhook-id".into(), id.into()),
        ("webhook-timestamp".into(), timestamp_s.to_string()),
        (
            "webhook-signature".into(),
            sign(secret, id, timestamp_s, body),
        ),
    ]
}

/// Whether any `v1` signature in a `webhook-signature` header matches (constant time).
pub fn verify(secret: &str, id: &str, timestamp_s: i64, body: &[u8], header: &str) -> bool {
    let want = sign(secret, id, timestamp_s, body);
    header
        .split(' ')
        .any(|s| crate::crypto::secure_eq(s.as_bytes(), want.as_bytes()))
}

/// What a secret looks like when shown again: its prefix and last four characters.
pub fn masked(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{SECRET_PREFIX}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's own example (standard-webhooks/libraries test vectors).
    #[test]
    fn signs_the_specifications_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        let h = "v1,bad v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        assert!(verify(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            body,
            h
        ));
        assert!(!verify(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_331,
            body,
            h
        ));
        assert_eq!(masked(secret), "whsec_…LaSw");
    }
}
