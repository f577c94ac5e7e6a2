//! A store's operational numbers in the Prometheus text format (version 0.0.4), derived by
//! one round trip of queries when scraped: orders paid, fulfillment lead time, parcel
//! delivery time, automation outcomes, queue backlog and age, job runs, webhook deliveries.
//! Readable with any admin key, or a `metrics` key made for the scraper. Alerts go to the
//! store's chat webhook when automation failures or the queue backlog pass their
//! thresholds, at most once per condition an hour.

use crate::AppError;
use crate::db::{Db as _, DbExt as _, Stmt};
use crate::ports::{HttpClient as _, OutboundRequest, Platform};
use crate::stmt;
use serde_json::{Map, Value, json};
use std::fmt::Write as _;

/// Failed automation steps in the last hour that raise an alert.
pub const AUTOMATION_FAILURES_ALERT: i64 = 3;
/// Unsent outbox messages older than a minute that raise an alert.
pub const BACKLOG_ALERT: i64 = 100;

fn reads(store_id: &str, now: i64) -> Vec<Stmt> {
    vec![
        stmt!(
            "SELECT status, financial_status, COUNT(*) AS n FROM orders WHERE store_id = ? AND status <> 'draft' GROUP BY status, financial_status",
            store_id
        ),
        // Lead time: paid → the first parcel of each fulfillment order on its way.
        stmt!(
            "SELECT COUNT(*) AS n, COALESCE(SUM(first_out - o.paid_at), 0) AS ms FROM \
               (SELECT f.order_id, MIN(s.shipped_at) AS first_out FROM shipments s JOIN fulfillment_orders f ON f.id = s.fulfillment_order_id \
                WHERE s.store_id = ? AND s.shipped_at IS NOT NULL AND s.status IN ('in_transit', 'delivered') GROUP BY f.id) x \
             JOIN orders o ON o.id = x.order_id WHERE o.paid_at IS NOT NULL",
            store_id
        ),
        stmt!(
            "SELECT COUNT(*) AS n, COALESCE(SUM(delivered_at - shipped_at), 0) AS ms FROM shipments \
             WHERE store_id = ? AND status = 'delivered' AND shipped_at IS NOT NULL AND delivered_at IS NOT NULL",
            store_id
        ),
        stmt!(
            "SELECT status, COUNT(*) AS n FROM shipments WHERE store_id = ? GROUP BY status",
            store_id
        ),
        stmt!(
            "SELECT status, COUNT(*) AS n FROM automation_steps WHERE store_id = ? GROUP BY status",
            store_id
        ),
        stmt!(
            "SELECT kind, COUNT(*) AS n, COALESCE(MAX(? - created_at), 0) AS oldest_ms FROM outbox \
             WHERE store_id = ? AND sent_at IS NULL GROUP BY kind",
            now,
            store_id
        ),
        stmt!(
            "SELECT queue, status, COUNT(*) AS n FROM job_runs WHERE store_id = ? OR store_id IS NULL GROUP BY queue, status",
            store_id
        ),
        stmt!(
            "SELECT status, COUNT(*) AS n FROM webhook_deliveries WHERE store_id = ? GROUP BY status",
            store_id
        ),
        stmt!(
            "SELECT status, COUNT(*) AS n FROM webhook_endpoints WHERE store_id = ? GROUP BY status",
            store_id
        ),
        stmt!(
            "SELECT COUNT(*) AS n FROM operator_tasks WHERE store_id = ? AND status = 'open'",
            store_id
        ),
    ]
}

fn num(r: &Map<String, Value>, k: &str) -> i64 {
    r.get(k)
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
        .unwrap_or(0)
}

fn text<'a>(r: &'a Map<String, Value>, k: &str) -> &'a str {
    r.get(k).and_then(Value::as_str).unwrap_or("")
}

type Labels = Vec<(&'static str, String)>;

/// One metric family: its help, type and samples (labels, value); a summary's samples are
/// its `_sum` and `_count` (no quantiles).
struct Family {
    name: &'static str,
    help: &'static str,
    kind: &'static str,
    samples: Vec<(Labels, f64)>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render(families: &[Family]) -> String {
    let mut out = String::new();
    for f in families {
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
        for (i, (labels, v)) in f.samples.iter().enumerate() {
            let suffix = match (f.kind, i) {
                ("summary", 0) => "_sum",
                ("summary", _) => "_count",
                _ => "",
            };
            let l = if labels.is_empty() {
                String::new()
            } else {
                format!(
                    "{{{}}}",
                    labels
                        .iter()
                        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            };
            let _ = writeln!(out, "{}{suffix}{l} {v}", f.name);
        }
    }
    out
}

/// `GET /admin/api/v1/metrics`: the text a Prometheus scraper reads.
///
/// # Errors
/// Storage failures.
pub async fn render_store<P: Platform>(p: &P, store_id: &str) -> Result<String, AppError> {
    let now = p.now_ms();
    let res = p.db().batch(reads(store_id, now)).await?;
    let rows = |i: usize| res[i].rows.iter();
    let by = |i: usize, label: &'static str| -> Vec<(Labels, f64)> {
        rows(i)
            .map(|r| (vec![(label, text(r, label).to_owned())], num(r, "n") as f64))
            .collect()
    };
    let paid: i64 = rows(0)
        .filter(|r| text(r, "financial_status") != "unpaid")
        .map(|r| num(r, "n"))
        .sum();
    let mut orders: Vec<(Labels, f64)> = Vec::new();
    for r in rows(0) {
        let status = text(r, "status").to_owned();
        match orders.iter_mut().find(|(l, _)| l[0].1 == status) {
            Some((_, v)) => *v += num(r, "n") as f64,
            None => orders.push((vec![("status", status)], num(r, "n") as f64)),
        }
    }
    let one = |i: usize| res[i].rows.first().cloned().unwrap_or_default();
    let (lead, delivery) = (one(1), one(2));
    let steps = by(4, "status");
    let count_of = |s: &[(Labels, f64)], status: &str| {
        s.iter()
            .find(|(l, _)| l[0].1 == status)
            .map_or(0.0, |x| x.1)
    };
    let (ok, failed) = (count_of(&steps, "succeeded"), count_of(&steps, "failed"));
    let backlog: Vec<(Labels, f64)> = rows(5)
        .map(|r| {
            (
                vec![("kind", text(r, "kind").to_owned())],
                num(r, "n") as f64,
            )
        })
        .collect();
    let age: Vec<(Labels, f64)> = rows(5)
        .map(|r| {
            (
                vec![("kind", text(r, "kind").to_owned())],
                num(r, "oldest_ms") as f64 / 1000.0,
            )
        })
        .collect();
    let jobs: Vec<(Labels, f64)> = rows(6)
        .map(|r| {
            (
                vec![
                    ("queue", text(r, "queue").to_owned()),
                    ("status", text(r, "status").to_owned()),
                ],
                num(r, "n") as f64,
            )
        })
        .collect();
    let failed_jobs: f64 = jobs
        .iter()
        .filter(|(l, _)| l[1].1 == "failed")
        .map(|x| x.1)
        .sum();
    let deliveries = by(7, "status");
    let families = [
        Family {
            name: "lading_orders_paid_total",
            help: "Orders paid (whatever happened to them after).",
            kind: "counter",
            samples: vec![(vec![], paid as f64)],
        },
        Family {
            name: "lading_orders",
            help: "Orders by status.",
            kind: "gauge",
            samples: orders,
        },
        Family {
            name: "lading_fulfillment_lead_time_seconds",
            help: "From payment to a fulfillment order's first parcel on its way.",
            kind: "summary",
            samples: vec![
                (vec![], num(&lead, "ms") as f64 / 1000.0),
                (vec![], num(&lead, "n") as f64),
            ],
        },
        Family {
            name: "lading_shipment_delivery_time_seconds",
            help: "From a parcel leaving to its delivery.",
            kind: "summary",
            samples: vec![
                (vec![], num(&delivery, "ms") as f64 / 1000.0),
                (vec![], num(&delivery, "n") as f64),
            ],
        },
        Family {
            name: "lading_shipments",
            help: "Parcels by status.",
            kind: "gauge",
            samples: by(3, "status"),
        },
        Family {
            name: "lading_automation_steps",
            help: "Automation steps by status.",
            kind: "gauge",
            samples: steps.clone(),
        },
        Family {
            name: "lading_automation_success_ratio",
            help: "Succeeded automation steps over those that ended (succeeded or failed).",
            kind: "gauge",
            samples: vec![(
                vec![],
                if ok + failed > 0.0 {
                    ok / (ok + failed)
                } else {
                    1.0
                },
            )],
        },
        Family {
            name: "lading_queue_backlog",
            help: "Outbox messages not yet on the queue, by kind.",
            kind: "gauge",
            samples: backlog,
        },
        Family {
            name: "lading_queue_oldest_age_seconds",
            help: "Age of the oldest outbox message not yet on the queue, by kind.",
            kind: "gauge",
            samples: age,
        },
        Family {
            name: "lading_job_runs",
            help: "Queue messages and cron job runs kept, by queue and status.",
            kind: "gauge",
            samples: jobs,
        },
        Family {
            name: "lading_jobs_failed_total",
            help: "Job runs that failed.",
            kind: "counter",
            samples: vec![(vec![], failed_jobs)],
        },
        Family {
            name: "lading_webhook_deliveries",
            help: "Outbound webhook deliveries by status.",
            kind: "gauge",
            samples: deliveries.clone(),
        },
        Family {
            name: "lading_webhook_failures_total",
            help: "Outbound webhook deliveries that failed after their last attempt.",
            kind: "counter",
            samples: vec![(vec![], count_of(&deliveries, "failed"))],
        },
        Family {
            name: "lading_webhook_endpoints",
            help: "Webhook endpoints by status.",
            kind: "gauge",
            samples: by(8, "status"),
        },
        Family {
            name: "lading_operator_tasks_open",
            help: "Tasks waiting for a person.",
            kind: "gauge",
            samples: vec![(vec![], num(&one(9), "n") as f64)],
        },
    ];
    Ok(render(&families))
}

/// Checks one store's thresholds and posts an alert to its chat webhook for each condition
/// past its threshold, at most once per condition an hour (the alert's id is the hour).
/// Returns how many it sent.
///
/// # Errors
/// Storage failures.
pub async fn alert<P: Platform>(p: &P) -> Result<u64, AppError> {
    #[derive(serde::Deserialize)]
    struct Row {
        id: String,
        alert_webhook_url: Option<String>,
        failures: i64,
        backlog: i64,
    }
    let now = p.now_ms();
    let rows: Vec<Row> = p
        .db()
        .query(stmt!(
            "SELECT s.id, json_extract(s.settings, '$.alert_webhook_url') AS alert_webhook_url, \
               (SELECT COUNT(*) FROM automation_steps a WHERE a.store_id = s.id AND a.status = 'failed' AND a.updated_at >= ?) AS failures, \
               (SELECT COUNT(*) FROM outbox o WHERE o.store_id = s.id AND o.sent_at IS NULL AND o.created_at < ?) AS backlog \
             FROM stores s WHERE json_extract(s.settings, '$.alert_webhook_url') IS NOT NULL",
            now - 3_600_000,
            now - 60_000
        ))
        .await?;
    let hour = now / 3_600_000;
    let mut sent = 0;
    for r in rows {
        let Some(url) = r.alert_webhook_url else {
            continue;
        };
        let mut conditions = Vec::new();
        if r.failures >= AUTOMATION_FAILURES_ALERT {
            conditions.push((
                "automation_failures",
                format!(
                    "Lading: {} automation step(s) failed in the last hour (threshold {AUTOMATION_FAILURES_ALERT}).",
                    r.failures
                ),
            ));
        }
        if r.backlog >= BACKLOG_ALERT {
            conditions.push((
                "queue_backlog",
                format!(
                    "Lading: {} queue message(s) waiting for more than a minute (threshold {BACKLOG_ALERT}).",
                    r.backlog
                ),
            ));
        }
        for (condition, message) in conditions {
            let id = format!("{}:{condition}:{hour}", r.id);
            // Claimed before it is sent: two runs in one hour send one alert.
            let claimed = p
                .db()
                .batch(vec![stmt!(
                    "INSERT INTO alerts (id, store_id, condition, message, status, created_at) VALUES (?, ?, ?, ?, 'sent', ?) ON CONFLICT DO NOTHING",
                    &id,
                    &r.id,
                    condition,
                    &message,
                    now
                )])
                .await?;
            if claimed[0].changes == 0 {
                continue;
            }
            let answer = p
                .http()
                .send(OutboundRequest {
                    method: "POST",
                    url: url.clone(),
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: Some(json!({ "text": message }).to_string().into_bytes()),
                    timeout_ms: Some(5_000),
                })
                .await;
            if answer.is_ok_and(|a| (200..300).contains(&a.status)) {
                sent += 1;
            } else {
                p.db()
                    .run(stmt!(
                        "UPDATE alerts SET status = 'failed' WHERE id = ?",
                        &id
                    ))
                    .await?;
            }
        }
    }
    Ok(sent)
}
