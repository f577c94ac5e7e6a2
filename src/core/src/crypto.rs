//! The primitives Lading signs, compares and seals with, each from a maintained crate:
//! HMAC-SHA256 (`hmac`), constant-time equality (`subtle`) and an AEAD
//! (`chacha20poly1305`) for the responses the idempotency table keeps.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Bytes of the nonce that [`seal`] puts in front of its ciphertext.
pub const NONCE_LEN: usize = 12;

fn mac_of(key: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
    // HMAC is defined for keys of every length (long ones are hashed first).
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        m.update(p);
    }
    m
}

/// HMAC-SHA256 of the concatenated `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    mac_of(key, parts).finalize().into_bytes().into()
}

/// Whether `tag` is the HMAC-SHA256 of `parts`, compared in constant time.
pub fn hmac_sha256_verify(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    mac_of(key, parts).verify_slice(tag).is_ok()
}

/// Constant-time equality for secrets (the length is not secret).
pub fn secure_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// `nonce ‖ ChaCha20-Poly1305(key, nonce, aad, plain)`. The nonce must never repeat under
/// one key: callers draw it at random.
pub fn seal(key: &[u8; 32], nonce: [u8; NONCE_LEN], aad: &[u8], plain: &[u8]) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(key.into());
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), Payload { msg: plain, aad })
        .expect("ChaCha20-Poly1305 seals any message under 256 GiB");
    [nonce.as_slice(), &sealed].concat()
}

/// The plain text of a [`seal`]ed message, or `None` when the key, the associated data or
/// a single byte differs.
pub fn open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    let (nonce, body) = sealed.split_at_checked(NONCE_LEN)?;
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    ChaCha20Poly1305::new(key.into())
        .decrypt(&Nonce::from(nonce), Payload { msg: body, aad })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_messages_open_only_with_the_same_key_and_context() {
        let key = hmac_sha256(b"k1", &[b"purpose"]);
        let other = hmac_sha256(b"k2", &[b"purpose"]);
        let sealed = seal(&key, [7; NONCE_LEN], b"row-a", b"{\"cart_token\":\"ct_1\"}");
        assert!(!sealed.windows(4).any(|w| w == b"ct_1"));
        assert_eq!(
            open(&key, b"row-a", &sealed).unwrap(),
            b"{\"cart_token\":\"ct_1\"}"
        );
        assert!(open(&other, b"row-a", &sealed).is_none());
        assert!(open(&key, b"row-b", &sealed).is_none());
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(open(&key, b"row-a", &flipped).is_none());
        assert!(open(&key, b"row-a", &sealed[..5]).is_none());
    }

    #[test]
    fn macs_verify_and_compare_in_constant_time() {
        let tag = hmac_sha256(b"secret", &[b"a", b"b"]);
        assert_eq!(tag, hmac_sha256(b"secret", &[b"ab"]));
        assert!(hmac_sha256_verify(b"secret", &[b"ab"], &tag));
        assert!(!hmac_sha256_verify(b"secret", &[b"ac"], &tag));
        assert!(secure_eq(b"same", b"same"));
        assert!(!secure_eq(b"same", b"sama"));
        assert!(!secure_eq(b"same", b"same-longer"));
    }
}
