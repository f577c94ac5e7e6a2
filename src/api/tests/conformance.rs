//! The served OpenAPI documents, tried as a client generator would: for every operation, a
//! request built from its schemas (every property, at the edges the schema allows) is not
//! refused for a reason the document does not state; requests the schemas forbid (a wrong
//! type, a missing required property, a string past its length) get a 4xx and write
//! nothing; a method a path does not declare gets 405 with `Allow`. Every answer is also
//! held to the document by `support::call`.

mod support;

use lading_api::http::{Method, Request};
use serde_json::{Map, Value, json};
use support::documented::document;
use support::*;

const METHODS: [Method; 5] = [
    Method::Get,
    Method::Post,
    Method::Put,
    Method::Patch,
    Method::Delete,
];

fn resolve<'d>(doc: &'d Value, schema: &'d Value) -> &'d Value {
    match schema["$ref"].as_str() {
        Some(r) => resolve(
            doc,
            &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        ),
        None => schema,
    }
}

fn types(schema: &Value) -> Vec<&str> {
    match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// A value the schema allows, as long as it allows (strings at `maxLength`, numbers at
/// `maximum`): what a generator sends to probe the edges. `None` when nothing fits.
fn example(doc: &Value, schema: &Value) -> Value {
    example_in(doc, schema, &[])
}

/// [`example`], with the ids the world has for properties named like them.
fn example_in(doc: &Value, schema: &Value, ids: &[(&str, String)]) -> Value {
    let example = |doc: &Value, schema: &Value| example_in(doc, schema, ids);
    let s = resolve(doc, schema);
    if let Some(e) = s["examples"].as_array().and_then(|e| e.first()) {
        return e.clone();
    }
    if let Some(v) = s["enum"].as_array().and_then(|e| e.last()) {
        return v.clone();
    }
    if let Some(all) = s["allOf"].as_array() {
        return example(doc, &all[0]);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(any) = s[key].as_array() {
            let first = any
                .iter()
                .find(|o| resolve(doc, o)["type"] != "null")
                .unwrap_or(&any[0]);
            return example(doc, first);
        }
    }
    let ts = types(s);
    let t = ts
        .iter()
        .find(|t| **t != "null")
        .copied()
        .unwrap_or("object");
    match t {
        // At the edge the schema allows; without one, far out (a limit only the code
        // knows shows up as a refusal).
        "integer" => json!(s["maximum"].as_i64().unwrap_or(1_000_000_000_000)),
        "number" => json!(s["maximum"].as_f64().unwrap_or(1.5)),
        "boolean" => json!(true),
        "string" => {
            // Items of arrays carry no examples of their own.
            match s["pattern"].as_str() {
                Some("^https?://\\S+$") => return json!("https://example.com/file.png"),
                Some("^[A-Z]{2}$") => return json!("GB"),
                _ => {}
            }
            assert!(
                s.get("pattern").is_none(),
                "a string with a pattern needs `examples` in the document: {s}"
            );
            let n = s["maxLength"].as_u64().unwrap_or(3000) as usize;
            match s["format"].as_str() {
                Some("date-time") => json!("2030-01-01T00:00:00Z"),
                Some("email") => json!("ada@example.com"),
                Some("uri") => json!("https://example.com/a"),
                _ => json!("a".repeat(n.max(s["minLength"].as_u64().unwrap_or(1) as usize))),
            }
        }
        "array" => {
            let item = example(doc, &s["items"]);
            json!([item])
        }
        _ => {
            let mut o = Map::new();
            if let Some(props) = s["properties"].as_object() {
                for (k, v) in props {
                    let known = ids.iter().find(|(n, _)| n == k).map(|(_, id)| json!(id));
                    o.insert(k.clone(), known.unwrap_or_else(|| example(doc, v)));
                }
            } else if s["additionalProperties"].is_object() {
                o.insert("k".into(), example(doc, &s["additionalProperties"]));
            }
            // A rule across properties ("amount or lines, not both"): leave optional ones
            // out, last first, until the object fits.
            let required: Vec<&str> = s["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let optional: Vec<String> = o
                .keys()
                .filter(|k| !required.contains(&k.as_str()))
                .cloned()
                .collect();
            let mut value = Value::Object(o);
            for k in optional.iter().rev() {
                if support::documented::validate(doc, s, &value).is_ok() {
                    break;
                }
                value.as_object_mut().unwrap().remove(k);
            }
            value
        }
    }
}

/// A value of a type the schema does not allow.
fn wrong_type(doc: &Value, schema: &Value) -> Option<Value> {
    let s = resolve(doc, schema);
    if s.get("anyOf").is_some() || s.get("oneOf").is_some() || s.get("allOf").is_some() {
        return None;
    }
    let ts = types(s);
    if s.get("enum").is_some() && ts.is_empty() {
        return Some(json!(12345));
    }
    if ts.is_empty() {
        return None;
    }
    [
        json!("not-of-this-type"),
        json!(7),
        json!(true),
        json!([1]),
        json!({ "x": 1 }),
    ]
    .into_iter()
    .find(|v| {
        let t = match v {
            Value::String(_) => "string",
            Value::Number(_) => "integer",
            Value::Bool(_) => "boolean",
            Value::Array(_) => "array",
            _ => "object",
        };
        !ts.contains(&t) && !(t == "integer" && ts.contains(&"number"))
    })
}

struct World {
    p: TestPlatform,
    store: Store,
    jwt: String,
    cart: String,
    ids: Vec<(&'static str, String)>,
}

fn world() -> World {
    let p = TestPlatform::new();
    let store = create_store(&p, "CF");
    let (prod, variants) = product(&p, &store, "conformance-poster", 2500);
    let order = paid_order(&p, &store, &[&variants[0]], "ada@example.com", "cf1", None);
    let jwt = hs256(&p, "customer-cf", AUDIENCE, 3600);
    let cart = shop(&p, &store, Method::Post, "/v1/carts", None, None).body_json()["cart_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ids = vec![
        ("product_id", prod["id"].as_str().unwrap().to_owned()),
        ("id_or_slug", "conformance-poster".to_owned()),
        ("variant_id", variants[0].clone()),
        ("order_id", order["id"].as_str().unwrap().to_owned()),
        (
            "order_number",
            order["order_number"].as_str().unwrap().to_owned(),
        ),
        ("provider", "printful".to_owned()),
    ];
    World {
        p,
        store,
        jwt,
        cart,
        ids,
    }
}

impl World {
    fn path(&self, pattern: &str) -> String {
        pattern
            .split('/')
            .map(
                |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => self
                        .ids
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map_or("x_missing".to_owned(), |(_, v)| v.clone()),
                    None => seg.to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("/")
    }
    fn request(&self, api: &str, method: Method, pattern: &str, op: &Value) -> Request {
        let mut r = req(method, &self.path(pattern));
        let bootstrap =
            op["security"] == json!([{ "adminKey": [] }]) && op.get("x-required-role").is_none();
        r = match api {
            "admin" if bootstrap => r.header("authorization", &format!("Bearer {BOOTSTRAP}")),
            "admin" => r.header("authorization", &format!("Bearer {}", self.store.admin)),
            _ => r
                .header("x-publishable-api-key", &self.store.pk)
                .header("authorization", &format!("Bearer {}", self.jwt))
                .header("x-cart-token", &self.cart),
        };
        r
    }
}

fn with_body(r: Request, body: &Value) -> Request {
    r.json_body(body)
}

#[test]
fn undeclared_methods_get_405_with_allow_on_every_documented_path() {
    let w = world();
    let mut checked = 0;
    for api in ["storefront", "admin", "webhooks"] {
        let doc = document(api);
        for (pattern, ops) in doc["paths"].as_object().unwrap() {
            let declared: Vec<&str> = ops
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            for method in METHODS {
                if declared.contains(&method.as_str().to_ascii_lowercase().as_str()) {
                    continue;
                }
                // `GET /v1/orders/lookup` is `GET /v1/orders/{order_number}`: another route.
                if support::documented::operation(doc, method, &w.path(pattern)).is_some() {
                    continue;
                }
                let any_op = ops.as_object().unwrap().values().next().unwrap();
                let r = call(&w.p, api, w.request(api, method, pattern, any_op));
                let what = format!("{api} {} {pattern}", method.as_str());
                assert_eq!(
                    r.status,
                    405,
                    "{what}: {}",
                    String::from_utf8_lossy(&r.body)
                );
                let mut allow: Vec<String> = r
                    .get_header("allow")
                    .unwrap_or_else(|| panic!("{what}: 405 without Allow"))
                    .split(", ")
                    .map(str::to_ascii_lowercase)
                    .collect();
                allow.retain(|m| m != "head");
                allow.sort();
                // Every method some documented pattern serves on this path.
                let concrete = w.path(pattern);
                let mut expected: Vec<String> = METHODS
                    .iter()
                    .filter(|m| support::documented::operation(doc, **m, &concrete).is_some())
                    .map(|m| m.as_str().to_ascii_lowercase())
                    .collect();
                expected.sort();
                assert_eq!(allow, expected, "{what}");
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "{checked} undeclared methods tried");
}

#[test]
fn requests_the_schemas_forbid_are_refused_with_a_4xx_and_write_nothing() {
    let w = world();
    let mut checked = 0;
    for api in ["storefront", "admin"] {
        let doc = document(api);
        for (pattern, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema")
                else {
                    continue;
                };
                let method = Method::parse(&method.to_ascii_uppercase()).unwrap();
                let body = resolve(doc, schema);
                let valid = example(doc, schema);
                let props = body["properties"].as_object().cloned().unwrap_or_default();
                let required: Vec<&str> = body["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut invalid = Vec::new();
                for (name, prop) in &props {
                    if let Some(bad) = wrong_type(doc, prop) {
                        let mut b = valid.clone();
                        b[name] = bad;
                        invalid.push((format!("{name} of the wrong type"), b));
                    }
                    let p = resolve(doc, prop);
                    if let Some(max) = p["maxLength"].as_u64() {
                        let mut b = valid.clone();
                        b[name] = json!("a".repeat(max as usize + 1));
                        invalid.push((format!("{name} past maxLength"), b));
                    }
                    if let Some(max) = p["maximum"].as_i64() {
                        let mut b = valid.clone();
                        b[name] = json!(max + 1);
                        invalid.push((format!("{name} past maximum"), b));
                    }
                }
                for name in &required {
                    let mut b = valid.clone();
                    b.as_object_mut().unwrap().remove(*name);
                    invalid.push((format!("{name} missing"), b));
                }
                for (why, b) in invalid {
                    let before = w.p.contents();
                    let r = call(
                        &w.p,
                        api,
                        with_body(w.request(api, method, pattern, op), &b),
                    );
                    let what = format!("{api} {} {pattern} with {why}: {b}", method.as_str());
                    assert!(
                        (400..500).contains(&r.status),
                        "{what} → {} {}",
                        r.status,
                        String::from_utf8_lossy(&r.body)
                    );
                    assert!(w.p.contents() == before, "{what} wrote something");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 60, "{checked} invalid requests tried");
}

#[test]
fn requests_the_schemas_allow_are_not_refused_for_reasons_the_document_does_not_state() {
    let w = world();
    let mut refused = Vec::new();
    let mut checked = 0;
    for api in ["storefront", "admin"] {
        let doc = document(api);
        for (pattern, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema")
                else {
                    continue;
                };
                let method = Method::parse(&method.to_ascii_uppercase()).unwrap();
                let exact = example_in(doc, schema, &w.ids);
                // JSON has one number type: `48.0` is the integer 48 to a JSON Schema, and
                // to a client that computed it.
                for body in [exact.clone(), integers_as_floats(&exact)] {
                    // Each in a world of its own: a rule about what is already there (a
                    // cart line's cap) is not the body's fault. Ids are the same in every
                    // world (the clock and the generator are seeded).
                    let w = world();
                    let r = call(
                        &w.p,
                        api,
                        with_body(w.request(api, method, pattern, op), &body),
                    );
                    checked += 1;
                    // A valid body may still name something that does not exist (404), clash
                    // with the state things are in (409), or be refused by a rule on several
                    // fields that the field's own schema cannot say; a 400, 415 or 5xx, or a
                    // 422 about one field's own value, is the document failing to say a rule.
                    let problem = r.body_json();
                    // A body that does not fit the types (no field named) is a refusal too.
                    let unfit =
                        r.status == 422 && problem["errors"].as_array().is_none_or(Vec::is_empty);
                    let field_rule = r.status == 422
                        && problem["errors"].as_array().is_some_and(|e| {
                            e.iter().any(|e| {
                                let path = e["field"].as_str().unwrap_or("");
                                path.split('.')
                                    .try_fold(&body, |v, part| v.get(part))
                                    .is_some()
                            })
                        });
                    // 502/503: a service behind it is away (the tests reach no Stripe), not a
                    // refusal of the request.
                    let unavailable = matches!(r.status, 502 | 503);
                    if matches!(r.status, 400 | 413 | 415)
                        || (r.status >= 500 && !unavailable)
                        || field_rule
                        || unfit
                    {
                        refused.push(format!(
                            "{api} {} {pattern} with {body}\n  → {} {}",
                            method.as_str(),
                            r.status,
                            String::from_utf8_lossy(&r.body)
                        ));
                    }
                }
            }
        }
    }
    assert!(checked > 50, "{checked} valid requests tried");
    assert!(refused.is_empty(), "refused:\n{}", refused.join("\n"));
}

fn integers_as_floats(v: &Value) -> Value {
    match v {
        Value::Number(n) => n.as_i64().map_or_else(|| v.clone(), |i| json!(i as f64)),
        Value::Array(a) => Value::Array(a.iter().map(integers_as_floats).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), integers_as_floats(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}
