//! Invoices: their states and how they may change.

use super::StateMachine;

crate::string_enum!(
    /// Where an invoice stands. A draft has no number; issuing gives it one for good.
    /// Payment states follow the allocations (a refund can reopen a balance); a void
    /// invoice keeps its number and its reason.
    InvoiceStatus {
        Draft = "draft",
        Issued = "issued",
        PartiallyPaid = "partially_paid",
        Paid = "paid",
        Void = "void",
    }
);

impl StateMachine for InvoiceStatus {
    const ALL: &'static [Self] = &[
        InvoiceStatus::Draft,
        InvoiceStatus::Issued,
        InvoiceStatus::PartiallyPaid,
        InvoiceStatus::Paid,
        InvoiceStatus::Void,
    ];
    const TRANSITIONS: &'static [(Self, Self)] = &[
        (InvoiceStatus::Draft, InvoiceStatus::Issued),
        (InvoiceStatus::Issued, InvoiceStatus::PartiallyPaid),
        (InvoiceStatus::Issued, InvoiceStatus::Paid),
        // Only an invoice nothing has paid is voided; a paid one is refunded instead.
        (InvoiceStatus::Issued, InvoiceStatus::Void),
        (InvoiceStatus::PartiallyPaid, InvoiceStatus::Paid),
        // A payment unallocated, or refunded, reopens what it had paid.
        (InvoiceStatus::PartiallyPaid, InvoiceStatus::Issued),
        (InvoiceStatus::Paid, InvoiceStatus::PartiallyPaid),
        (InvoiceStatus::Paid, InvoiceStatus::Issued),
    ];
}

impl InvoiceStatus {
    /// Money is still owed on it.
    pub fn is_open(self) -> bool {
        matches!(self, InvoiceStatus::Issued | InvoiceStatus::PartiallyPaid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invoice_state_is_reachable() {
        assert_eq!(InvoiceStatus::reachable().len(), InvoiceStatus::ALL.len());
    }
}
