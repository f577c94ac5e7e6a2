//! What the core needs from the platform. No `Send` bounds: the Workers' bindings are
//! JavaScript objects and their futures are not `Send`.

use crate::db::Db;
use serde::{Deserialize, Serialize};

/// An outbound HTTP request (JWKS, later Stripe and the providers).
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    /// A shorter limit than [`OUTBOUND_TIMEOUT_MS`] (an automation scenario's own).
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct OutboundResponse {
    pub status: u16,
    /// Header names lowercased (only those a caller may need, e.g. `retry-after`).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl OutboundResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How long an outbound call may take before it counts as failed (a hung provider must not
/// hold a queue consumer).
pub const OUTBOUND_TIMEOUT_MS: u64 = 20_000;

/// Outbound HTTP.
///
/// Contract: MUST return `Err` only when no HTTP response was received (connection
/// refused, or no answer within [`OUTBOUND_TIMEOUT_MS`]); any HTTP status, 5xx included,
/// is an `Ok` response.
pub trait HttpClient {
    async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, String>;
}

/// Process-wide settings read from Worker variables and secrets.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Worker secret `ADMIN_BOOTSTRAP_KEY`: a platform superadmin that can create stores.
    pub bootstrap_admin_key: Option<String>,
    /// Worker variable `ENVIRONMENT` (`development`, `production`…).
    pub environment: String,
    /// Variable `STRIPE_API_BASE` (default `https://api.stripe.com`) and secret
    /// `STRIPE_SECRET_KEY`; without the key, checkout answers 503.
    pub stripe: Option<StripeConfig>,
    /// Secrets `STRIPE_WEBHOOK_SECRET` and, while rotating, `STRIPE_WEBHOOK_SECRET_PREVIOUS`.
    pub stripe_webhook_secrets: Vec<String>,
    /// Secrets `COURIER_WEBHOOK_SECRET` and, while rotating, `COURIER_WEBHOOK_SECRET_PREVIOUS`:
    /// what couriers' adapters sign their events with (`Lading-Courier-Signature`).
    pub courier_webhook_secrets: Vec<String>,
    /// Variable `COURIER_API_BASE`: the couriers' tracking APIs for those the scheduler
    /// polls (`{base}/{code}/tracking/{number}`; the simulator locally).
    pub courier_api_base: Option<String>,
    /// Secret `ORDER_TOKEN_SECRET`: signs guests' order-access tokens.
    pub order_token_secret: Option<String>,
    /// Variables `PRINTFUL_API_BASE`, `PRODIGI_API_BASE`, `GOOTEN_API_BASE`,
    /// `GELATO_API_BASE`: where each provider's API is (the simulator locally).
    pub provider_bases: ProviderBases,
    /// Variable `FILES_PUBLIC_BASE`: where the bucket's files are public (providers fetch
    /// print files from it), e.g. `https://files.example.com`.
    pub files_public_base: Option<String>,
    /// Variable `PUBLIC_API_BASE`: where the storefront API is public, e.g.
    /// `https://api.shop.example` — invoice emails link their pay page there (none without).
    pub public_api_base: Option<String>,
    /// Signs the admin web UI's session cookies and CSRF tokens (`ADMIN_SESSION_SECRET`,
    /// 32+ characters); without it the UI's sign-in explains what to set.
    pub admin_session_secret: Option<String>,
    /// Notification emails (Brevo-style API); `None` leaves them unsent (`skipped`).
    pub email: Option<EmailConfig>,
}

/// Where Stripe is and how to authenticate (Worker variable `STRIPE_API_BASE`, secret
/// `STRIPE_SECRET_KEY`).
#[derive(Debug, Clone)]
pub struct StripeConfig {
    pub api_base: String,
    pub secret_key: String,
}

/// Where emails go: Brevo's API (or the simulator), with the sender's address.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailConfig {
    pub api_base: String,
    pub api_key: String,
    pub sender_email: String,
}

/// The asymmetric algorithms the platform must verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA on P-256 with SHA-256; the signature is `r || s` (64 bytes), as JWS has it.
    Es256,
}

/// A public key from a JWKS, reduced to what verification needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Jwk {
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ProviderBases {
    pub printful: String,
    pub prodigi: String,
    pub gooten: String,
    pub gelato: String,
}

impl Default for ProviderBases {
    fn default() -> Self {
        ProviderBases {
            printful: "https://api.printful.com".into(),
            prodigi: "https://api.prodigi.com/v4.0".into(),
            gooten: "https://api.print.io".into(),
            gelato: "https://order.gelatoapis.com".into(),
        }
    }
}

/// Everything a use case may touch outside its arguments.
///
/// Contracts: `now_ms` MUST be milliseconds since the Unix epoch; `fill_random` MUST use a
/// cryptographically secure generator (tokens and keys come from it).
pub trait Platform {
    type Db: Db;
    type Http: HttpClient;
    fn db(&self) -> &Self::Db;
    fn http(&self) -> &Self::Http;
    fn now_ms(&self) -> i64;
    fn fill_random(&self, buf: &mut [u8]);
    fn settings(&self) -> &Settings;
    /// Sends a message to the `lading-fulfillment` queue.
    ///
    /// Contract: `Ok` only once the queue accepted the message.
    async fn enqueue(&self, body: &serde_json::Value) -> Result<(), String>;
    /// Waits (spacing calls to a rate-limited provider).
    async fn sleep_ms(&self, ms: u64);
    /// Stores a file in the `lading-files` bucket.
    ///
    /// Contract: `Ok` only once the object is stored.
    async fn put_file(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<(), String>;
    /// Verifies an RS256 or ES256 signature with a JWKS key.
    ///
    /// Contract: MUST return `Ok(false)` for a signature that does not verify and `Err` only
    /// for a key the platform cannot import.
    async fn verify_signature(
        &self,
        alg: SigAlg,
        key: &Jwk,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, String>;
}

/// Helpers derived from the [`Platform`] primitives.
pub trait PlatformExt: Platform {
    /// A new id: `prefix_` + a ULID (time-ordered, so keyset pagination by id follows
    /// creation order).
    fn new_id(&self, prefix: &str) -> String {
        let mut b = [0u8; 16];
        self.fill_random(&mut b);
        let rand = u128::from_be_bytes(b) & ((1u128 << 80) - 1);
        let ulid = ulid::Ulid::from_parts(self.now_ms().max(0) as u64, rand);
        format!("{prefix}_{}", ulid.to_string().to_lowercase())
    }
    /// A secret token with `bytes * 8` random bits, base32 (Crockford, lowercase).
    fn new_token(&self, prefix: &str, bytes: usize) -> String {
        let mut b = vec![0u8; bytes];
        self.fill_random(&mut b);
        format!("{prefix}{}", crate::domain::crockford(&b).to_lowercase())
    }
}
impl<P: Platform + ?Sized> PlatformExt for P {}
