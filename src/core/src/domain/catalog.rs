use super::StateMachine;

crate::string_enum!(
    /// A product is sold only while `active`.
    ProductStatus { Draft = "draft", Active = "active", Archived = "archived" }
);

impl StateMachine for ProductStatus {
    const ALL: &'static [Self] = &[
        ProductStatus::Draft,
        ProductStatus::Active,
        ProductStatus::Archived,
    ];
    const TRANSITIONS: &'static [(Self, Self)] = &[
        (ProductStatus::Draft, ProductStatus::Active),
        (ProductStatus::Active, ProductStatus::Draft),
        (ProductStatus::Draft, ProductStatus::Archived),
        (ProductStatus::Active, ProductStatus::Archived),
        // Restoring an archived product puts it back in draft, never straight on sale.
        (ProductStatus::Archived, ProductStatus::Draft),
    ];
}

crate::string_enum!(VariantKind { Physical = "physical", Digital = "digital" });

crate::string_enum!(VariantStatus { Active = "active", Archived = "archived" });

impl StateMachine for VariantStatus {
    const ALL: &'static [Self] = &[VariantStatus::Active, VariantStatus::Archived];
    const TRANSITIONS: &'static [(Self, Self)] = &[
        (VariantStatus::Active, VariantStatus::Archived),
        (VariantStatus::Archived, VariantStatus::Active),
    ];
}

crate::string_enum!(
    /// Who makes and ships a physical item.
    ProviderCode {
        Printful = "printful",
        Prodigi = "prodigi",
        Gooten = "gooten",
        Gelato = "gelato",
        Manual = "manual",
        Warehouse = "warehouse",
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn every_catalog_state_is_reachable() {
        assert_eq!(ProductStatus::reachable().len(), ProductStatus::ALL.len());
        assert_eq!(VariantStatus::reachable().len(), VariantStatus::ALL.len());
    }
    #[test]
    fn archived_products_cannot_go_straight_back_on_sale() {
        assert!(!ProductStatus::Archived.can_go(ProductStatus::Active));
        assert!(ProductStatus::Archived.can_go(ProductStatus::Draft));
    }
}
