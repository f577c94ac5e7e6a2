//! The operations pages (see [`super::operations`]), as maud templates in the house layout.

use super::pages::{FormKeys, Page, badge, csrf, layout};
use crate::http::Request;
use lading_core::automation::scenarios::ScenarioView;
use lading_core::automation::steps::StepView;
use lading_core::companies::addresses::AddressView;
use lading_core::domain::ShipmentStatus;
use lading_core::fulfillment::admin::FulfillmentOrderView;
use lading_core::job_runs::JobRunPage;
use lading_core::operator_tasks::TaskView;
use lading_core::outbound::deliveries::DeliveryView;
use lading_core::outbound::endpoints::EndpointView;
use lading_core::shipments::couriers::CourierView;
use lading_core::shipments::{Destination, ShipmentView};
use lading_core::timelines::Timeline;
use maud::{Markup, html};

fn back(to: &str) -> Markup {
    html! { input type="hidden" name="back" value=(to); }
}

fn place(d: Option<&Destination>) -> String {
    d.map_or_else(
        || "—".to_owned(),
        |d| {
            [
                Some(d.name.as_str()),
                Some(d.line1.as_str()),
                d.line2.as_deref(),
                Some(d.city.as_str()),
                d.region.as_deref(),
                d.postal_code.as_deref(),
                Some(d.country.as_str()),
            ]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(", ")
        },
    )
}

fn tracking(s: &ShipmentView) -> Markup {
    html! {
        @match (s.tracking_url.as_deref().filter(|u| u.starts_with("https://") || u.starts_with("http://")), s.tracking_number.as_deref()) {
            (Some(u), Some(t)) => a href=(u) rel="noreferrer" target="_blank" { (t) },
            (_, Some(t)) => (t),
            _ => "—",
        }
    }
}

/// The next moves a parcel can make, as buttons.
fn moves(s: &ShipmentView, keys: FormKeys<'_>, to: &str) -> Markup {
    let next: &[(&str, &str)] = match s.status {
        ShipmentStatus::Draft => &[
            ("ready", "Ready"),
            ("in_transit", "Handed to courier"),
            ("cancelled", "Cancel"),
        ],
        ShipmentStatus::Ready => &[("in_transit", "Handed to courier"), ("cancelled", "Cancel")],
        ShipmentStatus::InTransit => &[("delivered", "Delivered")],
        _ => &[],
    };
    html! {
        @for (status, label) in next {
            form.inline method="post" action={ "/admin/shipments/" (s.id) "/status" } {
                (csrf(keys)) (back(to))
                input type="hidden" name="status" value=(status);
                button class=@if *status == "cancelled" { "danger" } @else { "secondary" } type="submit" { (label) }
            }
        }
    }
}

fn parcels(list: &[ShipmentView], keys: FormKeys<'_>, to: &str) -> Markup {
    html! {
        div.scroll { table {
            thead { tr { th { "Parcel" } th { "Courier" } th { "Tracking" } th { "Status" } th { "Courier says" } th { "To" } th { "Lines" } th { "" } } }
            tbody {
                @for s in list {
                    tr {
                        td { a href={ "/admin/shipments/" (s.id) } { (s.id) } }
                        td { (s.carrier.as_deref().unwrap_or("—")) }
                        td { (tracking(s)) }
                        td { (badge(s.status.as_str())) }
                        td { (s.tracking_status.as_deref().unwrap_or("")) " " (s.tracking_location.as_deref().unwrap_or("")) }
                        td { (place(s.destination.as_ref())) }
                        td { @for l in &s.lines { (l.quantity) " × " (l.sku.as_deref().unwrap_or(&l.title)) br; } }
                        td { (moves(s, keys, to)) }
                    }
                }
                @if list.is_empty() { tr { td colspan="8" { "No parcels yet." } } }
            }
        } }
    }
}

/// What the fulfillment order's page shows.
pub struct FoScreen<'a> {
    pub fo: &'a FulfillmentOrderView,
    pub in_house: bool,
    pub couriers: &'a [CourierView],
    pub scenarios: &'a [ScenarioView],
    pub book: &'a [AddressView],
}

pub fn fulfillment_order(pg: &Page<'_>, s: &FoScreen<'_>) -> Markup {
    let fo = s.fo;
    let here = format!("/admin/fulfillment-orders/{}", fo.id);
    let lines = fo.lines.clone().unwrap_or_default();
    let left: i64 = lines
        .iter()
        .map(|l| l["remaining_quantity"].as_i64().unwrap_or(0))
        .sum();
    layout(
        pg,
        html! {
            p { "Order " a href={ "/admin/orders/" (fo.order_id) } { (fo.order_number) } " · " (fo.provider.as_str()) " · " (badge(fo.status.as_str()))
                " · " a href={ "/admin/orders/" (fo.order_id) "/timeline" } { "Timeline" } }
            h2 { "Lines" }
            div.scroll { table {
                thead { tr { th { "SKU" } th { "Item" } th.num { "Ordered" } th.num { "Left to ship" } } }
                tbody { @for l in &lines {
                    tr { td { (l["sku"].as_str().unwrap_or("")) } td { (l["title"].as_str().unwrap_or("")) }
                         td.num { (l["quantity"].as_i64().unwrap_or(0)) } td.num { (l["remaining_quantity"].as_i64().unwrap_or(0)) } }
                } }
            } }
            h2 { "Parcels" }
            (parcels(fo.shipments.as_deref().unwrap_or_default(), pg.csrf, &here))
            @if s.in_house && left > 0 {
                form.card #build-parcel method="post" action={ (here) "/shipments" } {
                    (csrf(pg.csrf)) (back(&here))
                    h3 { "Build a parcel" }
                    @for l in &lines {
                        @let item = l["order_item_id"].as_str().unwrap_or("");
                        @let max = l["remaining_quantity"].as_i64().unwrap_or(0);
                        @if max > 0 {
                            label for={ "qty-" (item) } { (l["sku"].as_str().unwrap_or("")) " — " (l["title"].as_str().unwrap_or("")) " (" (max) " left)" }
                            input id={ "qty-" (item) } type="number" name={ "qty_" (item) } min="0" max=(max) value="0";
                        }
                    }
                    label for="parcel-to" { "Ship to" }
                    select #parcel-to name="address_id" {
                        option value="" { "The company's default (or the order's address)" }
                        @for a in s.book { option value=(a.id) { (a.label.as_deref().unwrap_or(&a.name)) " — " (a.line1) ", " (a.city) } }
                        option value="typed" { "Typed below" }
                    }
                    fieldset {
                        legend { "Another address (when “Typed below”)" }
                        @for (name, label) in [("name", "Recipient"), ("line1", "Street"), ("city", "City"), ("region", "Region"), ("postal_code", "Postal code"), ("country", "Country (ISO, e.g. US)")] {
                            label for={ "to-" (name) } { (label) }
                            input id={ "to-" (name) } type="text" name=(name);
                        }
                        label { input type="checkbox" name="save_address"; " Save it to the company's address book" }
                    }
                    label for="parcel-courier" { "Courier" }
                    select #parcel-courier name="courier" {
                        option value="" { "Not yet" }
                        @for c in s.couriers.iter().filter(|c| c.active) { option value=(c.code) { (c.name) } }
                    }
                    label for="parcel-tracking" { "Tracking number" }
                    input #parcel-tracking type="text" name="tracking_number" maxlength="100";
                    @if !s.scenarios.is_empty() {
                        label for="parcel-scenario" { "After delivery (automation)" }
                        select #parcel-scenario name="scenario" {
                            option value="" { "Nothing" }
                            @for sc in s.scenarios.iter().filter(|c| c.active) { option value=(sc.code) { (sc.name) } }
                        }
                    }
                    button type="submit" { "Build parcel" }
                }
            } @else if !s.in_house {
                p.hint { (fo.provider.as_str()) " ships this fulfillment order and reports its parcels." }
            }
        },
    )
}

pub fn shipment(pg: &Page<'_>, s: &ShipmentView, steps: &[StepView], t: &Timeline) -> Markup {
    let here = format!("/admin/shipments/{}", s.id);
    layout(
        pg,
        html! {
            p { "Order " a href={ "/admin/orders/" (s.order_id) } { (s.order_number) } " · "
                a href={ "/admin/fulfillment-orders/" (s.fulfillment_order_id) } { "Fulfillment order" } " · " (badge(s.status.as_str())) }
            dl {
                dt { "Courier" } dd { (s.carrier.as_deref().unwrap_or("—")) }
                dt { "Tracking" } dd { (tracking(s)) }
                dt { "Courier says" } dd { (s.tracking_status.as_deref().unwrap_or("—")) " " (s.tracking_location.as_deref().unwrap_or("")) }
                dt { "To" } dd { (place(s.destination.as_ref())) }
                dt { "Lines" } dd { @for l in &s.lines { (l.quantity) " × " (l.sku.as_deref().unwrap_or(&l.title)) br; } }
            }
            div.actions { (moves(s, pg.csrf, &here)) }
            h2 { "Automation" }
            div.scroll { table {
                thead { tr { th { "Scenario" } th { "Status" } th.num { "Attempts" } th { "Last error" } th { "" } } }
                tbody {
                    @for st in steps {
                        tr {
                            td { (st.scenario) }
                            td { (badge(st.status.as_str())) }
                            td.num { (st.attempts) " / " (st.max_attempts) }
                            td { (st.last_error.as_deref().unwrap_or("")) (st.fallback_note.as_deref().map(|n| format!(" (by hand: {n})")).unwrap_or_default()) }
                            td {
                                @if st.status.as_str() == "failed" {
                                    form.inline method="post" action={ "/admin/automation-steps/" (st.id) "/retry" } {
                                        (csrf(pg.csrf)) (back(&here)) button.secondary type="submit" { "Retry" }
                                    }
                                }
                                @if matches!(st.status.as_str(), "failed" | "pending") {
                                    form.inline method="post" action={ "/admin/automation-steps/" (st.id) "/fallback" } {
                                        (csrf(pg.csrf)) (back(&here))
                                        input type="text" name="note" placeholder="What was done by hand" aria-label="What was done by hand" required;
                                        button.secondary type="submit" { "Done by hand" }
                                    }
                                }
                            }
                        }
                    }
                    @if steps.is_empty() { tr { td colspan="5" { "No automation on this parcel." } } }
                }
            } }
            h2 { "Timeline" }
            (timeline(t))
        },
    )
}

fn timeline(t: &Timeline) -> Markup {
    html! {
        ol.timeline {
            @for e in &t.data {
                li {
                    time { (e.at.get(..19).unwrap_or(&e.at).replace('T', " ")) }
                    " " (badge(&e.source)) " " strong { (e.kind) }
                    @if let Some(obj) = e.detail.as_object() {
                        " " small { @for (k, v) in obj.iter().filter(|(_, v)| !v.is_null()).take(6) {
                            (k) ": " (v.as_str().map_or_else(|| v.to_string(), str::to_owned)) "  "
                        } }
                    }
                }
            }
            @if t.data.is_empty() { li { "Nothing yet." } }
        }
    }
}

pub fn order_timeline(pg: &Page<'_>, order_id: &str, t: &Timeline) -> Markup {
    layout(
        pg,
        html! {
            p { a href={ "/admin/orders/" (order_id) } { "← The order" } }
            (timeline(t))
        },
    )
}

pub fn operations(pg: &Page<'_>, runs: &JobRunPage, tasks: &[TaskView], req: &Request) -> Markup {
    let q = |k: &str| req.query_param(k).unwrap_or("").to_owned();
    let (queue, status) = (q("queue"), q("status"));
    layout(
        pg,
        html! {
            h2 { "Open tasks" }
            div.scroll { table {
                thead { tr { th { "Task" } th { "Detail" } th { "Since" } th { "" } } }
                tbody {
                    @for t in tasks {
                        tr {
                            td { (t.title) }
                            td { (t.detail.as_deref().unwrap_or("")) }
                            td { (t.created_at.get(..16).unwrap_or(&t.created_at)) }
                            td { form.inline method="post" action={ "/admin/operator-tasks/" (t.id) "/resolve" } {
                                (csrf(pg.csrf)) (back("/admin/operations")) button.secondary type="submit" { "Resolved" } } }
                        }
                    }
                    @if tasks.is_empty() { tr { td colspan="4" { "Nothing needs a person." } } }
                }
            } }
            h2 { "Queues" }
            div.scroll { table #queue-summary {
                thead { tr { th { "Queue" } th { "Status" } th.num { "Runs" } th.num { "Avg wait (ms)" } th.num { "Avg run (ms)" } } }
                tbody { @for s in &runs.summary {
                    tr { td { (s.queue) } td { a href={ "/admin/operations?queue=" (s.queue) "&status=" (s.status) } { (badge(&s.status)) } }
                         td.num { (s.count) } td.num { (s.avg_wait_ms.map(|v| format!("{v:.0}")).unwrap_or_default()) }
                         td.num { (s.avg_run_ms.map(|v| format!("{v:.0}")).unwrap_or_default()) } }
                } }
            } }
            form.filters method="get" action="/admin/operations" {
                select name="queue" aria-label="Queue" {
                    @for (v, l) in [("", "Every queue"), ("lading-fulfillment", "lading-fulfillment"), ("cron", "cron")] {
                        option value=(v) selected[queue == v] { (l) }
                    }
                }
                select name="status" aria-label="Status" {
                    @for v in ["", "active", "completed", "delayed", "failed"] {
                        option value=(v) selected[status == v] { (if v.is_empty() { "Any status" } else { v }) }
                    }
                }
                button type="submit" { "Filter" }
            }
            div.scroll { table #job-runs {
                thead { tr { th { "When" } th { "Queue" } th { "Kind" } th { "About" } th { "Status" } th.num { "Attempt" } th { "Last error" } th { "Next retry" } } }
                tbody {
                    @for r in &runs.data {
                        tr {
                            td { (r.created_at.get(..19).unwrap_or(&r.created_at).replace('T', " ")) }
                            td { (r.queue) }
                            td { (r.kind) }
                            td { @match (r.entity_type.as_deref(), r.entity_id.as_deref()) {
                                (Some("fulfillment_order"), Some(id)) => a href={ "/admin/fulfillment-orders/" (id) } { (id) },
                                (Some(kind), Some(id)) => { (kind) " " (id) },
                                _ => (r.detail.as_deref().unwrap_or("")),
                            } }
                            td { (badge(&r.status)) }
                            td.num { (r.attempt) " / " (r.max_attempts) }
                            td { (r.last_error.as_deref().unwrap_or("")) }
                            td { (r.next_retry_at.as_deref().unwrap_or("")) }
                        }
                    }
                    @if runs.data.is_empty() { tr { td colspan="8" { "No runs match." } } }
                }
            } }
            @if let Some(next) = &runs.next_starting_after {
                p { a.button.secondary href={ "/admin/operations?queue=" (queue) "&status=" (status) "&starting_after=" (next) } { "Older →" } }
            }
        },
    )
}

pub fn webhooks(pg: &Page<'_>, list: &[EndpointView]) -> Markup {
    webhooks_created(pg, list, "")
}

/// The endpoints, with the secret of the one just added (shown this once).
pub fn webhooks_created(pg: &Page<'_>, list: &[EndpointView], secret: &str) -> Markup {
    layout(
        pg,
        html! {
            @if !secret.is_empty() {
                p.card { "Signing secret: " code #new-secret { (secret) } }
            }
            div.scroll { table {
                thead { tr { th { "URL" } th { "Events" } th { "Status" } th { "Secret" } } }
                tbody {
                    @for e in list {
                        tr { td { a href={ "/admin/webhooks/" (e.id) } { (e.url) } } td { (e.event_types.join(", ")) }
                             td { (badge(&e.status)) " " (e.disabled_reason.as_deref().unwrap_or("")) } td { code { (e.secret) } } }
                    }
                    @if list.is_empty() { tr { td colspan="4" { "No endpoints: nothing is sent." } } }
                }
            } }
            form.card method="post" action="/admin/webhooks" {
                (csrf(pg.csrf)) (back("/admin/webhooks"))
                h3 { "Add an endpoint" }
                label for="wh-url" { "URL" }
                input #wh-url type="url" name="url" required placeholder="https://erp.example.com/lading";
                label for="wh-types" { "Events (comma-separated; empty: every event)" }
                input #wh-types type="text" name="event_types" placeholder="order.paid, shipment.delivered, invoice.issued";
                p.hint { "Messages are signed as Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature): verify them with the standardwebhooks library and the secret shown once after adding." }
                button type="submit" { "Add endpoint" }
            }
        },
    )
}

pub fn webhook(pg: &Page<'_>, e: &EndpointView, list: &[DeliveryView]) -> Markup {
    let here = format!("/admin/webhooks/{}", e.id);
    layout(
        pg,
        html! {
            p { (badge(&e.status)) " " (e.disabled_reason.as_deref().unwrap_or("")) " · events: " (e.event_types.join(", ")) " · secret " code { (e.secret) } }
            form.inline method="post" action={ (here) "/enabled" } {
                (csrf(pg.csrf)) (back(&here))
                @if e.status == "enabled" {
                    input type="hidden" name="enabled" value="false";
                    button.secondary type="submit" { "Pause" }
                } @else {
                    input type="hidden" name="enabled" value="true";
                    button type="submit" { "Enable again" }
                }
            }
            h2 { "Deliveries" }
            div.scroll { table {
                thead { tr { th { "When" } th { "Event" } th { "Status" } th.num { "Attempts" } th { "Last answer" } th { "" } } }
                tbody {
                    @for d in list {
                        tr {
                            td { (d.created_at.get(..19).unwrap_or(&d.created_at).replace('T', " ")) }
                            td { (d.event_type) }
                            td { (badge(&d.status)) }
                            td.num { (d.attempts) " / " (d.max_attempts) }
                            td { (d.last_status.map(|s| s.to_string()).unwrap_or_default()) " " (d.last_error.as_deref().unwrap_or("")) }
                            td { @if matches!(d.status.as_str(), "failed" | "succeeded") {
                                form.inline method="post" action={ "/admin/webhook-deliveries/" (d.id) "/resend" } {
                                    (csrf(pg.csrf)) (back(&here)) button.secondary type="submit" { "Send again" } }
                            } }
                        }
                    }
                    @if list.is_empty() { tr { td colspan="6" { "Nothing sent yet." } } }
                }
            } }
        },
    )
}
