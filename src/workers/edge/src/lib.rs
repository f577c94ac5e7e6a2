//! # Layout
//!
//! What every Lading Worker shares, so each Worker crate stays a thin shell:
//! - [`D1Db`]: the core's storage port on D1 (atomic `batch`, typed constraint errors).
//! - [`EdgePlatform`]: the core's platform port (clock, `crypto.getRandomValues`, `fetch`).
//! - [`serve`]: `worker::Request` → [`lading_api::http::Request`] → handler → `worker::Response`,
//!   with a request id on every response and one JSON log line per request.
//! - [`log`]: JSON log lines.

use lading_api::http::{self, Method};
use lading_core::auth::jwt::{Jwk, SigAlg};
use lading_core::db::{Db, DbError, Row, Stmt, StmtResult, Value};
use lading_core::payments::stripe_client::StripeConfig;
use lading_core::ports::{
    HttpClient, OUTBOUND_TIMEOUT_MS, OutboundRequest, OutboundResponse, Platform, PlatformExt,
    ProviderBases, Settings,
};
use serde_json::Value as Json;
use wasm_bindgen::JsValue;
use worker::{D1Database, Env};

/// Binding names, shared by every wrangler.toml.
pub const DB_BINDING: &str = "DB";

/// The core's storage port on D1; counts what each request costs (D1 bills and limits by
/// rows read and written, and every round trip is latency at the edge).
pub struct D1Db {
    db: D1Database,
    cost: std::cell::Cell<D1Cost>,
}

/// What a request, queue message or cron run cost in D1, from each result's `meta`.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct D1Cost {
    /// Calls to D1: one per statement run alone, one per batch.
    pub round_trips: u32,
    pub rows_read: u64,
    pub rows_written: u64,
}

fn db_err(e: worker::Error) -> DbError {
    DbError::from_message(&e.to_string())
}

impl D1Db {
    fn new(db: D1Database) -> Self {
        D1Db {
            db,
            cost: std::cell::Cell::default(),
        }
    }

    /// The cost so far, and counting starts again from zero.
    pub fn take_cost(&self) -> D1Cost {
        self.cost.take()
    }

    fn count(&self, results: &[&worker::D1Result]) {
        let mut c = self.cost.get();
        c.round_trips += 1;
        for meta in results.iter().filter_map(|r| r.meta().ok().flatten()) {
            c.rows_read += meta.rows_read.unwrap_or(0) as u64;
            c.rows_written += meta.rows_written.unwrap_or(0) as u64;
        }
        self.cost.set(c);
    }

    fn prepare(&self, stmt: &Stmt) -> Result<worker::D1PreparedStatement, DbError> {
        let params: Vec<JsValue> = stmt
            .params
            .iter()
            .map(|p| match p {
                Value::Null => JsValue::NULL,
                // D1 numbers are JS numbers; ids are TEXT and amounts stay far below 2^53.
                Value::Int(i) => JsValue::from_f64(*i as f64),
                Value::Real(f) => JsValue::from_f64(*f),
                Value::Text(s) => JsValue::from_str(s),
            })
            .collect();
        self.db
            .prepare(stmt.sql.clone())
            .bind(&params)
            .map_err(db_err)
    }
}

/// JS numbers arrive as floats; integral ones become JSON integers (the port's contract).
fn normalize(v: Json) -> Json {
    match v {
        Json::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or_default();
            if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
                Json::from(f as i64)
            } else {
                Json::Number(n)
            }
        }
        other => other,
    }
}

fn rows_of(res: &worker::D1Result) -> Result<Vec<Row>, DbError> {
    let rows: Vec<Row> = res.results().map_err(|e| DbError::Decode(e.to_string()))?;
    Ok(rows
        .into_iter()
        .map(|r| r.into_iter().map(|(k, v)| (k, normalize(v))).collect())
        .collect())
}

fn changes(r: &worker::D1Result) -> u64 {
    r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0) as u64
}

impl Db for D1Db {
    async fn all(&self, stmt: Stmt) -> Result<Vec<Row>, DbError> {
        let res = self.prepare(&stmt)?.all().await.map_err(db_err)?;
        self.count(&[&res]);
        rows_of(&res)
    }

    async fn run(&self, stmt: Stmt) -> Result<u64, DbError> {
        let res = self.prepare(&stmt)?.run().await.map_err(db_err)?;
        self.count(&[&res]);
        Ok(changes(&res))
    }

    async fn batch(&self, stmts: Vec<Stmt>) -> Result<Vec<StmtResult>, DbError> {
        let prepared = stmts
            .iter()
            .map(|s| self.prepare(s))
            .collect::<Result<Vec<_>, _>>()?;
        let res = self.db.batch(prepared).await.map_err(db_err)?;
        self.count(&res.iter().collect::<Vec<_>>());
        res.iter()
            .map(|r| {
                Ok(StmtResult {
                    changes: changes(r),
                    rows: rows_of(r)?,
                })
            })
            .collect()
    }
}

/// Outbound HTTP through the Workers `fetch`.
pub struct FetchHttp;

impl HttpClient for FetchHttp {
    async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, String> {
        let mut init = worker::RequestInit::new();
        init.with_method(worker::Method::from(req.method.to_owned()));
        let headers = worker::Headers::new();
        for (k, v) in &req.headers {
            headers.set(k, v).map_err(|e| e.to_string())?;
        }
        init.with_headers(headers);
        if let Some(b) = req.body {
            init.with_body(Some(js_sys::Uint8Array::from(b.as_slice()).into()));
        }
        let request = worker::Request::new_with_init(&req.url, &init).map_err(|e| e.to_string())?;
        let call = async {
            let mut resp = worker::Fetch::Request(request)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let body = resp.bytes().await.map_err(|e| e.to_string())?;
            let headers = ["retry-after"]
                .into_iter()
                .filter_map(|h| {
                    resp.headers()
                        .get(h)
                        .ok()
                        .flatten()
                        .map(|v| (h.to_owned(), v))
                })
                .collect();
            Ok(OutboundResponse {
                status: resp.status_code(),
                headers,
                body,
            })
        };
        let limit = req
            .timeout_ms
            .unwrap_or(OUTBOUND_TIMEOUT_MS)
            .min(OUTBOUND_TIMEOUT_MS);
        let timeout = worker::Delay::from(std::time::Duration::from_millis(limit));
        futures_util::pin_mut!(call);
        match futures_util::future::select(call, timeout).await {
            futures_util::future::Either::Left((result, _)) => result,
            futures_util::future::Either::Right(_) => {
                Err(format!("no answer from {} within {limit} ms", req.url))
            }
        }
    }
}

/// Binding of the `lading-fulfillment` queue producer.
pub const QUEUE_BINDING: &str = "FULFILLMENT_QUEUE";

pub struct EdgePlatform {
    db: D1Db,
    http: FetchHttp,
    queue: Option<worker::Queue>,
    files: Option<worker::Bucket>,
    settings: Settings,
}

impl EdgePlatform {
    /// Reads bindings and settings from the Worker's environment.
    ///
    /// # Errors
    /// A missing D1 binding (a wrangler.toml mistake).
    pub fn from_env(env: &Env) -> worker::Result<Self> {
        let var = |name: &str| {
            env.var(name)
                .ok()
                .map(|v| v.to_string())
                .or_else(|| env.secret(name).ok().map(|v| v.to_string()))
        };
        let base =
            |name: &str, default: String| var(name).filter(|b| !b.is_empty()).unwrap_or(default);
        let d = ProviderBases::default();
        Ok(EdgePlatform {
            db: D1Db::new(env.d1(DB_BINDING)?),
            http: FetchHttp,
            queue: env.queue(QUEUE_BINDING).ok(),
            files: env.bucket(FILES_BINDING).ok(),
            settings: Settings {
                bootstrap_admin_key: var("ADMIN_BOOTSTRAP_KEY").filter(|k| !k.is_empty()),
                environment: var("ENVIRONMENT").unwrap_or_else(|| "production".into()),
                stripe: var("STRIPE_SECRET_KEY")
                    .filter(|k| !k.is_empty())
                    .map(|secret_key| StripeConfig {
                        api_base: var("STRIPE_API_BASE")
                            .filter(|b| !b.is_empty())
                            .unwrap_or_else(|| "https://api.stripe.com".into()),
                        secret_key,
                    }),
                stripe_webhook_secrets: ["STRIPE_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET_PREVIOUS"]
                    .into_iter()
                    .filter_map(var)
                    .filter(|s| !s.is_empty())
                    .collect(),
                courier_webhook_secrets: [
                    "COURIER_WEBHOOK_SECRET",
                    "COURIER_WEBHOOK_SECRET_PREVIOUS",
                ]
                .into_iter()
                .filter_map(var)
                .filter(|s| !s.is_empty())
                .collect(),
                courier_api_base: var("COURIER_API_BASE")
                    .map(|b| b.trim_end_matches('/').to_owned())
                    .filter(|b| !b.is_empty()),
                order_token_secret: var("ORDER_TOKEN_SECRET").filter(|s| s.len() >= 32),
                admin_session_secret: var("ADMIN_SESSION_SECRET").filter(|s| s.len() >= 32),
                files_public_base: var("FILES_PUBLIC_BASE").filter(|b| !b.is_empty()),
                public_api_base: var("PUBLIC_API_BASE")
                    .map(|b| b.trim_end_matches('/').to_owned())
                    .filter(|b| !b.is_empty()),
                email: var("EMAIL_API_KEY")
                    .filter(|k| !k.is_empty())
                    .map(|api_key| lading_core::notifications::EmailConfig {
                        api_base: base("EMAIL_API_BASE", "https://api.brevo.com".into()),
                        api_key,
                        sender_email: var("EMAIL_FROM")
                            .filter(|f| f.contains('@'))
                            .unwrap_or_else(|| "orders@example.com".into()),
                    }),
                provider_bases: ProviderBases {
                    printful: base("PRINTFUL_API_BASE", d.printful),
                    prodigi: base("PRODIGI_API_BASE", d.prodigi),
                    gooten: base("GOOTEN_API_BASE", d.gooten),
                    gelato: base("GELATO_API_BASE", d.gelato),
                },
            },
        })
    }
}

impl EdgePlatform {
    /// What D1 cost since the last call (see [`D1Db::take_cost`]).
    pub fn take_d1_cost(&self) -> D1Cost {
        self.db.take_cost()
    }
}

impl Platform for EdgePlatform {
    type Db = D1Db;
    type Http = FetchHttp;
    fn db(&self) -> &D1Db {
        &self.db
    }
    fn http(&self) -> &FetchHttp {
        &self.http
    }
    fn now_ms(&self) -> i64 {
        js_sys::Date::now() as i64
    }
    fn fill_random(&self, buf: &mut [u8]) {
        // crypto.getRandomValues; failing here means the runtime is broken.
        getrandom::fill(buf).expect("crypto.getRandomValues is available in Workers");
    }
    fn settings(&self) -> &Settings {
        &self.settings
    }

    async fn put_file(&self, key: &str, bytes: &[u8], content_type: &str) -> Result<(), String> {
        let bucket = self
            .files
            .as_ref()
            .ok_or_else(|| format!("no {FILES_BINDING} binding"))?;
        bucket
            .put(key, bytes.to_vec())
            .http_metadata(worker::HttpMetadata {
                content_type: Some(content_type.to_owned()),
                ..Default::default()
            })
            .execute()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn sleep_ms(&self, ms: u64) {
        worker::Delay::from(std::time::Duration::from_millis(ms)).await;
    }

    async fn enqueue(&self, body: &Json) -> Result<(), String> {
        let q = self
            .queue
            .as_ref()
            .ok_or_else(|| format!("no {QUEUE_BINDING} binding"))?;
        // Through JSON.parse: a plain JS object (serde_wasm_bindgen would send maps as JS
        // `Map`s, which arrive without their fields).
        let js = js_sys::JSON::parse(&body.to_string()).map_err(|e| format!("{e:?}"))?;
        let sent = q
            .send_raw(
                worker::RawMessageBuilder::new(js)
                    .build_with_content_type(worker::QueueContentType::Json),
            )
            .await
            .map_err(|e| e.to_string());
        // With the consumer's `message` lines (which carry the same body), the log tells
        // when the queue holds nothing more for a given order.
        if sent.is_ok() {
            log(
                "info",
                "queue",
                None,
                "enqueued",
                serde_json::json!({ "body": body }),
            );
        }
        sent
    }

    async fn verify_signature(
        &self,
        alg: SigAlg,
        key: &Jwk,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, String> {
        web_crypto_verify(alg, key, message, signature)
            .await
            .map_err(|e| format!("{e:?}"))
    }
}

/// RS256/ES256 through the runtime's Web Crypto (`crypto.subtle`): no crypto code in the
/// Worker's wasm.
async fn web_crypto_verify(
    alg: SigAlg,
    key: &Jwk,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, JsValue> {
    use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
    use wasm_bindgen::JsCast;
    let set =
        |o: &Object, k: &str, v: &JsValue| Reflect::set(o, &JsValue::from_str(k), v).map(|_| ());
    let subtle = Reflect::get(
        &Reflect::get(&js_sys::global(), &"crypto".into())?,
        &"subtle".into(),
    )?;
    let call = |name: &str, args: Array| -> Result<Promise, JsValue> {
        let f: Function = Reflect::get(&subtle, &JsValue::from_str(name))?.dyn_into()?;
        f.apply(&subtle, &args)?.dyn_into::<Promise>()
    };
    // Only the fields the import needs: stray members (key_ops, use) must not refuse it.
    let jwk = Object::new();
    set(&jwk, "kty", &JsValue::from_str(&key.kty))?;
    let (import_alg, verify_alg) = (Object::new(), Object::new());
    match alg {
        SigAlg::Rs256 => {
            set(
                &jwk,
                "n",
                &JsValue::from_str(key.n.as_deref().unwrap_or("")),
            )?;
            set(
                &jwk,
                "e",
                &JsValue::from_str(key.e.as_deref().unwrap_or("")),
            )?;
            set(&import_alg, "name", &"RSASSA-PKCS1-v1_5".into())?;
            set(&import_alg, "hash", &"SHA-256".into())?;
            set(&verify_alg, "name", &"RSASSA-PKCS1-v1_5".into())?;
        }
        SigAlg::Es256 => {
            set(&jwk, "crv", &"P-256".into())?;
            set(
                &jwk,
                "x",
                &JsValue::from_str(key.x.as_deref().unwrap_or("")),
            )?;
            set(
                &jwk,
                "y",
                &JsValue::from_str(key.y.as_deref().unwrap_or("")),
            )?;
            set(&import_alg, "name", &"ECDSA".into())?;
            set(&import_alg, "namedCurve", &"P-256".into())?;
            set(&verify_alg, "name", &"ECDSA".into())?;
            set(&verify_alg, "hash", &"SHA-256".into())?;
        }
    }
    let usages = Array::of1(&"verify".into());
    let import = call(
        "importKey",
        Array::of5(&"jwk".into(), &jwk, &import_alg, &JsValue::FALSE, &usages),
    )?;
    let crypto_key = wasm_bindgen_futures::JsFuture::from(import).await?;
    let verify = call(
        "verify",
        Array::of4(
            &verify_alg,
            &crypto_key,
            &Uint8Array::from(signature),
            &Uint8Array::from(message),
        ),
    )?;
    Ok(wasm_bindgen_futures::JsFuture::from(verify)
        .await?
        .as_bool()
        .unwrap_or(false))
}

/// One JSON log line.
pub fn log(level: &str, worker: &str, request_id: Option<&str>, msg: &str, fields: Json) {
    let mut line = serde_json::json!({
        "ts": lading_core::time_fmt::rfc3339(js_sys::Date::now() as i64),
        "level": level,
        "worker": worker,
        "msg": msg,
    });
    if let Some(id) = request_id {
        line["request_id"] = Json::from(id);
    }
    if let (Json::Object(l), Json::Object(f)) = (&mut line, fields) {
        l.extend(f);
    }
    worker::console_log!("{}", line);
}

/// A request id: the caller's `x-request-id` if it looks sane, else a new one.
fn request_id(p: &EdgePlatform, req: &worker::Request) -> String {
    req.headers()
        .get("x-request-id")
        .ok()
        .flatten()
        .filter(|v| !v.is_empty() && v.len() <= 100 && v.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| p.new_id("req"))
}

/// Serves one fetch event through a core handler.
pub async fn serve<F>(
    worker_name: &str,
    mut req: worker::Request,
    env: &Env,
    handler: F,
) -> worker::Result<worker::Response>
where
    F: AsyncFnOnce(&EdgePlatform, http::Request) -> http::Response,
{
    console_error_panic_hook::set_once();
    let started = js_sys::Date::now();
    let p = EdgePlatform::from_env(env)?;
    let rid = request_id(&p, &req);
    // Path and query from the runtime's (already normalised) URL: parsing it again with
    // the `url` crate would link its IDNA tables into every Worker (about 30 KB gzip).
    let path = req.path();
    let raw_url = req.inner().url();
    let query = query_of(&raw_url);
    // The raw method: `worker::Method` maps every method it does not know to GET.
    let raw_method = req.inner().method();
    let core_req = match Method::parse(&raw_method) {
        Some(m) => {
            let body = if matches!(m, Method::Get | Method::Head) {
                Ok(Vec::new())
            } else {
                req.bytes().await
            };
            // A body that could not be read is never handled as an empty one.
            body.map(|body| {
                let mut r = http::Request::new(m, &path);
                r.query = http::parse_query(query);
                r.headers = req
                    .headers()
                    .entries()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect();
                r.body = body;
                r.request_id = rid.clone();
                r
            })
            .map_err(|e| {
                let mut pr = http::Problem::new(400, "unreadable_body", "Unreadable body")
                    .detail("The request body could not be read to its end; send it again.");
                pr.cause = Some(e.to_string());
                pr
            })
        }
        None => Err(http::Problem::method_not_implemented(&raw_method)),
    };
    let resp = match core_req {
        Ok(r) => handler(&p, r).await,
        Err(pr) => pr.into_response(&rid).with_header("x-request-id", &rid),
    };
    let level = if resp.status >= 500 { "error" } else { "info" };
    let mut fields = serde_json::json!({
        "method": raw_method.chars().take(20).collect::<String>(),
        "path": loggable_path(&path),
        "status": resp.status,
        "duration_ms": js_sys::Date::now() - started,
        "d1": p.take_d1_cost(),
    });
    if let Some(c) = &resp.log_cause {
        fields["cause"] = Json::from(c.as_str());
    }
    log(level, worker_name, Some(&rid), "request", fields);
    match (&resp.file, resp.export.is_some()) {
        (Some(f), _) => stream_file(env, f, &rid).await,
        #[cfg(feature = "export")]
        (None, true) => stream_export(env, resp),
        #[cfg(not(feature = "export"))]
        (None, true) => to_worker_response(
            http::Problem::new(501, "export_not_served", "Not implemented")
                .detail("This Worker does not stream exports.")
                .into_response(&rid)
                .with_header("x-request-id", &rid),
        ),
        (None, false) => to_worker_response(resp),
    }
}

#[cfg(feature = "export")]
/// Streams an export: each chunk is read from D1 when the runtime asks for more, so a large
/// export never sits in the Worker's memory.
fn stream_export(env: &Env, mut resp: http::Response) -> worker::Result<worker::Response> {
    let Some(export) = resp.export.take() else {
        return to_worker_response(resp);
    };
    let db = D1Db::new(env.d1(DB_BINDING)?);
    let chunks = futures_util::stream::unfold(Some((export, db)), |state| async move {
        let (mut export, db) = state?;
        match export.next_chunk(&db).await {
            Ok(Some(bytes)) => Some((Ok(bytes), Some((export, db)))),
            Ok(None) => None,
            Err(e) => Some((
                Err(worker::Error::RustError(format!("export stopped: {e}"))),
                None,
            )),
        }
    });
    let headers = worker::Headers::new();
    for (k, v) in &resp.headers {
        headers.append(k, v)?;
    }
    Ok(worker::Response::from_stream(chunks)?
        .with_status(resp.status)
        .with_headers(headers))
}

/// The query of a URL: after the first `?`, before any `#`.
fn query_of(url: &str) -> &str {
    let without_fragment = url.split_once('#').map_or(url, |(u, _)| u);
    without_fragment.split_once('?').map_or("", |(_, q)| q)
}

/// The path as logged: a download link's token is a credential, so it never reaches a log.
fn loggable_path(path: &str) -> String {
    match path.split_once("/v1/downloads/") {
        Some((before, _)) => format!("{before}/v1/downloads/[token]"),
        None => path.to_owned(),
    }
}

/// Binding of the `lading-files` bucket.
pub const FILES_BINDING: &str = "FILES";

/// Streams a stored file: the R2 object's body goes to the runtime as a stream (never
/// buffered in the Worker), with `Content-Length`, `Content-Disposition` and single
/// `bytes=` ranges (206 / 416).
async fn stream_file(env: &Env, f: &http::FileBody, rid: &str) -> worker::Result<worker::Response> {
    let problem = |status: u16, kind: &str, detail: &str| {
        to_worker_response(
            http::Problem::new(status, kind, "Download")
                .detail(detail)
                .into_response(rid)
                .with_header("x-request-id", rid),
        )
    };
    let bucket = env.bucket(FILES_BINDING)?;
    let Some(head) = bucket.head(&f.key).await? else {
        return problem(
            404,
            "file_not_found",
            "The file for this download is missing; the store has been told.",
        );
    };
    let size = head.size();
    let range = match f.range.as_deref().map(|r| http::parse_byte_range(r, size)) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(())) => {
            let r = problem(
                416,
                "range_not_satisfiable",
                "The Range does not fit the file.",
            )?;
            r.headers()
                .set("content-range", &format!("bytes */{size}"))?;
            return Ok(r);
        }
    };
    let get = bucket.get(&f.key);
    let get = match range {
        Some((start, end)) => get.range(worker::Range::OffsetWithLength {
            offset: start,
            length: end - start + 1,
        }),
        None => get,
    };
    let Some(object) = get.execute().await? else {
        return problem(
            404,
            "file_not_found",
            "The file for this download is missing.",
        );
    };
    let content_type = object
        .http_metadata()
        .content_type
        .unwrap_or_else(|| guess_content_type(&f.filename).to_owned());
    let Some(body) = object.body() else {
        return problem(
            404,
            "file_not_found",
            "The file for this download is empty.",
        );
    };
    let headers = worker::Headers::new();
    headers.set("content-type", &content_type)?;
    headers.set(
        "content-disposition",
        &format!(
            "attachment; filename=\"{}\"",
            f.filename.replace(['"', '\\', '\r', '\n'], "_")
        ),
    )?;
    headers.set("accept-ranges", "bytes")?;
    headers.set("cache-control", "private, no-store")?;
    headers.set("x-request-id", rid)?;
    let status = match range {
        Some((start, end)) => {
            headers.set("content-range", &format!("bytes {start}-{end}/{size}"))?;
            headers.set("content-length", &(end - start + 1).to_string())?;
            206
        }
        None => {
            headers.set("content-length", &size.to_string())?;
            200
        }
    };
    Ok(worker::ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .body(body.response_body()?))
}

fn guess_content_type(filename: &str) -> &'static str {
    match filename
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        Some("mp3") => "audio/mpeg",
        Some("epub") => "application/epub+zip",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// # Errors
/// Header values the runtime refuses.
pub fn to_worker_response(resp: http::Response) -> worker::Result<worker::Response> {
    let headers = worker::Headers::new();
    for (k, v) in &resp.headers {
        headers.append(k, v)?;
    }
    let out = if resp.status == 204 || resp.status == 304 {
        worker::Response::empty()?
    } else {
        worker::Response::from_bytes(resp.body)?
    };
    Ok(out.with_status(resp.status).with_headers(headers))
}

/// A platform for scheduled and queue events (no request).
///
/// # Errors
/// A missing D1 binding.
pub fn platform(env: &Env) -> worker::Result<EdgePlatform> {
    console_error_panic_hook::set_once();
    EdgePlatform::from_env(env)
}
