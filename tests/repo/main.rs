//! Checks that keep the repository's configuration consistent with itself.

use lading_e2e::{WORKERS, root};

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn value_of<'a>(toml: &'a str, key: &str) -> Vec<&'a str> {
    toml.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix(key)?
                .trim_start()
                .strip_prefix('=')
                .map(|v| v.trim().trim_matches('"'))
        })
        .collect()
}

#[test]
fn the_queue_consumer_settings_match_queues_doc() {
    let doc = read("queues/fulfillment.md");
    let block = doc
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a toml block in queues/fulfillment.md");
    let config = read("src/workers/fulfillment/wrangler.toml");
    assert!(
        config.contains(block.trim()),
        "src/workers/fulfillment/wrangler.toml must contain:\n{block}"
    );
}

#[test]
fn every_worker_shares_one_d1_database_and_the_queue() {
    let gateway = read("wrangler.toml");
    let id = value_of(&gateway, "database_id")[0].to_owned();
    for w in WORKERS {
        let c = read(&format!("src/workers/{w}/wrangler.toml"));
        assert_eq!(value_of(&c, "database_id"), vec![id.as_str()], "{w}");
        assert_eq!(value_of(&c, "name")[0], format!("lading-{w}"));
        assert_eq!(value_of(&c, "main"), vec!["build/index.js"], "{w}");
        assert!(
            c.contains("binding = \"FULFILLMENT_QUEUE\""),
            "{w} produces to the queue"
        );
        assert!(
            c.contains("bucket_name = \"lading-files\""),
            "{w} binds the bucket"
        );
        // The gateway binds every Worker by its name.
        assert!(
            gateway.contains(&format!("service = \"lading-{w}\"")),
            "gateway binds {w}"
        );
    }
}

#[test]
fn the_wasm_bindgen_pin_matches_the_lock_file() {
    let manifest = read("Cargo.toml");
    let pinned = manifest
        .lines()
        .find_map(|l| {
            l.strip_prefix("wasm-bindgen = \"=")
                .and_then(|v| v.strip_suffix('"'))
        })
        .expect("wasm-bindgen pinned with = in Cargo.toml");
    let lock = read("Cargo.lock");
    let locked = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"wasm-bindgen\"\n"))
        .and_then(|p| value_of(p, "version").first().map(|v| v.to_string()))
        .expect("wasm-bindgen in Cargo.lock");
    assert_eq!(pinned, locked);
}

#[test]
fn the_readme_commands_are_package_scripts() {
    let readme = read("README.md");
    let package = read("package.json");
    for cmd in ["npm start", "npm test"] {
        assert!(readme.contains(cmd), "README shows `{cmd}`");
    }
    for script in [
        "\"start\":",
        "\"test\":",
        "\"setup\":",
        "\"build\":",
        "\"bench\":",
    ] {
        assert!(package.contains(script), "package.json has {script}");
    }
    assert!(
        read(".ci/run").contains("npm test"),
        ".ci/run calls the README's test command"
    );
}

#[test]
fn the_scheduler_triggers_exactly_the_schedules_the_core_knows() {
    let config = read("src/workers/scheduler/wrangler.toml");
    let line = value_of(&config, "crons");
    assert_eq!(
        line.len(),
        1,
        "one crons line in the scheduler's wrangler.toml"
    );
    let mut crons: Vec<String> = line[0]
        .trim_matches(['[', ']'])
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    let mut known: Vec<String> = lading_core::jobs::SCHEDULES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    crons.sort();
    known.sort();
    assert_eq!(
        crons, known,
        "src/workers/scheduler/wrangler.toml crons must equal lading_core::jobs::SCHEDULES"
    );
}

/// The core's layers, lowest first: a module may use its own layer and those below it,
/// never one above (domain ← ports/storage ← use cases). `lading-api` is above the whole
/// core and the core never names it.
const CORE_LAYERS: &[(&str, &[&str])] = &[
    (
        "domain",
        &["domain", "time_fmt", "crypto", "string_enum", "stmt"],
    ),
    (
        "ports and storage",
        &["error", "input", "db", "sql", "ports", "sqlite", "AppError"],
    ),
];

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layer of a core module by its top-level name (`None`: a use case, the top layer).
fn layer_of(module: &str) -> Option<usize> {
    CORE_LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

#[test]
fn no_core_module_imports_from_a_layer_above_it() {
    let src = root().join("src/core/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let module = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        // Unit tests may set up from anywhere.
        let code = text.split("#[cfg(test)]").next().unwrap();
        assert!(
            !code.contains("lading_api") && !code.contains("worker::"),
            "{rel} names a crate above the core"
        );
        let Some(own) = layer_of(&module) else {
            continue;
        };
        for used in code.split("crate::").skip(1) {
            let name: String = used
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let above = layer_of(&name).is_none_or(|l| l > own);
            if above {
                wrong.push(format!("{rel} ({}) uses crate::{name}", CORE_LAYERS[own].0));
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} imports checked");
    assert!(
        wrong.is_empty(),
        "imports from a layer above:\n{}",
        wrong.join("\n")
    );
}

/// `cargo tree`'s answer, from the manifests: the core depends on neither the HTTP layer
/// nor the Workers runtime, and the HTTP layer depends on the core.
#[test]
fn the_core_depends_on_no_layer_above_it() {
    let core = read("src/core/Cargo.toml");
    for above in ["lading-api", "worker", "lading-edge", "wasm-bindgen"] {
        assert!(
            !core
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{above} "))
                    || l.trim_start().starts_with(&format!("{above}."))),
            "lading-core depends on {above}"
        );
    }
    let api = read("src/api/Cargo.toml");
    assert!(api.contains("lading-core.workspace = true"));
    assert!(
        !api.lines().any(|l| l.starts_with("worker")),
        "lading-api depends on the Workers runtime"
    );
}
