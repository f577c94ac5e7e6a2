//! Orders and what follows them: the state machines of orders, fulfillment
//! orders and shipments, and human order numbers.

use super::StateMachine;
use super::ids::crockford;

crate::string_enum!(
    /// Where an order stands in fulfillment. Refunds are a separate [`FinancialStatus`].
    OrderStatus {
        Pending = "pending",
        Paid = "paid",
        Processing = "processing",
        PartiallyShipped = "partially_shipped",
        Shipped = "shipped",
        Delivered = "delivered",
        Cancelled = "cancelled",
        CancelRequested = "cancel_requested",
    }
);

impl StateMachine for OrderStatus {
    const ALL: &'static [Self] = &[
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Processing,
        OrderStatus::PartiallyShipped,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
        OrderStatus::CancelRequested,
    ];
    const TRANSITIONS: &'static [(Self, Self)] = {
        use OrderStatus::*;
        &[
            // Stripe took the money (webhook, reconciliation or an operator's acceptance).
            (Pending, Paid),
            // Its fulfillment orders were routed to providers (or it only sells downloads).
            (Paid, Processing),
            // Derived from the fulfillment orders: some parcels left, or all of them.
            (Processing, PartiallyShipped),
            (Processing, Shipped),
            (PartiallyShipped, Shipped),
            // The carrier delivered every parcel.
            (Shipped, Delivered),
            // Payment failed, session expired, or unpaid for 48 h.
            (Pending, Cancelled),
            // A customer or operator asked to cancel what has not shipped yet; a partly
            // shipped order cancels the rest (its shipped parcels are refused one by one).
            (Paid, CancelRequested),
            (Processing, CancelRequested),
            (PartiallyShipped, CancelRequested),
            // Every part was stopped.
            (CancelRequested, Cancelled),
            // Some part went on (a provider refused, or nothing was left to stop): back to
            // processing, from where the fulfillment orders refine it.
            (CancelRequested, Paid),
            (CancelRequested, Processing),
        ]
    };
}

crate::string_enum!(
    /// Money after capture, beside the fulfillment status.
    FinancialStatus { Unpaid = "unpaid", Paid = "paid", PartiallyRefunded = "partially_refunded", Refunded = "refunded" }
);

impl StateMachine for FinancialStatus {
    const ALL: &'static [Self] = &[
        FinancialStatus::Unpaid,
        FinancialStatus::Paid,
        FinancialStatus::PartiallyRefunded,
        FinancialStatus::Refunded,
    ];
    const TRANSITIONS: &'static [(Self, Self)] = &[
        // Stripe captured the money (the batch that pays the order).
        (FinancialStatus::Unpaid, FinancialStatus::Paid),
        // Refunds succeeded at Stripe for part, or all, of the capture; the status only
        // moves forward with what the ledger says was refunded.
        (FinancialStatus::Paid, FinancialStatus::PartiallyRefunded),
        (FinancialStatus::Paid, FinancialStatus::Refunded),
        (
            FinancialStatus::PartiallyRefunded,
            FinancialStatus::Refunded,
        ),
    ];
}

crate::string_enum!(
    /// One provider's share of an order. B2B names map onto it: ready_to_prepare = pending,
    /// awaiting_shipment = submitted / in_production, in_transit = shipped,
    /// completed = delivered.
    FulfillmentStatus {
        Pending = "pending",
        Submitting = "submitting",
        Submitted = "submitted",
        InProduction = "in_production",
        PartiallyShipped = "partially_shipped",
        Shipped = "shipped",
        Delivered = "delivered",
        Failed = "failed",
        OnHold = "on_hold",
        CancelRequested = "cancel_requested",
        Cancelled = "cancelled",
        CancelRejected = "cancel_rejected",
    }
);

impl StateMachine for FulfillmentStatus {
    const ALL: &'static [Self] = &[
        FulfillmentStatus::Pending,
        FulfillmentStatus::Submitting,
        FulfillmentStatus::Submitted,
        FulfillmentStatus::InProduction,
        FulfillmentStatus::PartiallyShipped,
        FulfillmentStatus::Shipped,
        FulfillmentStatus::Delivered,
        FulfillmentStatus::Failed,
        FulfillmentStatus::OnHold,
        FulfillmentStatus::CancelRequested,
        FulfillmentStatus::Cancelled,
        FulfillmentStatus::CancelRejected,
    ];
    const TRANSITIONS: &'static [(Self, Self)] = {
        use FulfillmentStatus::*;
        &[
            // The queue consumer claims it (a lease) to submit it.
            (Pending, Submitting),
            // The provider asked to wait (429, 5xx), or the lease ran out: released for the
            // next delivery of the message.
            (Submitting, Pending),
            // The provider took it (or already had it, found by our reference).
            (Submitting, Submitted),
            // The provider refused it (4xx), or it was retried too often.
            (Submitting, Failed),
            // The provider's webhooks (or Gooten's polling, or tracking typed by an operator
            // for hand-run providers) report production and parcels.
            (Submitted, InProduction),
            (Submitted, PartiallyShipped),
            (Submitted, Shipped),
            (InProduction, PartiallyShipped),
            (InProduction, Shipped),
            (PartiallyShipped, Shipped),
            (Shipped, Delivered),
            // The provider failed it after accepting it.
            (Submitted, Failed),
            (InProduction, Failed),
            // An operator retries a failure.
            (Failed, Pending),
            // The provider holds it (an address or payment problem at their end), then
            // goes on.
            (Submitted, OnHold),
            (InProduction, OnHold),
            (OnHold, Submitted),
            (OnHold, InProduction),
            // Not yet at the provider: cancelled locally.
            (Pending, Cancelled),
            (Failed, Cancelled),
            // At the provider: the queue asks it to cancel (or an operator, for hand-run
            // providers).
            (Submitted, CancelRequested),
            (InProduction, CancelRequested),
            (OnHold, CancelRequested),
            // Its answer: stopped, or too late.
            (CancelRequested, Cancelled),
            (CancelRequested, CancelRejected),
            // Production goes on after a refused cancel.
            (CancelRejected, InProduction),
            (CancelRejected, PartiallyShipped),
            (CancelRejected, Shipped),
        ]
    };
}

impl FulfillmentStatus {
    /// Shipped or later cannot be cancelled.
    pub fn cancellable(self) -> bool {
        self.can_go(FulfillmentStatus::Cancelled) || self.can_go(FulfillmentStatus::CancelRequested)
    }
}

crate::string_enum!(
    /// A parcel. Tracking only moves forward.
    ShipmentStatus { Draft = "draft", Ready = "ready", InTransit = "in_transit", Delivered = "delivered", Cancelled = "cancelled" }
);

impl StateMachine for ShipmentStatus {
    const ALL: &'static [Self] = &[
        ShipmentStatus::Draft,
        ShipmentStatus::Ready,
        ShipmentStatus::InTransit,
        ShipmentStatus::Delivered,
        ShipmentStatus::Cancelled,
    ];
    const TRANSITIONS: &'static [(Self, Self)] = &[
        // Packed and labelled, then handed to the carrier (a provider's parcel arrives
        // already in transit).
        (ShipmentStatus::Draft, ShipmentStatus::Ready),
        (ShipmentStatus::Draft, ShipmentStatus::InTransit),
        (ShipmentStatus::Ready, ShipmentStatus::InTransit),
        // The carrier delivered it; tracking never moves back.
        (ShipmentStatus::InTransit, ShipmentStatus::Delivered),
        // Never handed over.
        (ShipmentStatus::Draft, ShipmentStatus::Cancelled),
        (ShipmentStatus::Ready, ShipmentStatus::Cancelled),
    ];
}

/// `PREFIX-YYYY-XXXXXXXX`: the store's prefix, the year, 8 Crockford base32 characters
/// (40 random bits; a collision is retried by the caller's unique constraint).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct OrderNumber(String);

impl OrderNumber {
    /// A new number from 5 random bytes.
    pub fn generate(prefix: &str, year: i32, random: [u8; 5]) -> Self {
        OrderNumber(format!("{prefix}-{year:04}-{}", crockford(&random)))
    }

    /// # Errors
    /// Anything not shaped like `PREFIX-YYYY-XXXXXXXX` (case-insensitive; I/L read as 1,
    /// O as 0, as Crockford intends).
    pub fn parse(s: &str) -> Result<Self, String> {
        let up = s.trim().to_ascii_uppercase();
        let mut parts = up.split('-');
        let (Some(prefix), Some(year), Some(code), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("must look like PREFIX-YYYY-XXXXXXXX".into());
        };
        let prefix_ok = (2..=6).contains(&prefix.len())
            && prefix
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        let year_ok = year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit());
        let code: String = code
            .chars()
            .map(|c| match c {
                'I' | 'L' => '1',
                'O' => '0',
                c => c,
            })
            .collect();
        let code_ok = code.len() == 8
            && code
                .chars()
                .all(|c| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c)));
        if prefix_ok && year_ok && code_ok {
            Ok(OrderNumber(format!("{prefix}-{year}-{code}")))
        } else {
            Err("must look like PREFIX-YYYY-XXXXXXXX".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_of_every_machine_is_reachable() {
        assert_eq!(OrderStatus::reachable().len(), OrderStatus::ALL.len());
        assert_eq!(
            FinancialStatus::reachable().len(),
            FinancialStatus::ALL.len()
        );
        assert_eq!(
            FulfillmentStatus::reachable().len(),
            FulfillmentStatus::ALL.len()
        );
        assert_eq!(ShipmentStatus::reachable().len(), ShipmentStatus::ALL.len());
    }

    #[test]
    fn shipped_or_later_cannot_be_cancelled_and_tracking_only_moves_forward() {
        use FulfillmentStatus::*;
        for s in [Shipped, Delivered, PartiallyShipped, Cancelled] {
            assert!(!s.cancellable(), "{s:?}");
        }
        for s in [Pending, Submitted, InProduction, OnHold] {
            assert!(s.cancellable(), "{s:?}");
        }
        assert!(!ShipmentStatus::Delivered.can_go(ShipmentStatus::InTransit));
        assert!(!ShipmentStatus::InTransit.can_go(ShipmentStatus::Ready));
        assert!(!OrderStatus::Paid.can_go(OrderStatus::Pending));
        assert!(!OrderStatus::Delivered.can_go(OrderStatus::Cancelled));
    }

    #[test]
    fn order_numbers_are_generated_and_parsed() {
        let n = OrderNumber::generate("DEMO", 2026, [0xff, 0, 0xab, 0x12, 0x7e]);
        assert_eq!(n.as_str().len(), "DEMO-2026-".len() + 8);
        assert_eq!(OrderNumber::parse(&n.as_str().to_lowercase()).unwrap(), n);
        assert_eq!(
            OrderNumber::parse("demo-2026-oiL00000").unwrap().as_str(),
            "DEMO-2026-01100000"
        );
        for bad in [
            "DEMO-2026",
            "DEMO-26-ABCDEFGH",
            "D-2026-ABCDEFGH",
            "DEMO-2026-ABCDEFG",
            "DEMO-2026-ABCDEFGU",
            "DEMO-2026-ABCDEFGH-X",
        ] {
            assert!(OrderNumber::parse(bad).is_err(), "{bad}");
        }
    }
}
