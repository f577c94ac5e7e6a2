//! The OpenAPI 3.1 documents, generated from the route tables and the types their
//! handlers take and answer (JSON Schemas derived with `schemars`). Natively only: the
//! Workers serve the checked-in files under `openapi/`, so the wasm never carries this
//! generator. A test regenerates them and fails when a file differs;
//! `LADING_WRITE_OPENAPI=1 cargo test -p lading-api openapi` rewrites them.

use crate::http::{Access, Method, Problem, Route};
use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Each operation's request and answer schemas, as a route table's `schemas` gives them.
type Schemas<R> = Vec<(R, Option<Schema>, Option<Schema>)>;

fn security(access: Access) -> Value {
    match access {
        Access::Public | Access::Signed => json!([]),
        Access::Publishable => json!([{ "publishableKey": [] }]),
        Access::Customer => json!([{ "publishableKey": [], "customerJwt": [] }]),
        Access::CustomerOrCart => {
            json!([{ "publishableKey": [], "customerJwt": [] }, { "publishableKey": [], "cartToken": [] }])
        }
        Access::OrderReader => {
            json!([{ "publishableKey": [], "customerJwt": [] }, { "publishableKey": [], "cartToken": [] }, { "publishableKey": [], "orderToken": [] }])
        }
        Access::StripeSignature => json!([{ "stripeSignature": [] }]),
        Access::ProviderSecret => json!([{ "providerSecret": [] }]),
        Access::CourierSignature => json!([{ "courierSignature": [] }]),
        Access::Bootstrap | Access::Admin(_) => json!([{ "adminKey": [] }]),
    }
}

fn operation<R: Copy>(
    r: &Route<R>,
    request: Option<&Schema>,
    response: Option<&Schema>,
    problem: &Schema,
) -> Value {
    let mut params = Vec::new();
    for seg in r.pattern.split('/') {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            params.push(json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
        }
    }
    for q in r.query {
        let schema: Value = serde_json::from_str(q.schema).expect("query schema is JSON");
        params.push(json!({ "name": q.name, "in": "query", "required": false, "description": q.description, "schema": schema }));
    }
    if r.method == Method::Post
        && !matches!(
            r.access,
            Access::Public
                | Access::StripeSignature
                | Access::ProviderSecret
                | Access::CourierSignature
                | Access::Signed
        )
    {
        params.push(json!({ "name": "Idempotency-Key", "in": "header", "required": false,
            "schema": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$" },
            "description": "The first response is saved for 24 h and replayed; the same key with another body gets 422." }));
    }
    let mut responses = serde_json::Map::new();
    for &status in r.statuses {
        let ok = match (status, response) {
            (204, _) => json!({ "description": "No content" }),
            // A download not ready yet says so in JSON.
            (202, _) if r.content_type != "application/json" => {
                json!({ "description": "Being prepared", "content": { "application/json": { "schema": { "type": "object",
                    "properties": { "status": { "type": "string" }, "detail": { "type": "string" } }, "required": ["status", "detail"] } } } })
            }
            (_, Some(schema)) if r.content_type == "application/json" => {
                json!({ "description": "Success", "content": { "application/json": { "schema": schema } } })
            }
            (_, None) if r.content_type == "application/json" => {
                json!({ "description": "Success", "content": { "application/json": { "schema": { "type": "object" } } } })
            }
            _ => {
                json!({ "description": "Success", "content": { r.content_type: { "schema": { "type": "string", "format": "binary" } } } })
            }
        };
        responses.insert(status.to_string(), ok);
    }
    responses.insert("default".into(), json!({ "description": "Problem", "content": { "application/problem+json": { "schema": problem } } }));
    let mut op = json!({
        "summary": r.summary,
        "operationId": format!("{}{}", r.method.as_str().to_lowercase(), r.pattern.replace(['/', '{', '}', '-', '.'], "_")),
        "parameters": params,
        "security": security(r.access),
        "responses": responses,
    });
    if let Some(role) = r.access.role() {
        op["x-required-role"] = json!(role.as_str());
    }
    if let Some(schema) = request {
        op["requestBody"] = json!({ "required": !r.request_optional, "content": { "application/json": { "schema": schema } } });
    } else if !r.uploads.is_empty() {
        let content: serde_json::Map<String, Value> = r
            .uploads
            .iter()
            .map(|t| {
                (
                    (*t).to_owned(),
                    json!({ "schema": { "type": "string", "format": "binary" } }),
                )
            })
            .collect();
        op["requestBody"] = json!({ "required": true, "content": content });
    }
    op
}

/// The generators every document uses: JSON Schema 2020-12 (OpenAPI 3.1's dialect), named
/// types under `components/schemas`; one reads requests as the handlers parse them, the
/// other answers as the handlers write them (a field left out when empty is optional).
fn generator(answers: bool) -> SchemaGenerator {
    let settings = SchemaSettings::draft2020_12().with(|s| {
        s.definitions_path = "/components/schemas".into();
        s.meta_schema = None;
    });
    if answers {
        settings.for_serialize().into_generator()
    } else {
        settings.for_deserialize().into_generator()
    }
}

/// Replaces `$ref`s to the renamed schemas.
fn rename_refs(v: &mut Value, renamed: &BTreeMap<String, String>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get_mut("$ref") {
                if let Some(new) = r
                    .strip_prefix("#/components/schemas/")
                    .and_then(|n| renamed.get(n))
                {
                    *r = format!("#/components/schemas/{new}");
                }
            }
            o.values_mut().for_each(|x| rename_refs(x, renamed));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rename_refs(x, renamed)),
        _ => {}
    }
}

/// The OpenAPI document of one API (`storefront`, `admin` or `webhooks`) from its routes
/// and the schemas of their types.
pub fn document<R: Copy + PartialEq>(
    api: &str,
    routes: &[Route<R>],
    schemas: fn(&mut SchemaGenerator, &mut SchemaGenerator) -> Schemas<R>,
) -> Value {
    let (mut requests, mut answers) = (generator(false), generator(true));
    let mut typed = schemas(&mut requests, &mut answers);
    let problem = answers.subschema_for::<Problem>();
    // A type read and written the same way is one schema; one that differs (a field with a
    // default is optional to send, always there in an answer) is `<Name>Input` as a request.
    let mut components = answers.take_definitions(true);
    let mut read = requests.take_definitions(true);
    let renamed: BTreeMap<String, String> = read
        .iter()
        .filter(|(name, schema)| components.get(*name).is_some_and(|s| s != *schema))
        .map(|(name, _)| (name.clone(), format!("{name}Input")))
        .collect();
    for (name, mut schema) in std::mem::take(&mut read) {
        rename_refs(&mut schema, &renamed);
        let name = renamed.get(&name).cloned().unwrap_or(name);
        components.insert(name, schema);
    }
    for (_, request, _) in &mut typed {
        if let Some(schema) = request {
            let mut v = schema.clone().to_value();
            rename_refs(&mut v, &renamed);
            *schema = Schema::try_from(v).expect("a schema stays a schema");
        }
    }
    let mut paths = serde_json::Map::new();
    for r in routes {
        let (_, request, response) = typed
            .iter()
            .find(|(id, _, _)| *id == r.id)
            .expect("every route has its schemas");
        let entry = paths
            .entry(r.pattern.to_owned())
            .or_insert_with(|| json!({}));
        entry[r.method.as_str().to_lowercase()] =
            operation(r, request.as_ref(), response.as_ref(), &problem);
    }
    for name in refs(&Value::Object(paths.clone())) {
        assert!(
            components.contains_key(&name),
            "{api}: no schema named {name}"
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": format!("Lading {api} API"), "version": env!("CARGO_PKG_VERSION"),
            "description": "Errors are application/problem+json with a stable `type`. Every response carries x-request-id." },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "publishableKey": { "type": "apiKey", "in": "header", "name": "x-publishable-api-key" },
                "cartToken": { "type": "apiKey", "in": "header", "name": "x-cart-token" },
                "orderToken": { "type": "apiKey", "in": "header", "name": "x-order-token" },
                "stripeSignature": { "type": "apiKey", "in": "header", "name": "Stripe-Signature" },
                "providerSecret": { "type": "apiKey", "in": "query", "name": "secret" },
                "courierSignature": { "type": "apiKey", "in": "header", "name": "Lading-Courier-Signature" },
                "customerJwt": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
                "adminKey": { "type": "http", "scheme": "bearer", "description": "An admin key, or the bootstrap key (stores; with x-store-id, superadmin of that store)." }
            }
        }
    })
}

fn refs(v: &Value) -> Vec<String> {
    v.to_string()
        .split("#/components/schemas/")
        .skip(1)
        .map(|part| part.chars().take_while(|c| c.is_alphanumeric()).collect())
        .collect()
}

/// The admin document with the sales (or operations) routes in it (one API to operators;
/// three Workers behind it): paths by method, and component schemas, which must agree where
/// both name one.
fn merged(mut admin: Value, sales: &Value) -> Value {
    for (path, ops) in sales["paths"].as_object().into_iter().flatten() {
        if path == "/healthz" {
            continue;
        }
        let entry = admin["paths"][path].as_object_mut().map(std::mem::take);
        let mut entry = entry.unwrap_or_default();
        for (method, op) in ops.as_object().into_iter().flatten() {
            entry.insert(method.clone(), op.clone());
        }
        admin["paths"][path] = Value::Object(entry);
    }
    let mine = admin["components"]["schemas"]
        .as_object_mut()
        .expect("components");
    for (name, schema) in sales["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        if let Some(existing) = mine.get(name) {
            assert_eq!(
                existing, schema,
                "the admin and sales APIs disagree on {name}"
            );
        } else {
            mine.insert(name.clone(), schema.clone());
        }
    }
    let mut paths: Vec<(String, Value)> = admin["paths"]
        .as_object()
        .map(|m| m.clone().into_iter().collect())
        .unwrap_or_default();
    paths.sort_by(|a, b| a.0.cmp(&b.0));
    admin["paths"] = Value::Object(paths.into_iter().collect());
    admin
}

/// The three documents as the files under `openapi/` hold them.
pub fn documents() -> [(&'static str, String); 3] {
    let text = |v: Value| serde_json::to_string_pretty(&v).expect("a document serializes") + "\n";
    [
        (
            "storefront",
            text(document(
                "storefront",
                crate::storefront::ROUTES,
                crate::storefront::schemas,
            )),
        ),
        (
            "admin",
            text(merged(
                merged(
                    document("admin", crate::admin::ROUTES, crate::admin::schemas),
                    &document("admin", crate::sales::ROUTES, crate::sales::schemas),
                ),
                &document(
                    "admin",
                    crate::operations::ROUTES,
                    crate::operations::schemas,
                ),
            )),
        ),
        (
            "webhooks",
            text(document(
                "webhooks",
                crate::webhooks::ROUTES,
                crate::webhooks::schemas,
            )),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The served documents are the generated ones: an API change shows in the diff.
    #[test]
    fn the_checked_in_documents_are_generated_from_the_route_tables() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi");
        for (api, text) in documents() {
            let path = dir.join(format!("{api}.json"));
            if std::env::var_os("LADING_WRITE_OPENAPI").is_some() {
                std::fs::write(&path, &text).unwrap();
            }
            let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                on_disk == text,
                "{} differs from the route table; run LADING_WRITE_OPENAPI=1 cargo test -p lading-api openapi, and review the diff",
                path.display()
            );
        }
    }

    #[test]
    fn every_admin_write_is_audited_and_no_read_is() {
        let admin = crate::admin::ROUTES
            .iter()
            .map(|r| (r.method, r.pattern, r.audit));
        let sales = crate::sales::ROUTES
            .iter()
            .map(|r| (r.method, r.pattern, r.audit));
        let operations = crate::operations::ROUTES
            .iter()
            .map(|r| (r.method, r.pattern, r.audit));
        for (method, pattern, audit) in admin.chain(sales).chain(operations) {
            // A quote is a read sent as a POST (a hundred lines do not fit a query).
            let reads =
                matches!(method, Method::Get | Method::Head) || pattern.ends_with("/pricing/quote");
            assert_eq!(
                reads,
                audit == crate::http::Audit::Read,
                "{} {pattern}",
                method.as_str()
            );
        }
    }
}
