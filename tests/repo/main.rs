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
