//! The shipment builder: an operator makes a parcel of a fulfillment order run in house —
//! which lines and how many of each, where it goes, which courier carries it under which
//! tracking number. The quantities are checked by the batch that writes the parcel (each
//! line's remaining quantity, read inside the insert), so concurrent builders never take
//! more than a line has left.

use super::{Destination, ShipmentView, couriers, derive_statements, shipment_event};
use crate::AppError;
use crate::companies::addresses::{self, AddressInput, Checked};
use crate::db::{Db as _, DbError, DbExt as _, Stmt};
use crate::domain::{FulfillmentStatus, ProviderCode, ShipmentStatus};
use crate::fulfillment::FulfillmentOrderRow;
use crate::ports::{Platform, PlatformExt as _};
use crate::stmt;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentInput {
    /// An address from the order's company's book.
    #[serde(default)]
    pub address_id: Option<String>,
    /// An address typed in (used once, unless `save_address`).
    #[serde(default)]
    pub address: Option<AddressInput>,
    /// Save the typed-in address to the company's book (the book's own copy is used when it
    /// has the same place already).
    #[serde(default)]
    pub save_address: bool,
    /// Order items and how many of each go in this parcel.
    #[schemars(length(min = 1, max = 100))]
    pub lines: Vec<ShipmentLineInput>,
    /// One of the store's active couriers (`GET /admin/api/v1/couriers`).
    #[serde(default)]
    #[schemars(length(min = 2, max = 30))]
    pub courier: Option<String>,
    #[serde(default)]
    #[schemars(length(min = 1, max = 100))]
    pub tracking_number: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentLineInput {
    pub order_item_id: String,
    #[schemars(range(min = 1, max = 9999))]
    pub quantity: i64,
    /// What happens after this line is delivered (each runs once the parcel is).
    #[serde(default)]
    #[schemars(length(max = 10))]
    pub automation_steps: Vec<InlineStep>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineStep {
    /// One of the store's active scenarios (`GET /admin/api/v1/automation-scenarios`).
    #[schemars(length(min = 2, max = 40))]
    pub scenario: String,
    /// Sent to the scenario's endpoint as it is (a JSON object, at most 8 KB).
    #[serde(default)]
    pub payload: Option<serde_json::Value>,
}

/// Only a draft or ready parcel is edited; its lines are fixed once built (cancel it and
/// build another to change them).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipmentUpdate {
    #[serde(default)]
    pub address_id: Option<String>,
    #[serde(default)]
    pub address: Option<AddressInput>,
    #[serde(default)]
    pub save_address: bool,
    #[serde(default)]
    #[schemars(length(min = 2, max = 30))]
    pub courier: Option<String>,
    #[serde(default)]
    #[schemars(length(min = 1, max = 100))]
    pub tracking_number: Option<String>,
}

/// Whether operators ship this fulfillment order themselves (no provider reports on it).
pub fn built_in_house(fo: &FulfillmentOrderRow) -> bool {
    matches!(fo.provider, ProviderCode::Manual | ProviderCode::Warehouse)
        || (fo.provider == ProviderCode::Gelato && fo.external_id.is_none())
}

const SHIPPABLE: &[FulfillmentStatus] = &[
    FulfillmentStatus::Submitted,
    FulfillmentStatus::InProduction,
    FulfillmentStatus::PartiallyShipped,
    FulfillmentStatus::CancelRejected,
];

fn shippable_sql() -> String {
    SHIPPABLE
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where a parcel goes, decided before the batch: the address's id in the book (when it
/// is one), its snapshot, and the statement that saves a typed-in address.
struct Place {
    address_id: Option<String>,
    destination: Option<Destination>,
    save: Option<Stmt>,
}

fn destination_of_book(a: &addresses::AddressView) -> Destination {
    Destination {
        name: a.name.clone(),
        line1: a.line1.clone(),
        line2: a.line2.clone(),
        city: a.city.clone(),
        region: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
        phone: a.phone.clone(),
    }
}

/// The order's company and its shipping address snapshot (consumer orders have one).
#[derive(Deserialize)]
struct OrderPlace {
    company_id: Option<String>,
    shipping_address: Option<String>,
    default_shipping_address_id: Option<String>,
}

async fn place<P: Platform>(
    p: &P,
    store_id: &str,
    order_id: &str,
    address_id: Option<&str>,
    typed: Option<&AddressInput>,
    save: bool,
    defaulted: bool,
) -> Result<Place, AppError> {
    let o: OrderPlace = p
        .db()
        .first(stmt!(
            "SELECT o.company_id, o.shipping_address, c.default_shipping_address_id FROM orders o \
             LEFT JOIN companies c ON c.id = o.company_id WHERE o.id = ?",
            order_id
        ))
        .await?
        .ok_or(AppError::NotFound("order"))?;
    let from_book = async |field: &str, id: &str| -> Result<Place, AppError> {
        let Some(company) = &o.company_id else {
            return Err(AppError::validation(
                field,
                "only a company's order ships to its address book",
            ));
        };
        let a = addresses::in_book(p, company, id).await?.ok_or_else(|| {
            AppError::validation(field, "is not an address in the company's book")
        })?;
        Ok(Place {
            address_id: Some(a.id.clone()),
            destination: Some(destination_of_book(&a)),
            save: None,
        })
    };
    match (address_id, typed) {
        (Some(_), Some(_)) => Err(AppError::validation(
            "address",
            "give either address_id or address, not both",
        )),
        (Some(id), None) => from_book("address_id", id).await,
        (None, Some(a)) => {
            let c = Checked::from_input("address.", a)?;
            let destination = Destination {
                name: c.name.clone(),
                line1: c.line1.clone(),
                line2: c.line2.clone(),
                city: c.city.clone(),
                region: c.region.clone(),
                postal_code: c.postal_code.clone(),
                country: c.country.as_str().to_owned(),
                phone: c.phone.clone(),
            };
            if !save {
                return Ok(Place {
                    address_id: None,
                    destination: Some(destination),
                    save: None,
                });
            }
            let Some(company) = &o.company_id else {
                return Err(AppError::validation(
                    "save_address",
                    "only a company's order has an address book to save to",
                ));
            };
            if let Some(id) = addresses::same_place(p, company, &c.dedupe_key()).await? {
                return from_book("address", &id).await;
            }
            let id = p.new_id("adr");
            Ok(Place {
                save: Some(addresses::insert(&id, store_id, company, &c, p.now_ms())),
                address_id: Some(id),
                destination: Some(destination),
            })
        }
        (None, None) if !defaulted => Ok(Place {
            address_id: None,
            destination: None,
            save: None,
        }),
        (None, None) => {
            if let Some(id) = &o.default_shipping_address_id {
                return from_book("address_id", id).await;
            }
            // A consumer order's address, as Checkout collected it.
            let d = o
                .shipping_address
                .as_deref()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                .filter(|v| v["line1"].is_string() && v["country"].is_string())
                .map(|v| Destination {
                    name: v["name"].as_str().unwrap_or_default().to_owned(),
                    line1: v["line1"].as_str().unwrap_or_default().to_owned(),
                    line2: v["line2"].as_str().map(str::to_owned),
                    city: v["city"].as_str().unwrap_or_default().to_owned(),
                    region: v["state"].as_str().map(str::to_owned),
                    postal_code: v["postal_code"].as_str().map(str::to_owned),
                    country: v["country"].as_str().unwrap_or_default().to_owned(),
                    phone: None,
                });
            match d {
                Some(d) => Ok(Place {
                    address_id: None,
                    destination: Some(d),
                    save: None,
                }),
                None => Err(AppError::validation(
                    "address_id",
                    "the order has no shipping address: choose one from the company's book or type one in",
                )),
            }
        }
    }
}

/// The courier's code, name and the parcel's tracking URL, checked against the store.
async fn courier_and_tracking<P: Platform>(
    p: &P,
    store_id: &str,
    courier: Option<&str>,
    number: Option<&str>,
) -> Result<Option<(couriers::CourierView, Option<String>)>, AppError> {
    let number = crate::input::optional_line("tracking_number", number, 100)?;
    let Some(code) = courier.map(str::trim) else {
        if number.is_some() {
            return Err(AppError::validation(
                "courier",
                "a tracking number needs its courier",
            ));
        }
        return Ok(None);
    };
    let c = match couriers::get(p, store_id, code).await {
        Ok(c) if c.active => c,
        Ok(_) => return Err(AppError::validation("courier", "this courier is inactive")),
        Err(AppError::NotFound(_)) => {
            return Err(AppError::validation(
                "courier",
                "is not one of the store's couriers (GET /admin/api/v1/couriers)",
            ));
        }
        Err(e) => return Err(e),
    };
    Ok(Some((c, number)))
}

fn tracking_used(e: DbError) -> AppError {
    match e {
        DbError::Unique(m) if m.contains("tracking") => AppError::conflict(
            "tracking_number_used",
            "Another parcel of this store has this courier and tracking number.",
        ),
        e => e.into(),
    }
}

/// `POST /admin/api/v1/fulfillment-orders/{id}/shipments`: a draft parcel.
///
/// # Errors
/// 404 not this store's; 409 when a provider ships it, it is not awaiting shipment, a line
/// has fewer units left than asked (`quantity_exceeds_remaining`), or the tracking number
/// is another parcel's; 422 bad lines, address, courier or tracking number.
pub async fn create<P: Platform>(
    p: &P,
    store_id: &str,
    fo_id: &str,
    author: &str,
    input: ShipmentInput,
) -> Result<ShipmentView, AppError> {
    let fo = crate::fulfillment::fo_of_store(p, store_id, fo_id).await?;
    if !built_in_house(&fo) {
        return Err(AppError::conflict(
            "fulfillment_by_provider",
            format!(
                "{} ships this fulfillment order and reports its parcels itself.",
                fo.provider.as_str()
            ),
        ));
    }
    if !SHIPPABLE.contains(&fo.status) {
        return Err(AppError::conflict(
            "fulfillment_not_shippable",
            format!(
                "A fulfillment order that is {} takes no new parcel.",
                fo.status.as_str()
            ),
        ));
    }
    if input.lines.is_empty() || input.lines.len() > 100 {
        return Err(AppError::validation("lines", "give 1 to 100 lines"));
    }
    let mut lines: Vec<(String, i64)> = Vec::new();
    for (i, l) in input.lines.iter().enumerate() {
        if !(1..=9999).contains(&l.quantity) {
            return Err(AppError::validation(
                format!("lines[{i}].quantity"),
                "must be 1 to 9999",
            ));
        }
        let line_id = format!("fol_{}", l.order_item_id.trim());
        if lines.iter().any(|(id, _)| *id == line_id) {
            return Err(AppError::validation(
                format!("lines[{i}].order_item_id"),
                "appears twice; give each item once",
            ));
        }
        lines.push((line_id, l.quantity));
    }
    let mut steps = Vec::new();
    for (i, l) in input.lines.iter().enumerate() {
        if l.automation_steps.len() > 10 {
            return Err(AppError::validation(
                format!("lines[{i}].automation_steps"),
                "at most 10 steps a line",
            ));
        }
        for (j, st) in l.automation_steps.iter().enumerate() {
            let field = format!("lines[{i}].automation_steps[{j}]");
            let (scenario, max_attempts) = crate::automation::steps::usable_scenario(
                p,
                store_id,
                &format!("{field}.scenario"),
                &st.scenario,
            )
            .await?;
            let payload =
                crate::automation::steps::checked_payload(st.payload.clone()).map_err(|_| {
                    AppError::validation(
                        format!("{field}.payload"),
                        "must be a JSON object of at most 8 KB",
                    )
                })?;
            steps.push(crate::automation::steps::NewStep {
                id: p.new_id("step"),
                line: lines[i].0.clone(),
                scenario,
                payload,
                max_attempts,
            });
        }
    }
    let known: Vec<serde_json::Value> = p
        .db()
        .query(stmt!(
            "SELECT id FROM fulfillment_order_lines WHERE fulfillment_order_id = ?",
            fo_id
        ))
        .await?;
    if let Some(i) = lines
        .iter()
        .position(|(id, _)| !known.iter().any(|k| k["id"].as_str() == Some(id)))
    {
        return Err(AppError::validation(
            format!("lines[{i}].order_item_id"),
            "is not an item of this fulfillment order",
        ));
    }
    let courier = courier_and_tracking(
        p,
        store_id,
        input.courier.as_deref(),
        input.tracking_number.as_deref(),
    )
    .await?;
    let place = place(
        p,
        store_id,
        &fo.order_id,
        input.address_id.as_deref(),
        input.address.as_ref(),
        input.save_address,
        true,
    )
    .await?;
    let now = p.now_ms();
    let id = p.new_id("shp");
    // Every line has what this parcel takes, and the fulfillment order still ships.
    let mut guard = stmt!(
        format!(
            "EXISTS (SELECT 1 FROM fulfillment_orders WHERE id = ? AND status IN ({}))",
            shippable_sql()
        ),
        fo_id
    );
    for (line, qty) in &lines {
        guard = guard.and_when(&stmt!(
            "(SELECT remaining_quantity FROM fulfillment_order_lines WHERE id = ? AND fulfillment_order_id = ?) >= ?",
            line,
            fo_id,
            *qty
        ));
    }
    let mut batch = Vec::new();
    if let Some(save) = place.save {
        batch.push(save.when(&guard));
    }
    let built_at = batch.len();
    let (code, name, number, url) = match &courier {
        Some((c, n)) => (
            Some(c.code.clone()),
            Some(c.name.clone()),
            n.clone(),
            n.as_deref()
                .map(|n| couriers::tracking_url(&c.tracking_url_template, n)),
        ),
        None => (None, None, None, None),
    };
    batch.push(
        stmt!(
            "INSERT INTO shipments (id, store_id, fulfillment_order_id, external_id, courier, carrier, tracking_number, tracking_url, status, \
               address_id, destination, built_by, created_at, updated_at) \
             SELECT ?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?, ?, ?, ?",
            &id,
            store_id,
            fo_id,
            &id,
            &code,
            &name,
            &number,
            &url,
            &place.address_id,
            place
                .destination
                .as_ref()
                .map(|d| serde_json::to_string(d).unwrap_or_default()),
            author,
            now,
            now
        )
        .when(&guard),
    );
    let built = stmt!("EXISTS (SELECT 1 FROM shipments WHERE id = ?)", &id);
    for (line, qty) in &lines {
        batch.push(
            stmt!(
                "INSERT INTO shipment_lines (shipment_id, fulfillment_order_line_id, quantity) SELECT ?, ?, ?",
                &id,
                line,
                *qty
            )
            .when(&built),
        );
    }
    batch.extend(crate::automation::steps::insert_statements(
        store_id, &id, &steps, &built, now,
    ));
    if let Some(a) = &place.address_id {
        batch.push(
            stmt!("UPDATE addresses SET last_used_at = ? WHERE id = ?", now, a).and_when(&built),
        );
    }
    batch.extend(derive_statements(fo_id, &fo.order_id, now));
    batch.push(shipment_event(
        &format!("shipment.drafted:{id}"),
        store_id,
        &id,
        "shipment.drafted",
        &json!({ "fulfillment_order_id": fo_id, "order_id": fo.order_id, "lines": lines.iter().map(|(l, q)| json!({"line_id": l, "quantity": q})).collect::<Vec<_>>(), "courier": code, "tracking_number": number, "by": author }),
        now,
        built.clone(),
    ));
    let res = p.db().batch(batch).await.map_err(tracking_used)?;
    if res[built_at].changes == 0 {
        return Err(refusal(p, fo_id, &lines).await);
    }
    super::get(p, store_id, &id).await
}

/// Why a guarded insert wrote nothing: the fulfillment order moved on, or a line has too
/// few units left (named with what it has).
async fn refusal<P: Platform>(p: &P, fo_id: &str, lines: &[(String, i64)]) -> AppError {
    #[derive(Deserialize)]
    struct Left {
        id: String,
        remaining_quantity: i64,
    }
    let left: Vec<Left> = match p
        .db()
        .query(stmt!(
            "SELECT id, remaining_quantity FROM fulfillment_order_lines WHERE fulfillment_order_id = ?",
            fo_id
        ))
        .await
    {
        Ok(l) => l,
        Err(e) => return e.into(),
    };
    for (i, (line, qty)) in lines.iter().enumerate() {
        if let Some(l) = left
            .iter()
            .find(|l| l.id == *line && l.remaining_quantity < *qty)
        {
            return AppError::conflict(
                "quantity_exceeds_remaining",
                format!(
                    "lines[{i}] asks for {qty} but only {} of that item are left to ship.",
                    l.remaining_quantity
                ),
            );
        }
    }
    AppError::conflict(
        "fulfillment_not_shippable",
        "The fulfillment order changed meanwhile and takes no new parcel.",
    )
}

/// `PATCH /admin/api/v1/shipments/{id}`: a draft or ready parcel's destination, courier
/// and tracking number.
///
/// # Errors
/// 404; 409 once it left (or was cancelled), or the tracking number is another parcel's;
/// 422 bad fields.
pub async fn update<P: Platform>(
    p: &P,
    store_id: &str,
    id: &str,
    author: &str,
    input: ShipmentUpdate,
) -> Result<ShipmentView, AppError> {
    let cur = super::row(p, store_id, id).await?;
    if !matches!(cur.status, ShipmentStatus::Draft | ShipmentStatus::Ready) {
        return Err(AppError::conflict(
            "shipment_not_editable",
            format!(
                "A parcel that is {} can no longer be edited.",
                cur.status.as_str()
            ),
        ));
    }
    let courier_code = input.courier.as_deref().or(cur.courier.as_deref());
    let number = input
        .tracking_number
        .as_deref()
        .or(cur.tracking_number.as_deref());
    let courier = courier_and_tracking(p, store_id, courier_code, number).await?;
    let place = place(
        p,
        store_id,
        &cur.order_id,
        input.address_id.as_deref(),
        input.address.as_ref(),
        input.save_address,
        false,
    )
    .await?;
    let now = p.now_ms();
    let editable = stmt!(
        "EXISTS (SELECT 1 FROM shipments WHERE id = ? AND status IN ('draft', 'ready'))",
        id
    );
    let mut batch = Vec::new();
    if let Some(save) = place.save {
        batch.push(save.when(&editable));
    }
    let (code, name, number, url) = match &courier {
        Some((c, n)) => (
            Some(c.code.clone()),
            Some(c.name.clone()),
            n.clone(),
            n.as_deref()
                .map(|n| couriers::tracking_url(&c.tracking_url_template, n)),
        ),
        None => (None, None, None, None),
    };
    let changed_at = batch.len();
    batch.push(stmt!(
        "UPDATE shipments SET courier = ?, carrier = ?, tracking_number = ?, tracking_url = ?, \
           address_id = CASE WHEN ? THEN ? ELSE address_id END, destination = CASE WHEN ? THEN ? ELSE destination END, updated_at = ? \
         WHERE id = ? AND status IN ('draft', 'ready')",
        &code,
        &name,
        &number,
        &url,
        place.destination.is_some(),
        &place.address_id,
        place.destination.is_some(),
        place
            .destination
            .as_ref()
            .map(|d| serde_json::to_string(d).unwrap_or_default()),
        now,
        id
    ));
    batch.push(shipment_event(
        &format!("shipment.updated:{id}:{now}"),
        store_id,
        id,
        "shipment.updated",
        &json!({ "courier": code, "tracking_number": number, "address_id": place.address_id, "destination_changed": place.destination.is_some(), "by": author }),
        now,
        editable,
    ));
    let res = p.db().batch(batch).await.map_err(tracking_used)?;
    if res[changed_at].changes == 0 {
        return Err(AppError::conflict(
            "shipment_not_editable",
            "The parcel left or was cancelled meanwhile.",
        ));
    }
    super::get(p, store_id, id).await
}
