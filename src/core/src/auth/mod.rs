//! Who is calling: storefront publishable keys, customer JWTs, admin keys and roles.

mod caller;
pub mod jwt;

pub use caller::{
    AdminCaller, AdminCredentials, StorefrontCaller, StorefrontCredentials, admin_caller,
    customer_of, storefront_caller,
};

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256: how admin keys and cart tokens are kept at rest.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub use crate::crypto::secure_eq;

/// The bearer token of an `Authorization` header.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let h = header?.trim();
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
