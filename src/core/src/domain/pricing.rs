//! Prices for companies: where a price comes from, in which order sources win, and how a
//! tier is chosen.

use super::StateMachine;

crate::string_enum!(
    /// A company's negotiated prices apply only while `active` (and within their window).
    AgreementStatus { Draft = "draft", Active = "active", Expired = "expired" }
);

impl StateMachine for AgreementStatus {
    const ALL: &'static [Self] = &[
        AgreementStatus::Draft,
        AgreementStatus::Active,
        AgreementStatus::Expired,
    ];
    const TRANSITIONS: &'static [(Self, Self)] = &[
        (AgreementStatus::Draft, AgreementStatus::Active),
        // Ended early, or past its window; an expired agreement is not revived (a new one
        // is drafted, so what was agreed when stays readable).
        (AgreementStatus::Active, AgreementStatus::Expired),
    ];
}

crate::string_enum!(
    /// Where a unit price came from, in order of precedence (bespoke is an operator's).
    PriceSource {
        PriceAgreement = "price_agreement",
        PricebookRegional = "pricebook_regional",
        PricebookGlobal = "pricebook_global",
        Bespoke = "bespoke",
    }
);

impl PriceSource {
    /// Lower wins: an active agreement, then a regional book, then the global book.
    pub fn precedence(self) -> u8 {
        match self {
            PriceSource::Bespoke => 0,
            PriceSource::PriceAgreement => 1,
            PriceSource::PricebookRegional => 2,
            PriceSource::PricebookGlobal => 3,
        }
    }
}

crate::string_enum!(
    /// A price book's reach.
    BookScope { Global = "global", Regional = "regional" }
);

crate::string_enum!(
    /// Where an entry's Stripe Price stands.
    SyncStatus { Pending = "pending", Synced = "synced", Failed = "failed" }
);

/// An entry that applies to a line (its source in force at the time asked about).
pub trait Tiered {
    fn source(&self) -> PriceSource;
    fn min_quantity(&self) -> u32;
}

impl<T: Tiered> Tiered for &T {
    fn source(&self) -> PriceSource {
        (*self).source()
    }
    fn min_quantity(&self) -> u32 {
        (*self).min_quantity()
    }
}

/// The entry a line is priced with: the best source that has any entry for it, then within
/// it the highest tier whose minimum is at most `quantity`. `None` when no entry applies
/// (the variant is unpriced for this company, country and currency, or every tier starts
/// above the quantity).
pub fn pick<T: Tiered>(candidates: &[T], quantity: u32) -> Option<&T> {
    candidates
        .iter()
        .filter(|c| c.min_quantity() <= quantity)
        .min_by_key(|c| (c.source().precedence(), std::cmp::Reverse(c.min_quantity())))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct C(PriceSource, u32);
    impl Tiered for C {
        fn source(&self) -> PriceSource {
            self.0
        }
        fn min_quantity(&self) -> u32 {
            self.1
        }
    }

    #[test]
    fn agreements_win_then_regional_then_global_and_the_highest_reached_tier() {
        use PriceSource::*;
        let all = [
            C(PricebookGlobal, 1),
            C(PricebookRegional, 1),
            C(PricebookRegional, 10),
            C(PriceAgreement, 5),
        ];
        let got = |q| pick(&all, q).map(|c| (c.0, c.1));
        // Below the agreement's only tier, the regional book prices the line.
        assert_eq!(got(4), Some((PricebookRegional, 1)));
        assert_eq!(got(5), Some((PriceAgreement, 5)));
        assert_eq!(got(50), Some((PriceAgreement, 5)));
        let books = &all[..3];
        assert_eq!(pick(books, 9).map(|c| c.1), Some(1));
        assert_eq!(pick(books, 10).map(|c| c.1), Some(10));
        assert_eq!(pick(&all[..1], 1).map(|c| c.0), Some(PricebookGlobal));
        assert!(pick(&[C(PricebookGlobal, 3)], 2).is_none());
        assert!(pick::<C>(&[], 1).is_none());
    }

    #[test]
    fn every_agreement_state_is_reachable() {
        assert_eq!(
            AgreementStatus::reachable().len(),
            AgreementStatus::ALL.len()
        );
    }
}
