//! Starting the simulator binary for a test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The simulator on a free port; stopped when dropped.
pub struct Sim {
    child: Child,
    pub base: String,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `lading-simulator --port 0 <args>` and reads its base URL from the first line.
pub fn start(args: &[&str]) -> Sim {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lading-simulator"))
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the simulator starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("first line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();
    Sim { child, base }
}

/// The core's platform over real HTTP (reqwest) and SQLite, to run core clients against
/// the simulator.
#[allow(dead_code)]
pub mod core_platform {
    use lading_core::auth::jwt::{Jwk, SigAlg};
    use lading_core::ports::{HttpClient, OutboundRequest, OutboundResponse, Platform, Settings};
    use lading_core::sqlite::SqliteDb;

    pub struct Http(reqwest::Client);

    impl HttpClient for Http {
        async fn send(&self, req: OutboundRequest) -> Result<OutboundResponse, String> {
            let mut r = self.0.request(
                reqwest::Method::from_bytes(req.method.as_bytes()).unwrap(),
                &req.url,
            );
            for (k, v) in &req.headers {
                r = r.header(k, v);
            }
            if let Some(b) = req.body {
                r = r.body(b);
            }
            let res = r.send().await.map_err(|e| e.to_string())?;
            let status = res.status().as_u16();
            let headers = res
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(|v| vec![("retry-after".to_owned(), v.to_owned())])
                .unwrap_or_default();
            Ok(OutboundResponse {
                status,
                headers,
                body: res.bytes().await.map_err(|e| e.to_string())?.to_vec(),
            })
        }
    }

    pub struct CorePlatform {
        db: SqliteDb,
        http: Http,
        settings: Settings,
    }

    impl CorePlatform {
        pub fn new(settings: Settings) -> Self {
            CorePlatform {
                db: SqliteDb::open_migrated().unwrap(),
                http: Http(reqwest::Client::new()),
                settings,
            }
        }
    }

    impl Platform for CorePlatform {
        type Db = SqliteDb;
        type Http = Http;
        fn db(&self) -> &SqliteDb {
            &self.db
        }
        fn http(&self) -> &Http {
            &self.http
        }
        fn now_ms(&self) -> i64 {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64
        }
        fn fill_random(&self, buf: &mut [u8]) {
            buf.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        }
        fn settings(&self) -> &Settings {
            &self.settings
        }
        async fn put_file(&self, _: &str, _: &[u8], _: &str) -> Result<(), String> {
            Err("not used here".into())
        }
        async fn sleep_ms(&self, ms: u64) {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        async fn enqueue(&self, _: &serde_json::Value) -> Result<(), String> {
            Err("not used here".into())
        }
        async fn verify_signature(
            &self,
            _: SigAlg,
            _: &Jwk,
            _: &[u8],
            _: &[u8],
        ) -> Result<bool, String> {
            Err("not used here".into())
        }
    }
}

#[allow(unused_imports)]
pub use core_platform::CorePlatform;
