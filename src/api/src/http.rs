//! A framework-free HTTP model: the Workers translate `worker::Request` into [`Request`]
//! and [`Response`] back, so every handler runs (and is tested) natively too.

use lading_core::AppError;
use lading_core::db::DbError;
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

impl Method {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }
}

/// Largest request body any JSON route accepts.
pub const MAX_JSON_BODY: usize = 1 << 20;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub request_id: String,
}

impl Request {
    pub fn new(method: Method, path_and_query: &str) -> Self {
        let (path, q) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        Request {
            method,
            path: path.to_owned(),
            query: parse_query(q),
            headers: Vec::new(),
            body: Vec::new(),
            request_id: "req_test".into(),
        }
    }
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }
    #[must_use]
    pub fn json_body(mut self, v: &serde_json::Value) -> Self {
        self.headers
            .push(("content-type".into(), "application/json".into()));
        self.body = serde_json::to_vec(v).unwrap_or_default();
        self
    }
    pub fn get_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The headers a storefront caller presents (store key, customer JWT, cart and order
    /// tokens).
    pub fn storefront_credentials(&self) -> lading_core::auth::StorefrontCredentials<'_> {
        lading_core::auth::StorefrontCredentials {
            publishable_key: self.get_header("x-publishable-api-key"),
            authorization: self.get_header("authorization"),
            cart_token: self.get_header("x-cart-token"),
            order_token: self.get_header(lading_core::orders::access::ORDER_TOKEN_HEADER),
        }
    }
    /// The headers an admin caller presents (key; store for the bootstrap key).
    pub fn admin_credentials(&self) -> lading_core::auth::AdminCredentials<'_> {
        lading_core::auth::AdminCredentials {
            authorization: self.get_header("authorization"),
            store_id: self.get_header("x-store-id"),
        }
    }
    /// The raw body as an uploaded file, with the type it declares.
    pub fn upload(&self) -> lading_core::files::Upload<'_> {
        lading_core::files::Upload {
            content_type: self.get_header("content-type"),
            bytes: &self.body,
        }
    }
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Decodes a JSON body that may be left out (an empty body is the default input).
    ///
    /// # Errors
    /// As [`Request::json`] when a body was sent.
    pub fn json_or_default<T: DeserializeOwned + Default>(&self) -> Result<T, Problem> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            Ok(T::default())
        } else {
            self.json()
        }
    }

    /// Decodes a JSON body: always one object (serde would otherwise read an array into a
    /// struct field by field).
    ///
    /// # Errors
    /// 415 when the content type is not JSON, 413 when too large, 400 when the JSON is
    /// malformed, 422 when it is not an object or does not fit the expected shape.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Problem> {
        let ct = self.get_header("content-type").unwrap_or("");
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime != "application/json"
            && !(mime.starts_with("application/") && mime.ends_with("+json"))
        {
            return Err(
                Problem::new(415, "unsupported_media_type", "Unsupported media type")
                    .detail("Send the body as application/json."),
            );
        }
        if self.body.len() > MAX_JSON_BODY {
            return Err(Problem::new(413, "payload_too_large", "Payload too large")
                .detail(format!("The body may have at most {MAX_JSON_BODY} bytes.")));
        }
        let value: serde_json::Value = serde_json::from_slice(&self.body).map_err(|e| {
            Problem::new(400, "malformed_json", "Malformed JSON")
                .detail(format!("The body is not valid JSON: {e}."))
        })?;
        if !value.is_object() {
            return Err(Problem::new(422, "validation_failed", "Validation failed")
                .detail("The body must be a JSON object."));
        }
        let mut value = value;
        integral_floats_as_integers(&mut value);
        serde_json::from_value(value).map_err(|e| {
            Problem::new(422, "validation_failed", "Validation failed")
                .detail(format!("The body does not fit: {e}."))
        })
    }
}

/// JSON has one number type: `48.0` is the integer 48 to JSON Schema and to a client that
/// computed it, so an integral float is read as that integer (`48.5` stays a float, and an
/// integer field refuses it).
fn integral_floats_as_integers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                // Within ±2^53 every integer is exact in an f64.
                if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 {
                    *v = Value::from(f as i64);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(o) => o.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Why a request failed on our side: logged by the Worker, never sent.
    pub log_cause: Option<String>,
    /// Stream this stored file as the body instead (the Worker reads it from R2 and hands
    /// the stream to the runtime: never buffered).
    pub file: Option<FileBody>,
    /// Stream this export as the body instead: the Worker pulls it page by page from D1
    /// while the client reads, so memory stays flat (natively: [`Response::drain_export`]).
    pub export: Option<Box<lading_core::admin::orders::CsvExport>>,
}

/// A file to stream from the bucket, with the client's `Range` header (if any).
#[derive(Debug, Clone, PartialEq)]
pub struct FileBody {
    pub key: String,
    pub filename: String,
    pub range: Option<String>,
}

impl Response {
    pub fn json<T: Serialize>(status: u16, body: &T) -> Self {
        Response {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).unwrap_or_default(),
            log_cause: None,
            file: None,
            export: None,
        }
    }
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.into(),
            log_cause: None,
            file: None,
            export: None,
        }
    }
    pub fn empty(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            log_cause: None,
            file: None,
            export: None,
        }
    }
    /// A stored file, streamed by the Worker (200, or 206 for a `Range`).
    pub fn file(file: lading_core::files::ServedFile, range: Option<&str>) -> Self {
        Response {
            file: Some(FileBody {
                key: file.key,
                filename: file.filename,
                range: range.map(str::to_owned),
            }),
            ..Response::empty(200)
        }
    }
    /// A CSV export, streamed by the Worker.
    pub fn export(export: lading_core::admin::orders::CsvExport, filename: &str) -> Self {
        Response {
            export: Some(Box::new(export)),
            ..Response::empty(200)
        }
        .with_header("content-type", "text/csv; charset=utf-8")
        .with_header(
            "content-disposition",
            &format!("attachment; filename=\"{filename}\""),
        )
    }
    /// The export read to its end into `body` (native tests and tools; the Worker streams).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn drain_export(
        mut self,
        db: &impl lading_core::db::Db,
    ) -> Result<Self, lading_core::AppError> {
        if let Some(mut e) = self.export.take() {
            while let Some(chunk) = e.next_chunk(db).await? {
                self.body.extend(chunk);
            }
        }
        Ok(self)
    }
    #[must_use]
    pub fn with_header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }
    pub fn get_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// One `Range: bytes=` spec (`a-b`, `a-`, `-n`) → inclusive `(start, end)` within `size`.
///
/// # Errors
/// Several ranges, a malformed spec, or one outside the file (answer 416).
pub fn parse_byte_range(header: &str, size: u64) -> Result<(u64, u64), ()> {
    let spec = header.trim().strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') || size == 0 {
        return Err(());
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| ())?;
            if n == 0 {
                return Err(());
            }
            (size - n.min(size), size - 1)
        }
        (a, "") => (a.parse().map_err(|_| ())?, size - 1),
        (a, b) => (
            a.parse().map_err(|_| ())?,
            b.parse::<u64>().map_err(|_| ())?.min(size - 1),
        ),
    };
    if start > end || start >= size {
        return Err(());
    }
    Ok((start, end))
}

#[cfg(test)]
mod range_tests {
    use super::parse_byte_range as r;

    #[test]
    fn byte_ranges_follow_rfc_9110() {
        assert_eq!(r("bytes=0-99", 1000), Ok((0, 99)));
        assert_eq!(r("bytes=900-", 1000), Ok((900, 999)));
        assert_eq!(r("bytes=-100", 1000), Ok((900, 999)));
        assert_eq!(r("bytes=-5000", 1000), Ok((0, 999)));
        assert_eq!(r("bytes=990-2000", 1000), Ok((990, 999)));
        for bad in [
            "bytes=1000-",
            "bytes=5-1",
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=x-",
            "bytes=-0",
        ] {
            assert_eq!(r(bad, 1000), Err(()), "{bad}");
        }
    }
}

/// An RFC 9457 problem. `type` is a stable snake_case code clients can switch on.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The records a 409 conflicts with (an existing address, refused order lines).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<lading_core::error::Conflicting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Seconds, for 429/503.
    #[serde(skip)]
    pub retry_after: Option<u32>,
    /// The methods a path accepts, for 405 (`Allow`).
    #[serde(skip)]
    pub allow: Option<String>,
    /// Logged, never sent.
    #[serde(skip)]
    pub cause: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(status: u16, kind: &str, title: &str) -> Self {
        Problem {
            kind: kind.into(),
            title: title.into(),
            status,
            detail: None,
            errors: Vec::new(),
            conflicts: Vec::new(),
            instance: None,
            retry_after: None,
            allow: None,
            cause: None,
        }
    }
    #[must_use]
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
    pub fn not_found(what: &str) -> Self {
        Problem::new(
            404,
            &format!("{}_not_found", what.replace(' ', "_")),
            "Not found",
        )
        .detail(format!("No {what} matches this request."))
    }
    pub fn route_not_found() -> Self {
        Problem::new(404, "route_not_found", "Not found").detail("No route matches this path.")
    }
    pub fn method_not_allowed(allowed: &[Method]) -> Self {
        let mut list: Vec<&str> = Vec::new();
        for m in allowed {
            // GET routes answer HEAD too.
            let also = (*m == Method::Get).then_some("HEAD");
            for name in std::iter::once(m.as_str()).chain(also) {
                if !list.contains(&name) {
                    list.push(name);
                }
            }
        }
        let mut p = Problem::new(405, "method_not_allowed", "Method not allowed")
            .detail(format!("This path accepts: {}.", list.join(", ")));
        p.allow = Some(list.join(", "));
        p
    }
    /// A method Lading does not implement anywhere (`QUERY`, `TRACE`, a typo): never
    /// answered as if it were another method.
    pub fn method_not_implemented(raw: &str) -> Self {
        let shown: String = raw
            .chars()
            .filter(char::is_ascii_graphic)
            .take(20)
            .collect();
        Problem::new(501, "method_not_implemented", "Not implemented").detail(format!(
            "Lading does not implement the method {shown}; use GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS."
        ))
    }
    pub fn into_response(mut self, request_id: &str) -> Response {
        self.instance = Some(request_id.to_owned());
        let mut r = Response::json(self.status, &self);
        r.headers[0].1 = "application/problem+json".into();
        if let Some(s) = self.retry_after {
            r.headers.push(("retry-after".into(), s.to_string()));
        }
        if let Some(a) = self.allow.take() {
            r.headers.push(("allow".into(), a));
        }
        r.log_cause = self.cause;
        r
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Validation { field, message } => {
                let mut p = Problem::new(422, "validation_failed", "Validation failed")
                    .detail(format!("{field}: {message}"));
                p.errors.push(FieldError { field, message });
                p
            }
            AppError::NotFound(what) => Problem::not_found(what),
            AppError::Conflict { code, message } => {
                Problem::new(409, code, "Conflict").detail(message)
            }
            AppError::ConflictWith {
                code,
                message,
                conflicts,
            } => {
                let mut p = Problem::new(409, code, "Conflict").detail(message);
                p.conflicts = conflicts;
                p
            }
            AppError::Unauthenticated { code, message } => {
                Problem::new(401, code, "Unauthenticated").detail(message)
            }
            AppError::Forbidden(m) => Problem::new(403, "forbidden", "Forbidden").detail(m),
            AppError::Upstream(m) => {
                let mut p = Problem::new(502, "upstream_unavailable", "Upstream unavailable")
                    .detail("A service Lading depends on failed; try again.");
                p.cause = Some(m);
                p
            }
            AppError::Malformed { code, message } => {
                Problem::new(400, code, "Bad request").detail(message)
            }
            AppError::UnsupportedType(m) => {
                Problem::new(415, "unsupported_media_type", "Unsupported media type").detail(m)
            }
            AppError::TooLarge(m) => {
                Problem::new(413, "payload_too_large", "Payload too large").detail(m)
            }
            AppError::RateLimited(m) => {
                let mut p = Problem::new(429, "rate_limited", "Too many requests").detail(m);
                p.retry_after = Some(3600);
                p
            }
            AppError::Gone(m) => Problem::new(410, "gone", "Gone").detail(m),
            AppError::Unavailable { code, message } => {
                let mut p = Problem::new(503, code, "Service unavailable").detail(message);
                p.retry_after = Some(5);
                p
            }
            AppError::Storage(DbError::Unique(m)) => {
                let mut p = Problem::new(409, "conflict", "Conflict")
                    .detail("This conflicts with an existing record.");
                p.cause = Some(m);
                p
            }
            AppError::Storage(e) => {
                let mut p = Problem::new(503, "storage_unavailable", "Service unavailable")
                    .detail("Storage failed; try again.");
                p.retry_after = Some(1);
                p.cause = Some(e.to_string());
                p
            }
        }
    }
}

impl From<DbError> for Problem {
    fn from(e: DbError) -> Self {
        AppError::Storage(e).into()
    }
}

/// Who may call a route, as the handler enforces it and the OpenAPI document says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, the document itself).
    Public,
    /// The URL carries its own credential (signed links, download tokens).
    Signed,
    /// A storefront's publishable key.
    Publishable,
    /// A publishable key and a customer's bearer JWT.
    Customer,
    /// A publishable key and a customer JWT or a guest's cart token.
    CustomerOrCart,
    /// A publishable key and a customer JWT, a cart token or an order token.
    OrderReader,
    /// Stripe's `Stripe-Signature` over the raw body.
    StripeSignature,
    /// A provider's shared secret (URL or signature header).
    ProviderSecret,
    /// A courier adapter's `Lading-Courier-Signature` over the raw body.
    CourierSignature,
    /// The platform's bootstrap key only.
    Bootstrap,
    /// An admin key with at least this role.
    Admin(lading_core::domain::Role),
}

impl Access {
    /// The least admin role the route needs (`None` for every other kind of access).
    pub fn role(self) -> Option<lading_core::domain::Role> {
        match self {
            Access::Admin(r) => Some(r),
            _ => None,
        }
    }
}

/// What the audit log records for a route (admin API): reads record nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audit {
    Read,
    Change {
        /// `noun.verb`, e.g. `product.update`.
        action: &'static str,
        /// The target's type and the path parameter naming it; a creation names its new
        /// row from the answer instead.
        target: Option<(&'static str, &'static str)>,
        /// Keep the request body in the row (never for bodies holding secrets: their
        /// field names only).
        keep_body: bool,
    },
}

/// An audited change whose body the log keeps, and whose target is a path parameter.
pub const fn change(action: &'static str, target: &'static str, param: &'static str) -> Audit {
    Audit::Change {
        action,
        target: Some((target, param)),
        keep_body: true,
    }
}

/// An audited creation (the new row is named by the answer's `id`).
pub const fn creation(action: &'static str, keep_body: bool) -> Audit {
    Audit::Change {
        action,
        target: None,
        keep_body,
    }
}

/// One route, declared once: the router, the role check, the audit row and the OpenAPI
/// operation all read it. Declare tables with [`route_table!`].
#[derive(Debug, Clone, Copy)]
pub struct Route<R: Copy> {
    pub method: Method,
    /// A path with `{param}` segments.
    pub pattern: &'static str,
    pub id: R,
    pub access: Access,
    pub audit: Audit,
    pub summary: &'static str,
    /// Whether the route reads a JSON body (its schema comes from the handler's input).
    pub json_body: bool,
    /// Whether the body may be left out (an empty body is the default input).
    pub request_optional: bool,
    /// A raw (not JSON) body instead, in one of these content types (uploads).
    pub uploads: &'static [&'static str],
    /// The success answer's content type (`application/json` unless a file or export).
    pub content_type: &'static str,
    /// Every success status the route answers (the first is the usual one).
    pub statuses: &'static [u16],
    /// Query parameters the route reads: name and schema type.
    pub query: &'static [QueryParam],
}

/// A query parameter a route reads.
#[derive(Debug, Clone, Copy)]
pub struct QueryParam {
    pub name: &'static str,
    pub description: &'static str,
    /// JSON Schema for the value, as a JSON text (e.g. `{"type":"integer","minimum":1}`).
    pub schema: &'static str,
}

impl<R: Copy> Route<R> {
    /// A route with nothing declared but its method, path and operation: public, read-only,
    /// answering `200` with no JSON body. Tables override what differs.
    pub const fn base(method: Method, pattern: &'static str, id: R) -> Self {
        Route {
            method,
            pattern,
            id,
            access: Access::Public,
            audit: Audit::Read,
            summary: "",
            json_body: false,
            request_optional: false,
            uploads: &[],
            content_type: "application/json",
            statuses: &[200],
            query: &[],
        }
    }
}

/// A route's input, read from the request by the HTTP layer (the use case gets the
/// domain value, never the request).
pub trait FromRequest: Sized {
    /// # Errors
    /// The problem to answer when the request does not carry this input.
    fn from_request(req: &Request) -> Result<Self, Problem>;
    /// The request body's schema for the OpenAPI document (`None`: no JSON body).
    fn schema(_: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        None
    }
    /// Whether the body may be left out.
    const OPTIONAL: bool = false;
    /// Whether the route reads a JSON body.
    const JSON: bool = false;
}

/// No body is read (reads, and writes whose path says it all).
#[derive(Debug, Clone, Copy)]
pub struct NoBody;

impl FromRequest for NoBody {
    fn from_request(_: &Request) -> Result<Self, Problem> {
        Ok(NoBody)
    }
}

/// A JSON object body, required ([`Request::json`]).
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + schemars::JsonSchema> FromRequest for Json<T> {
    fn from_request(req: &Request) -> Result<Self, Problem> {
        req.json().map(Json)
    }
    const JSON: bool = true;
    fn schema(g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<T>())
    }
}

/// A JSON object body that may be left out: an empty body is `T::default()`.
#[derive(Debug, Clone)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default + schemars::JsonSchema> FromRequest for OptionalJson<T> {
    fn from_request(req: &Request) -> Result<Self, Problem> {
        req.json_or_default().map(OptionalJson)
    }
    fn schema(g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<T>())
    }
    const OPTIONAL: bool = true;
    const JSON: bool = true;
}

/// A file sent as the raw body (its content types are the route's `uploads`); the handler
/// reads it with [`Request::upload`].
#[derive(Debug, Clone, Copy)]
pub struct RawBody;

impl FromRequest for RawBody {
    fn from_request(_: &Request) -> Result<Self, Problem> {
        Ok(RawBody)
    }
}

/// A route's answer.
pub trait IntoResponse {
    fn into_response(self) -> Response;
    /// The success body's schema for the OpenAPI document (`None`: no JSON body).
    fn schema(_: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        None
    }
}

/// A JSON answer of type `T` with its status.
#[derive(Debug, Clone)]
pub struct Answer<T> {
    pub status: u16,
    pub body: T,
}

impl<T> Answer<T> {
    pub fn ok(body: T) -> Self {
        Answer { status: 200, body }
    }
    pub fn created(body: T) -> Self {
        Answer { status: 201, body }
    }
    /// 201 when the call made it, 200 when it already existed (a repeated checkout).
    pub fn created_if(created: bool, body: T) -> Self {
        Answer {
            status: if created { 201 } else { 200 },
            body,
        }
    }
}

impl<T: Serialize + schemars::JsonSchema> IntoResponse for Answer<T> {
    fn into_response(self) -> Response {
        Response::json(self.status, &self.body)
    }
    fn schema(g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        Some(g.subschema_for::<T>())
    }
}

/// 204, nothing to say.
#[derive(Debug, Clone, Copy)]
pub struct NoContent;

impl IntoResponse for NoContent {
    fn into_response(self) -> Response {
        Response::empty(204)
    }
}

/// Files, exports and documents: answered as built (the route declares the content type).
impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

/// A list of everything there is (no paging): `{ "data": [...] }`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "{T}List")]
pub struct List<T> {
    pub data: Vec<T>,
}

/// Declares an API's operations, its route table and the function that runs an operation,
/// at once: each entry names the operation, its method and path, its handler with the
/// input it reads and the answer it gives, and whatever else differs from [`Route::base`].
/// The handler's types are checked here: declaring `Json<NoteInput> -> Answer<NoteView>`
/// makes the handler take and return those, and the OpenAPI document describes them.
///
/// ```ignore
/// route_table! {
///     pub enum Op;
///     pub const ROUTES;
///     pub async fn run(Cx);
///     Healthz = Get "/healthz" => healthz(NoBody) -> Answer<Health> { summary: "Liveness" },
/// }
/// ```
#[macro_export]
macro_rules! route_table {
    (
        $(#[$meta:meta])* $vis:vis enum $op:ident;
        $tvis:vis const $table:ident;
        $rvis:vis async fn $run:ident($cx:ident);
        $( $name:ident = $method:ident $path:literal => $handler:ident($input:ty) -> $output:ty
            { $($field:ident : $value:expr),* $(,)? } ),* $(,)?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $op { $($name),* }

        $tvis const $table: &[$crate::http::Route<$op>] = &[
            $( $crate::http::Route {
                $($field: $value,)*
                json_body: <$input as $crate::http::FromRequest>::JSON,
                request_optional: <$input as $crate::http::FromRequest>::OPTIONAL,
                ..$crate::http::Route::base($crate::http::Method::$method, $path, $op::$name)
            } ),*
        ];

        /// Runs one operation: reads its input from the request, calls its handler, and
        /// answers what the handler returned.
        $rvis async fn $run<P: lading_core::ports::Platform>(
            cx: &$cx<'_, P>,
            op: $op,
        ) -> Result<$crate::http::Response, $crate::http::Problem> {
            match op {
                $( $op::$name => {
                    let input = <$input as $crate::http::FromRequest>::from_request(cx.req)?;
                    let answer: $output = $handler(cx, input).await?;
                    Ok($crate::http::IntoResponse::into_response(answer))
                } )*
            }
        }

        /// Each operation's request and answer schemas (for the OpenAPI generator): requests
        /// as they are read, answers as they are written.
        #[cfg(any(test, feature = "openapi"))]
        pub fn schemas(
            requests: &mut schemars::SchemaGenerator,
            answers: &mut schemars::SchemaGenerator,
        ) -> Vec<($op, Option<schemars::Schema>, Option<schemars::Schema>)> {
            vec![ $( (
                $op::$name,
                <$input as $crate::http::FromRequest>::schema(requests),
                <$output as $crate::http::IntoResponse>::schema(answers),
            ) ),* ]
        }
    };
}

/// Path parameters captured by a pattern.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    /// The parameters a pattern names, filled with `value` (the one id a UI form acts on).
    pub fn filled(pattern: &'static str, value: &str) -> Self {
        Params(
            pattern
                .split('/')
                .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(|name| (name, value.to_owned()))
                .collect(),
        )
    }
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

fn match_pattern(pattern: &'static str, path: &str) -> Option<Params> {
    let mut params = Vec::new();
    let mut ps = pattern.trim_matches('/').split('/');
    let mut xs = path
        .trim_end_matches('/')
        .trim_start_matches('/')
        .split('/');
    loop {
        match (ps.next(), xs.next()) {
            (None, None) => return Some(Params(params)),
            (Some(p), Some(x)) => {
                if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    if x.is_empty() {
                        return None;
                    }
                    params.push((name, percent_decode(x)));
                } else if p != x {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// Finds the route for a request, or the problem to answer (404 or 405).
///
/// # Errors
/// No pattern matches the path (404), or none with this method (405).
pub fn route<R: Copy>(
    routes: &'static [Route<R>],
    method: Method,
    path: &str,
) -> Result<(&'static Route<R>, Params), Problem> {
    let mut allowed = Vec::new();
    for r in routes {
        if let Some(p) = match_pattern(r.pattern, path) {
            if r.method == method || (method == Method::Head && r.method == Method::Get) {
                return Ok((r, p));
            }
            allowed.push(r.method);
        }
    }
    if allowed.is_empty() {
        Err(Problem::route_not_found())
    } else {
        Err(Problem::method_not_allowed(&allowed))
    }
}

/// The methods routes of `routes` answer at `path` (for a 405's `Allow` across tables).
pub fn allowed_methods<R: Copy>(routes: &'static [Route<R>], path: &str) -> Vec<Method> {
    routes
        .iter()
        .filter(|r| match_pattern(r.pattern, path).is_some())
        .map(|r| r.method)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_capture_parameters() {
        let p = match_pattern(
            "/v1/carts/current/items/{item_id}",
            "/v1/carts/current/items/ci_1",
        )
        .unwrap();
        assert_eq!(p.get("item_id"), "ci_1");
        assert!(
            match_pattern(
                "/v1/carts/current/items/{item_id}",
                "/v1/carts/current/items/"
            )
            .is_none()
        );
        assert!(match_pattern("/v1/products", "/v1/products/x").is_none());
    }

    #[test]
    fn wrong_method_is_405_and_unknown_path_404() {
        const ROUTES: &[Route<i32>] = &[Route::base(Method::Get, "/a", 1)];
        let routes = ROUTES;
        let refused = route(routes, Method::Post, "/a").unwrap_err();
        assert_eq!(refused.status, 405);
        let answer = refused.into_response("req_1");
        assert_eq!(answer.get_header("allow"), Some("GET, HEAD"));
        assert_eq!(route(routes, Method::Get, "/b").unwrap_err().status, 404);
        assert_eq!(route(routes, Method::Get, "/a/").unwrap().0.id, 1);
    }

    #[test]
    fn json_bodies_are_checked_in_order() {
        #[derive(serde::Deserialize, Debug)]
        struct B {
            #[allow(dead_code)]
            n: i64,
        }
        let r = Request::new(Method::Post, "/x");
        assert_eq!(r.json::<B>().unwrap_err().status, 415);
        let mut r = r.header("content-type", "application/json; charset=utf-8");
        r.body = b"{nope".to_vec();
        assert_eq!(r.json::<B>().unwrap_err().kind, "malformed_json");
        r.body = br#"{"n":"x"}"#.to_vec();
        assert_eq!(r.json::<B>().unwrap_err().status, 422);
        r.body = br#"{"n":1}"#.to_vec();
        assert!(r.json::<B>().is_ok());
        // Serde reads a sequence into a struct by position; a body must be an object.
        for not_object in [&br#"[1]"#[..], b"1", br#""n""#, b"null", b"true"] {
            r.body = not_object.to_vec();
            let p = r.json::<B>().unwrap_err();
            assert_eq!(
                (p.status, p.detail.as_deref()),
                (422, Some("The body must be a JSON object."))
            );
        }
    }

    #[test]
    fn query_strings_are_decoded() {
        assert_eq!(
            parse_query("a=1&b=x%20y+z"),
            vec![("a".into(), "1".into()), ("b".into(), "x y z".into())]
        );
    }
}
