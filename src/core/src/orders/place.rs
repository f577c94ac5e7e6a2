//! Turns the caller's cart into a pending order: every price re-read from D1 (nothing the
//! client sends is trusted for money), shipping from the store's rate table,
//! item snapshots and the cart's checkout in one batch.

use crate::AppError;
use crate::auth::StorefrontCaller;
use crate::carts;
use crate::db::{Db as _, DbError};
use crate::domain::{CartStatus, OrderNumber, OrderStatus, VariantKind};
use crate::ports::{Platform, PlatformExt};
use crate::sql::carts::{self as cart_sql, CartLine, CartRow};
use crate::sql::orders::{self, OrderItemRow, OrderRow};
use crate::sql::stores::{self, StoreRow};
use crate::time_fmt::year;
use serde::{Deserialize, Serialize};

/// What a storefront may send with a checkout. Anything else in the body (prices, totals)
/// is ignored: amounts come from D1.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct CheckoutInput {
    /// A guest's email for the receipt and order lookup (customers' comes from their token).
    #[schemars(email, length(max = 254))]
    pub email: Option<String>,
    /// Where a custom payment form ships to (PaymentIntent flow; Checkout collects it).
    pub shipping_address: Option<Address>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[schemars(length(min = 1, max = 200))]
    pub name: String,
    #[schemars(length(min = 1, max = 200))]
    pub line1: String,
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub line2: Option<String>,
    #[schemars(length(min = 1, max = 200))]
    pub city: String,
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub state: Option<String>,
    #[schemars(length(min = 1, max = 200))]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    #[schemars(regex(pattern = r"^[A-Z]{2}$"), extend("examples" = ["GB"]))]
    pub country: String,
}

impl Address {
    /// # Errors
    /// The first empty or malformed field.
    pub fn check(&self) -> Result<(), AppError> {
        for (f, v) in [
            ("name", Some(&self.name)),
            ("line1", Some(&self.line1)),
            ("line2", self.line2.as_ref()),
            ("city", Some(&self.city)),
            ("state", self.state.as_ref()),
            ("postal_code", Some(&self.postal_code)),
        ] {
            let required = !matches!(f, "line2" | "state");
            if let Some(v) = v {
                crate::input::line(
                    &format!("shipping_address.{f}"),
                    v,
                    usize::from(required),
                    200,
                )?;
            }
        }
        if self.country.len() != 2 || !self.country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(AppError::validation(
                "shipping_address.country",
                "must be an ISO 3166-1 alpha-2 code such as GB or US",
            ));
        }
        Ok(())
    }
}

/// How the order will be paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    CheckoutSession,
    PaymentIntent,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::CheckoutSession => "checkout_session",
            Flow::PaymentIntent => "payment_intent",
        }
    }
}

/// Shipping for a cart: the store's flat rate below its free-shipping threshold, nothing
/// when nothing ships.
pub fn shipping_for(store: &StoreRow, subtotal: i64, ships: bool) -> i64 {
    let rates = &store.settings.shipping;
    match (ships, rates.free_from_amount) {
        (false, _) => 0,
        (true, Some(free)) if subtotal >= free => 0,
        (true, _) => rates.flat_amount,
    }
}

/// The pending order for the caller's cart: a new one (`true`), or the one a previous or
/// concurrent checkout of the same cart already made (`false`).
///
/// # Errors
/// 404 without a cart; 403 for a blocked customer; 409 for an empty cart, an item no
/// longer sold, or a cart that changed while it was priced; 422 for a bad email/address.
pub async fn place_order<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    input: &CheckoutInput,
    flow: Flow,
) -> Result<(OrderRow, bool), AppError> {
    let buyer = buyer(p, caller, input).await?;
    let cart = match cart_to_check_out(p, caller, &buyer).await? {
        Ok(cart) => cart,
        Err(placed) => return Ok((placed, false)),
    };
    let lines = cart_sql::lines(p.db(), &cart.id).await?;
    let priced = price(&caller.store, &lines)?;
    if flow == Flow::PaymentIntent && priced.ships && input.shipping_address.is_none() {
        return Err(AppError::validation(
            "shipping_address",
            "is required: something in the cart ships",
        ));
    }
    let (order, items) = new_order(p, &caller.store, &cart, &lines, buyer, &priced, input, flow);
    insert_with_a_free_number(p, &caller.store, &cart, order, &items).await
}

/// Who pays: a signed-in customer (not blocked), or a guest with the email they give.
struct Buyer {
    customer_id: Option<String>,
    email: Option<String>,
}

async fn buyer<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    input: &CheckoutInput,
) -> Result<Buyer, AppError> {
    let mut buyer = Buyer {
        customer_id: None,
        email: None,
    };
    if let Some(claims) = &caller.customer {
        let c = stores::customer_by_subject(p.db(), &caller.store.id, &claims.sub)
            .await?
            .ok_or(AppError::NotFound("cart"))?;
        if c.blocked != 0 {
            return Err(AppError::Forbidden(
                "This account cannot place orders; contact the store.".into(),
            ));
        }
        buyer.email = claims.email.clone().or(c.email);
        buyer.customer_id = Some(c.id);
    }
    if let Some(e) = input.email.as_deref() {
        buyer.email = Some(crate::input::email("email", e)?);
    }
    if let Some(a) = &input.shipping_address {
        a.check()?;
    }
    Ok(buyer)
}

/// The caller's active cart, or (`Err`) the pending order an earlier checkout of it made.
async fn cart_to_check_out<P: Platform>(
    p: &P,
    caller: &StorefrontCaller,
    buyer: &Buyer,
) -> Result<Result<CartRow, OrderRow>, AppError> {
    let cart = match carts::current(p, caller, false).await {
        Ok(c) => c,
        // A customer's checked-out cart is no longer current: their unpaid order is.
        Err(AppError::NotFound(_)) if buyer.customer_id.is_some() => {
            let pending = orders::pending_order_of_customer(
                p.db(),
                &caller.store.id,
                buyer.customer_id.as_deref().unwrap_or_default(),
            )
            .await?;
            return pending.map(Err).ok_or(AppError::NotFound("cart"));
        }
        Err(e) => return Err(e),
    };
    if cart.status == CartStatus::CheckedOut {
        if let Some(o) = orders::pending_order_of_cart(p.db(), &cart.id).await? {
            return Ok(Err(o));
        }
    }
    carts::require_active(&cart)?;
    Ok(Ok(cart))
}

/// The order and its item snapshots, priced from D1, not yet numbered.
#[allow(clippy::too_many_arguments)]
fn new_order<P: Platform>(
    p: &P,
    store: &StoreRow,
    cart: &CartRow,
    lines: &[CartLine],
    buyer: Buyer,
    priced: &Priced,
    input: &CheckoutInput,
    flow: Flow,
) -> (OrderRow, Vec<OrderItemRow>) {
    let now = p.now_ms();
    let order_id = p.new_id("ord");
    let items: Vec<OrderItemRow> = lines
        .iter()
        .map(|l| OrderItemRow {
            id: p.new_id("oi"),
            order_id: order_id.clone(),
            variant_id: l.variant_id.clone(),
            product_id: l.product_id.clone(),
            title: l.product_title.clone(),
            variant_title: l.variant_title.clone(),
            sku: l.sku.clone(),
            kind: l.kind,
            options: l.options.clone(),
            unit_price: l.price_amount,
            quantity: l.quantity,
            currency: l.currency.clone(),
            price_source: "pricebook_global".into(),
        })
        .collect();
    let order = OrderRow {
        id: order_id,
        store_id: store.id.clone(),
        order_number: String::new(),
        customer_id: buyer.customer_id,
        email: buyer.email,
        cart_id: Some(cart.id.clone()),
        status: OrderStatus::Pending,
        financial_status: crate::domain::FinancialStatus::Unpaid,
        currency: store.currency.clone(),
        subtotal_amount: priced.subtotal,
        discount_amount: 0,
        shipping_amount: priced.shipping,
        tax_amount: 0,
        total_amount: priced.subtotal + priced.shipping,
        stripe_checkout_session_id: None,
        stripe_payment_intent_id: None,
        stripe_customer_id: None,
        promo_code: None,
        shipping_address: input
            .shipping_address
            .as_ref()
            .filter(|_| priced.ships)
            .and_then(|a| serde_json::to_string(a).ok()),
        review_reason: None,
        cancel_reason: None,
        checkout_url: None,
        payment_flow: flow.as_str().into(),
        paid_at: None,
        cancelled_at: None,
        created_at: now,
        updated_at: now,
        company_id: None,
        billing_contact_id: None,
        billing_address_id: None,
    };
    (order, items)
}

/// Numbers the order and writes it with its items and the cart's checkout in one batch;
/// the cart must be as it was priced. 40 random bits per number: a collision is rare, and
/// retried with a new number.
async fn insert_with_a_free_number<P: Platform>(
    p: &P,
    store: &StoreRow,
    cart: &CartRow,
    mut order: OrderRow,
    items: &[OrderItemRow],
) -> Result<(OrderRow, bool), AppError> {
    let now = order.created_at;
    for _ in 0..4 {
        let mut r = [0u8; 5];
        p.fill_random(&mut r);
        order.order_number = OrderNumber::generate(&store.order_prefix, year(now), r)
            .as_str()
            .to_owned();
        let mut batch = vec![orders::insert_order(&order, cart.updated_at)];
        batch.extend(items.iter().map(|i| orders::insert_item(i, now)));
        batch.push(orders::check_out_cart(&cart.id, &order.id, now));
        match p.db().batch(batch).await {
            Ok(res) if res[0].changes == 1 => return Ok((order, true)),
            Ok(_) => {
                // The cart changed or was checked out by a concurrent call since it was read.
                if let Some(o) = orders::pending_order_of_cart(p.db(), &cart.id).await? {
                    return Ok((o, false));
                }
                return Err(AppError::conflict(
                    "cart_changed",
                    "The cart changed while it was being checked out; review it and try again.",
                ));
            }
            Err(DbError::Unique(m)) if m.contains("order_number") => continue,
            Err(DbError::Unique(m)) if m.contains("cart_id") => {
                if let Some(o) = orders::pending_order_of_cart(p.db(), &cart.id).await? {
                    return Ok((o, false));
                }
                return Err(AppError::conflict(
                    "cart_changed",
                    "The cart was checked out by another request; try again.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::unavailable(
        "order_number_exhausted",
        "Could not find a free order number; try again.",
    ))
}

struct Priced {
    subtotal: i64,
    shipping: i64,
    ships: bool,
}

fn price(store: &StoreRow, lines: &[CartLine]) -> Result<Priced, AppError> {
    if lines.is_empty() {
        return Err(AppError::conflict(
            "cart_empty",
            "The cart is empty; add something before checking out.",
        ));
    }
    let stale: Vec<&str> = lines
        .iter()
        .filter(|l| l.available != 1 || l.currency != store.currency)
        .map(|l| l.sku.as_str())
        .collect();
    if !stale.is_empty() {
        return Err(AppError::conflict(
            "cart_item_unavailable",
            format!(
                "No longer sold: {}. Remove it from the cart and try again.",
                stale.join(", ")
            ),
        ));
    }
    let subtotal = lines.iter().map(|l| l.price_amount * l.quantity).sum();
    let ships = lines.iter().any(|l| l.kind == VariantKind::Physical);
    Ok(Priced {
        subtotal,
        shipping: shipping_for(store, subtotal, ships),
        ships,
    })
}
