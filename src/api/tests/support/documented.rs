//! Every answer a test gets is checked against the served OpenAPI document: its status
//! is declared for the operation (or is a problem under `default`), its content type is
//! one the document lists, and a JSON body validates against the declared schema. A field
//! a handler starts sending without the document saying so, or a status or media type
//! the document does not list, fails whichever test met it.

use lading_api::http::{Method, Request, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The served document of `api` (the checked-in file the Worker includes).
pub fn document(api: &str) -> &'static Value {
    static DOCS: OnceLock<HashMap<&'static str, Value>> = OnceLock::new();
    let docs = DOCS.get_or_init(|| {
        ["storefront", "admin", "webhooks"]
            .into_iter()
            .map(|api| {
                let path = format!("{}/openapi/{api}.json", env!("CARGO_MANIFEST_DIR"));
                let text = std::fs::read_to_string(&path).unwrap();
                (api, serde_json::from_str(&text).unwrap())
            })
            .collect()
    });
    &docs[api]
}

/// The document's operation for a request: its path pattern and the operation object.
pub fn operation<'d>(doc: &'d Value, method: Method, path: &str) -> Option<(&'d str, &'d Value)> {
    let method = match method {
        Method::Head => "get",
        m => return find(doc, &m.as_str().to_ascii_lowercase(), path),
    };
    find(doc, method, path)
}

fn find<'d>(doc: &'d Value, method: &str, path: &str) -> Option<(&'d str, &'d Value)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    doc["paths"].as_object()?.iter().find_map(|(pattern, ops)| {
        let parts: Vec<&str> = pattern.split('/').collect();
        let fits = parts.len() == segments.len()
            && parts
                .iter()
                .zip(&segments)
                .all(|(p, s)| p == s || (p.starts_with('{') && !s.is_empty()));
        (fits && ops.get(method).is_some()).then(|| (pattern.as_str(), &ops[method]))
    })
}

/// Whether `value` validates against `schema` (which may `$ref` the document's components).
pub fn validate(doc: &Value, schema: &Value, value: &Value) -> Result<(), String> {
    let root = json!({ "allOf": [schema], "components": doc["components"] });
    let validator = jsonschema::validator_for(&root).map_err(|e| format!("bad schema: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(value)
        .take(5)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// Panics when `resp` is not an answer the document declares for `req`.
pub fn check(api: &str, req: &Request, resp: &Response) {
    let doc = document(api);
    let Some((pattern, op)) = operation(doc, req.method, &req.path) else {
        // Not a documented path (the web UI, an unknown route): nothing to hold it to.
        return;
    };
    let what = format!(
        "{api} {} {} → {}",
        req.method.as_str(),
        req.path,
        resp.status
    );
    let declared = &op["responses"];
    let answer = match declared.get(resp.status.to_string()) {
        Some(a) => a,
        None => {
            assert!(
                resp.status >= 400,
                "{what}: status {} is not in the document for {pattern}",
                resp.status
            );
            &declared["default"]
        }
    };
    let Some(content) = answer.get("content") else {
        assert!(
            resp.body.is_empty() || req.method == Method::Head,
            "{what}: the document declares no body"
        );
        return;
    };
    if req.method == Method::Head || (resp.file.is_some() && resp.status < 300) {
        return;
    }
    let media = resp
        .get_header("content-type")
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    let Some((_, declared_media)) = content
        .as_object()
        .unwrap()
        .iter()
        .find(|(m, _)| m.split(';').next().unwrap_or("").trim() == media)
    else {
        panic!(
            "{what}: content type {media:?} is not among {:?}",
            content.as_object().unwrap().keys().collect::<Vec<_>>()
        );
    };
    if media.ends_with("json") {
        let body: Value = serde_json::from_slice(&resp.body)
            .unwrap_or_else(|e| panic!("{what}: body is not JSON: {e}"));
        if let Err(e) = validate(doc, &declared_media["schema"], &body) {
            panic!("{what}: the answer does not fit the document: {e}\n{body}");
        }
    }
}
