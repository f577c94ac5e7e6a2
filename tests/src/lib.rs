//! # Layout
//!
//! The local stack, for the end-to-end tests (`e2e/`), `npm start` (`bin/lading-dev.rs`) and
//! the benchmark (`bin/lading-bench.rs`):
//! - [`Stack::start`] applies the migrations to a fresh local D1, starts the provider
//!   simulator and every Worker under one `wrangler dev` (shared local D1, R2 and Queues),
//!   on free loopback ports, and waits until each Worker's `/healthz` answers.
//! - Per-stack wrangler configs are generated from the committed ones, with local variables
//!   (bootstrap key, simulator URLs) added, so two stacks never share state or settings.
//! - Dropping the stack stops every process it started.

pub mod client;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const WORKERS: [&str; 7] = [
    "storefront",
    "admin",
    "sales",
    "operations",
    "webhooks",
    "fulfillment",
    "scheduler",
];

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub struct Options {
    /// Where local D1/R2/Queues state, generated configs and logs go (emptied first).
    pub state_dir: PathBuf,
    pub gateway_port: u16,
    pub simulator_port: u16,
    pub bootstrap_key: String,
}

impl Options {
    /// Fresh state under `target/e2e/<name>-<pid>` on free ports.
    pub fn ephemeral(name: &str) -> Self {
        Options {
            state_dir: target_dir()
                .join("e2e")
                .join(format!("{name}-{}", std::process::id())),
            gateway_port: free_port(),
            simulator_port: free_port(),
            bootstrap_key: format!(
                "bootstrap-{}-{}",
                std::process::id(),
                Instant::now().elapsed().as_nanos()
            ),
        }
    }
}

/// The Stripe secret key Workers use on a local stack (the simulator accepts any `sk_`).
pub const STRIPE_SECRET_KEY: &str = "sk_test_lading_local";

/// The secret the simulated providers put in their webhook URLs (Printful, Gelato) or sign
/// with (Prodigi); stores on a local stack set it as each provider's `webhook_secret`.
pub const PROVIDER_WEBHOOK_SECRET: &str = "provider-webhook-secret-local";

/// What the simulated couriers sign their events with (`Lading-Courier-Signature`); the
/// Workers on a local stack have it as `COURIER_WEBHOOK_SECRET`.
pub const COURIER_WEBHOOK_SECRET: &str = "courier-webhook-secret-local";

/// A store's provider accounts on a local stack (the simulator accepts any key).
pub fn local_provider_settings() -> serde_json::Value {
    let s = PROVIDER_WEBHOOK_SECRET;
    serde_json::json!({
        "printful": { "api_key": "pf-local-token", "account_id": "77", "webhook_secret": s },
        "prodigi": { "api_key": "pd-local-key", "webhook_secret": s, "shipping_method": "Standard" },
        "gooten": { "api_key": "gt-local-billing-key", "account_id": "local-recipe", "webhook_secret": s },
        "gelato": { "api_key": "gl-local-key", "mode": "api", "webhook_secret": s }
    })
}

pub struct Stack {
    pub base: String,
    pub simulator: String,
    /// The endpoint secret the simulator signs Stripe events with, and the Workers verify.
    pub stripe_webhook_secret: String,
    pub bootstrap_key: String,
    pub state_dir: PathBuf,
    /// The simulator, then wrangler dev (replaced by [`Stack::crash_and_restart`]).
    children: std::sync::Mutex<Vec<Child>>,
    /// How to start wrangler dev again on the same state.
    configs: Vec<PathBuf>,
    gateway_port: u16,
}

impl Stack {
    /// The base URL of one Worker: every path of that Worker lives under it.
    pub fn worker(&self, name: &str) -> String {
        format!("{}/_/{name}", self.base)
    }

    /// Starts everything and waits for health.
    ///
    /// # Panics
    /// When a tool is missing (run `npm run setup` and `npm run build`) or a process fails
    /// to come up; the message says which and where its log is.
    pub fn start(opts: Options) -> Stack {
        let root = root();
        for w in WORKERS {
            let built = root.join(format!("src/workers/{w}/build/index.js"));
            assert!(
                built.exists(),
                "{} is missing: run `npm run build` first",
                built.display()
            );
        }
        let sim_bin = target_dir().join("debug/lading-simulator");
        assert!(
            sim_bin.exists(),
            "{} is missing: run `cargo build -p lading-simulator`",
            sim_bin.display()
        );
        let wrangler = root.join("node_modules/.bin/wrangler");
        assert!(
            wrangler.exists(),
            "wrangler is missing: run `npm run setup`"
        );

        let _ = std::fs::remove_dir_all(&opts.state_dir);
        let persist = opts.state_dir.join("state");
        let conf = opts.state_dir.join("config");
        std::fs::create_dir_all(&persist).expect("state dir");
        std::fs::create_dir_all(&conf).expect("config dir");
        let simulator = format!("http://127.0.0.1:{}", opts.simulator_port);

        let base = format!("http://127.0.0.1:{}", opts.gateway_port);
        let webhook_secret = format!("whsec_lading_local_{}", opts.gateway_port);
        let mut children = Vec::new();
        let sim_log =
            std::fs::File::create(opts.state_dir.join("simulator.log")).expect("log file");
        children.push(
            Command::new(&sim_bin)
                .args(["--port", &opts.simulator_port.to_string()])
                .args(["--stripe-webhook-url", &format!("{base}/webhooks/stripe")])
                .args(["--stripe-webhook-secret", &webhook_secret])
                .args(["--provider-webhook-base", &format!("{base}/webhooks")])
                .args(["--provider-webhook-secret", PROVIDER_WEBHOOK_SECRET])
                .args([
                    "--courier-webhook-base",
                    &format!("{base}/webhooks/couriers"),
                ])
                .args(["--courier-webhook-secret", COURIER_WEBHOOK_SECRET])
                .stdout(sim_log.try_clone().expect("log"))
                .stderr(sim_log)
                .process_group(0)
                .spawn()
                .expect("the simulator starts"),
        );

        // Per-stack configs: absolute paths, local variables.
        // Secrets in production (`wrangler secret put`); plain variables on a local stack.
        let local_vars = format!(
            "ENVIRONMENT = \"development\"\nADMIN_BOOTSTRAP_KEY = \"{}\"\nSTRIPE_API_BASE = \"{simulator}\"\n\
             STRIPE_SECRET_KEY = \"{STRIPE_SECRET_KEY}\"\nSTRIPE_WEBHOOK_SECRET = \"{webhook_secret}\"\n\
             ORDER_TOKEN_SECRET = \"order-token-secret-{webhook_secret}\"\n\
             ADMIN_SESSION_SECRET = \"admin-session-secret-{webhook_secret}\"\n\
             PRINTFUL_API_BASE = \"{simulator}/printful\"\nPRODIGI_API_BASE = \"{simulator}/prodigi/v4.0\"\n\
             GOOTEN_API_BASE = \"{simulator}/gooten\"\nGELATO_API_BASE = \"{simulator}/gelato\"\n\
             FILES_PUBLIC_BASE = \"{base}/_/r2\"\nPUBLIC_API_BASE = \"{base}\"\n\
             COURIER_WEBHOOK_SECRET = \"{COURIER_WEBHOOK_SECRET}\"\nCOURIER_API_BASE = \"{simulator}/couriers\"\n\
             EMAIL_API_BASE = \"{simulator}/brevo\"\nEMAIL_API_KEY = \"xkeysib-local\"\nEMAIL_FROM = \"orders@lading.local\"\n",
            opts.bootstrap_key
        );
        let mut configs = vec![rewrite_config(
            &root.join("wrangler.toml"),
            &conf.join("gateway.toml"),
            &root,
            "",
        )];
        for w in WORKERS {
            let dir = root.join(format!("src/workers/{w}"));
            configs.push(rewrite_config(
                &dir.join("wrangler.toml"),
                &conf.join(format!("{w}.toml")),
                &dir,
                &local_vars,
            ));
        }

        let path_env = format!(
            "{}:{}",
            root.join("node_modules/.bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let migrate = Command::new(&wrangler)
            .args([
                "d1",
                "migrations",
                "apply",
                "lading",
                "--local",
                "--persist-to",
            ])
            .arg(&persist)
            .arg("-c")
            .arg(&configs[0])
            .env("PATH", &path_env)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CI", "true")
            .current_dir(&root)
            .output()
            .expect("wrangler runs");
        assert!(
            migrate.status.success(),
            "migrations failed:\n{}{}",
            String::from_utf8_lossy(&migrate.stdout),
            String::from_utf8_lossy(&migrate.stderr)
        );

        let log_path = opts.state_dir.join("wrangler.log");
        let mut cmd = wrangler_dev(&configs, opts.gateway_port, &persist, &log_path);
        children.push(cmd.spawn().expect("wrangler dev starts"));

        let stack = Stack {
            base,
            simulator,
            stripe_webhook_secret: webhook_secret,
            bootstrap_key: opts.bootstrap_key,
            state_dir: opts.state_dir,
            children: std::sync::Mutex::new(children),
            configs,
            gateway_port: opts.gateway_port,
        };
        stack.wait_healthy(&log_path);
        stack
    }

    /// Kills the whole Workers runtime at once: SIGKILL to wrangler's process group, no
    /// graceful shutdown, requests and queue batches cut off where they are. The simulator
    /// keeps running, as Stripe and the providers would.
    pub fn kill_runtime(&self) {
        let mut children = self.children.lock().expect("children");
        assert_eq!(children.len(), 2, "the runtime is running");
        let mut old = children.pop().expect("wrangler dev");
        // SAFETY: kill(2) with a negative pid signals the process group; no memory is touched.
        unsafe {
            libc::kill(-(old.id() as i32), libc::SIGKILL);
        }
        let _ = old.wait();
    }

    /// Starts the Workers runtime again on the same local state after
    /// [`Stack::kill_runtime`]; returns how long it took to be healthy.
    pub fn restart_runtime(&self) -> Duration {
        let mut children = self.children.lock().expect("children");
        assert_eq!(children.len(), 1, "the runtime was killed");
        let started = Instant::now();
        let log_path = self.state_dir.join("wrangler.log");
        let mut cmd = wrangler_dev(
            &self.configs,
            self.gateway_port,
            &self.state_dir.join("state"),
            &log_path,
        );
        children.push(cmd.spawn().expect("wrangler dev starts again"));
        drop(children);
        self.wait_healthy(&log_path);
        started.elapsed()
    }

    fn wait_healthy(&self, log_path: &Path) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut pending: Vec<String> = WORKERS
            .iter()
            .map(|w| format!("{}/healthz", self.worker(w)))
            .collect();
        pending.push(format!("{}/__control/health", self.simulator));
        while !pending.is_empty() {
            pending.retain(|url| !matches!(http_get_status(url), Some(200)));
            if pending.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(log_path).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                panic!(
                    "the local stack did not become healthy in 120 s; still waiting for {pending:?}\n--- {} (tail) ---\n{}",
                    log_path.display(),
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// The local D1 database file (SQLite), for counting rows and for test fixtures that
    /// stand in for the passing of time.
    pub fn d1_path(&self) -> PathBuf {
        let dir = self
            .state_dir
            .join("state/v3/d1/miniflare-D1DatabaseObject");
        std::fs::read_dir(&dir)
            .expect("local D1 exists")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.extension().is_some_and(|x| x == "sqlite")
                    && p.file_name().is_some_and(|n| n != "metadata.sqlite")
            })
            .expect("local D1 database file")
    }

    pub fn d1(&self) -> rusqlite::Connection {
        let c = rusqlite::Connection::open(self.d1_path()).expect("open local D1");
        c.busy_timeout(Duration::from_secs(5))
            .expect("busy timeout");
        c
    }

    /// Puts rows in a state only a crash (or an outside actor) leaves behind, for tests of
    /// recovery: the state-transition triggers are suspended for this one transaction,
    /// which no other connection sees half-done.
    pub fn fabricate(&self, sql: &str, params: impl rusqlite::Params) -> usize {
        use lading_core::sql::transitions::{MACHINES, trigger_sql};
        let mut c = self.d1();
        let tx = c
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .expect("begin");
        for m in MACHINES {
            tx.execute_batch(&format!("DROP TRIGGER {}", m.trigger_name()))
                .expect("suspend a trigger");
        }
        let n = tx.execute(sql, params).expect(sql);
        for m in MACHINES {
            tx.execute_batch(&trigger_sql(m))
                .expect("restore a trigger");
        }
        tx.commit().expect("commit");
        n
    }

    /// Rows in every table, to prove a rejected request changed nothing.
    pub fn row_counts(&self) -> Vec<(String, i64)> {
        let c = self.d1();
        let mut st = c
            // `job_runs` is the record of the queue's and the crons' work, not state: it
            // grows with every run by design.
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name NOT IN ('d1_migrations', 'job_runs') ORDER BY name")
            .expect("list tables");
        let names: Vec<String> = st
            .query_map([], |r| r.get(0))
            .expect("tables")
            .map(Result::unwrap)
            .collect();
        names
            .into_iter()
            .map(|n| {
                let count = c
                    .query_row(&format!("SELECT COUNT(*) FROM \"{n}\""), [], |r| r.get(0))
                    .expect("count");
                (n, count)
            })
            .collect()
    }

    /// Writes `n` paid orders for a store straight into local D1 (one statement), for the
    /// admin's search, export and plan checks at volume: one minute apart going back from
    /// `newest_ms`, 500 distinct customer emails, statuses and totals varying with the index.
    /// Their ids are `ord_<tag>_<index>` and numbers `<prefix>-2026-S<index>`.
    pub fn seed_orders(&self, store_id: &str, prefix: &str, tag: &str, n: u32, newest_ms: i64) {
        let c = self.d1();
        c.execute(
            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?4) \
             INSERT INTO orders (id, store_id, order_number, email, status, financial_status, currency, subtotal_amount, \
                 shipping_amount, total_amount, payment_flow, paid_at, created_at, updated_at) \
             SELECT printf('ord_%s_%07d', ?3, i), ?1, printf('%s-2026-S%07d', ?2, i), printf('buyer%d@example.com', i % 500), \
                 CASE i % 4 WHEN 0 THEN 'shipped' WHEN 1 THEN 'paid' WHEN 2 THEN 'processing' ELSE 'delivered' END, \
                 CASE WHEN i % 50 = 0 THEN 'partially_refunded' ELSE 'paid' END, 'USD', 1000 + i % 9000, 999, \
                 1999 + i % 9000, 'checkout_session', ?5 - i * 60000, ?5 - i * 60000, ?5 - i * 60000 FROM k",
            rusqlite::params![store_id, prefix, tag, n, newest_ms],
        )
        .expect("seed orders");
    }

    /// Everything the Workers logged so far.
    pub fn wrangler_log(&self) -> String {
        std::fs::read_to_string(self.state_dir.join("wrangler.log")).unwrap_or_default()
    }

    /// How much the Workers have logged (a mark for [`Stack::log_lines_since`]).
    pub fn log_len(&self) -> u64 {
        std::fs::metadata(self.state_dir.join("wrangler.log")).map_or(0, |m| m.len())
    }

    /// The JSON log lines written after `mark` (a [`Stack::log_len`]), by every runtime of
    /// this stack (a Worker started alone logs to the same file).
    pub fn log_lines_since(&self, mark: u64) -> Vec<serde_json::Value> {
        use std::io::{Read, Seek};
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.state_dir.join("wrangler.log")) {
            let _ = f.seek(std::io::SeekFrom::Start(mark));
            let _ = f.read_to_string(&mut text);
        }
        text.lines()
            .filter_map(|l| serde_json::from_str(&l[l.find('{')?..]).ok())
            .collect()
    }

    /// One Worker under a `wrangler dev` of its own, on this stack's local state and with
    /// its variables, without the dev gateway's extra hop: what production's routing looks
    /// like. Stopped when the answer is dropped.
    ///
    /// # Panics
    /// An unknown Worker, or one that is not healthy within 120 s.
    pub fn start_alone(&self, name: &str) -> Alone {
        let i = WORKERS
            .iter()
            .position(|w| *w == name)
            .expect("a Lading Worker");
        let port = free_port();
        let log_path = self.state_dir.join("wrangler.log");
        let child = wrangler_dev(
            &self.configs[i + 1..i + 2],
            port,
            &self.state_dir.join("state"),
            &log_path,
        )
        .spawn()
        .expect("wrangler dev starts");
        let alone = Alone {
            base: format!("http://127.0.0.1:{port}"),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while http_get_status(&format!("{}/healthz", alone.base)) != Some(200) {
            assert!(
                Instant::now() < deadline,
                "the {name} Worker alone did not become healthy in 120 s (log: {})",
                log_path.display()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        alone
    }
}

/// A Worker started by [`Stack::start_alone`].
pub struct Alone {
    /// Its base URL: its paths live right under it.
    pub base: String,
    child: Child,
}

impl Drop for Alone {
    fn drop(&mut self) {
        kill_group(&self.child);
        let _ = self.child.wait();
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let children = self.children.get_mut().expect("children");
        for c in children.iter() {
            kill_group(c);
        }
        for c in children.iter_mut() {
            let _ = c.wait();
        }
    }
}

use std::os::unix::process::CommandExt;

/// Each child leads its own process group, so wrangler's node and workerd go with it.
fn kill_group(c: &Child) {
    // SAFETY: kill(2) with a negative pid signals the process group; no memory is touched.
    unsafe {
        libc::kill(-(c.id() as i32), libc::SIGTERM);
    }
}

/// `wrangler dev` for these configs (the first gets the port), Node 22 first on PATH, its
/// output to `log_path`, in a process group of its own.
fn wrangler_dev(configs: &[PathBuf], port: u16, persist: &Path, log_path: &Path) -> Command {
    let root = root();
    // Appended: a restarted runtime's log follows the first one's.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .expect("log file");
    let mut cmd = Command::new(root.join("node_modules/.bin/wrangler"));
    cmd.arg("dev");
    for c in configs {
        cmd.arg("-c").arg(c);
    }
    cmd.args([
        "--ip",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--inspector-port",
        &free_port().to_string(),
    ])
    .arg("--persist-to")
    .arg(persist)
    .arg("--show-interactive-dev-session=false")
    .env(
        "PATH",
        format!(
            "{}:{}",
            root.join("node_modules/.bin").display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    )
    .env("WRANGLER_SEND_METRICS", "false")
    .env("CI", "true")
    .current_dir(&root)
    .stdin(Stdio::null())
    .stdout(log.try_clone().expect("log"))
    .stderr(log)
    .process_group(0);
    cmd
}

/// A tiny blocking GET for health checks (no runtime needed).
fn http_get_status(url: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}")))?;
    let mut s = std::net::TcpStream::connect(host).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut first = String::new();
    BufReader::new(&mut s).read_line(&mut first).ok()?;
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink);
    first.split_whitespace().nth(1)?.parse().ok()
}

/// Copies a wrangler config with absolute paths and extra `[vars]`.
fn rewrite_config(src: &Path, dst: &Path, dir: &Path, extra_vars: &str) -> PathBuf {
    let text = std::fs::read_to_string(src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    let mut out = String::new();
    for line in text.lines() {
        if let Some(v) = line
            .strip_prefix("main = \"")
            .and_then(|l| l.strip_suffix('"'))
        {
            out.push_str(&format!("main = \"{}\"\n", dir.join(v).display()));
        } else if let Some(v) = line
            .strip_prefix("migrations_dir = \"")
            .and_then(|l| l.strip_suffix('"'))
        {
            out.push_str(&format!("migrations_dir = \"{}\"\n", dir.join(v).display()));
        } else if line.starts_with("ENVIRONMENT = ") && !extra_vars.is_empty() {
            out.push_str(extra_vars);
        } else if line.split_once(" = ").is_some_and(|(k, _)| {
            extra_vars
                .lines()
                .any(|l| l.starts_with(&format!("{k} = ")))
        }) {
            // Replaced by the local value written at ENVIRONMENT.
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    std::fs::write(dst, out).expect("write config");
    dst.to_path_buf()
}
