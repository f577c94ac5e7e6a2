//! Which provider makes each physical item. One strategy today (the variant's preferred
//! provider, then the store default, then the cheapest mapped provider, else manual);
//! others (cheapest, fastest, by country) implement [`RoutingStrategy`].

use crate::domain::{ProviderCode, VariantKind};
use serde::Deserialize;
use std::collections::BTreeMap;

/// An order item as routing sees it.
#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RoutableItem {
    pub id: String,
    pub variant_id: String,
    pub quantity: i64,
    pub kind: VariantKind,
    /// The variant's preference, snapshotted on the order item.
    pub fulfillment_provider: Option<ProviderCode>,
    #[serde(deserialize_with = "crate::db::json_column", default)]
    pub mappings: Vec<Mapping>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct Mapping {
    pub provider: ProviderCode,
    pub external_variant_id: String,
    pub cost: Option<i64>,
}

/// One provider's share of an order.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub provider: ProviderCode,
    /// (item, the provider's variant id when mapped).
    pub lines: Vec<(RoutableItem, Option<String>)>,
    /// Sum of mapped costs, when every line has one.
    pub cost_estimated: Option<i64>,
}

pub trait RoutingStrategy {
    fn choose(&self, item: &RoutableItem, store_default: Option<ProviderCode>) -> ProviderCode;
}

/// The variant's preferred provider when it can make it, then the store's default, then the
/// cheapest provider with a mapping; the manual provider (an operator) when none applies.
pub struct PreferredProvider;

/// Manual and warehouse fulfilment need no provider catalogue mapping.
fn needs_no_mapping(p: ProviderCode) -> bool {
    matches!(p, ProviderCode::Manual | ProviderCode::Warehouse)
}

impl RoutingStrategy for PreferredProvider {
    fn choose(&self, item: &RoutableItem, store_default: Option<ProviderCode>) -> ProviderCode {
        let can =
            |p: ProviderCode| needs_no_mapping(p) || item.mappings.iter().any(|m| m.provider == p);
        if let Some(p) = item.fulfillment_provider.filter(|p| can(*p)) {
            return p;
        }
        if let Some(p) = store_default.filter(|p| can(*p)) {
            return p;
        }
        item.mappings
            .iter()
            .min_by_key(|m| (m.cost.unwrap_or(i64::MAX), m.provider.as_str()))
            .map_or(ProviderCode::Manual, |m| m.provider)
    }
}

/// Groups the physical items by the provider the strategy picks; digital items make none.
pub fn route(
    strategy: &impl RoutingStrategy,
    items: &[RoutableItem],
    store_default: Option<ProviderCode>,
) -> Vec<Group> {
    let mut groups: BTreeMap<&'static str, Group> = BTreeMap::new();
    for item in items.iter().filter(|i| i.kind == VariantKind::Physical) {
        let provider = strategy.choose(item, store_default);
        let mapping = item.mappings.iter().find(|m| m.provider == provider);
        let g = groups.entry(provider.as_str()).or_insert_with(|| Group {
            provider,
            lines: vec![],
            cost_estimated: Some(0),
        });
        g.cost_estimated = match (g.cost_estimated, mapping.and_then(|m| m.cost)) {
            (Some(sum), Some(c)) => Some(sum + c * item.quantity),
            _ => None,
        };
        g.lines
            .push((item.clone(), mapping.map(|m| m.external_variant_id.clone())));
    }
    groups.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(
        id: &str,
        kind: VariantKind,
        pref: Option<ProviderCode>,
        maps: &[(ProviderCode, i64)],
    ) -> RoutableItem {
        RoutableItem {
            id: id.into(),
            variant_id: format!("var_{id}"),
            quantity: 2,
            kind,
            fulfillment_provider: pref,
            mappings: maps
                .iter()
                .map(|(p, c)| Mapping {
                    provider: *p,
                    external_variant_id: format!("{}-{id}", p.as_str()),
                    cost: Some(*c),
                })
                .collect(),
        }
    }

    #[test]
    fn preference_then_store_default_then_cheapest_then_manual() {
        use ProviderCode::*;
        let items = [
            item(
                "a",
                VariantKind::Physical,
                Some(Printful),
                &[(Printful, 500), (Prodigi, 300)],
            ),
            item("b", VariantKind::Physical, Some(Gooten), &[(Prodigi, 300)]),
            item(
                "c",
                VariantKind::Physical,
                None,
                &[(Gelato, 900), (Prodigi, 400)],
            ),
            item("d", VariantKind::Physical, None, &[]),
            item("e", VariantKind::Digital, Some(Printful), &[(Printful, 1)]),
        ];
        let groups = route(&PreferredProvider, &items, Some(Gelato));
        let by: Vec<(ProviderCode, Vec<&str>)> = groups
            .iter()
            .map(|g| {
                (
                    g.provider,
                    g.lines.iter().map(|(i, _)| i.id.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            by,
            vec![
                (Gelato, vec!["c"]),
                (Manual, vec!["d"]),
                (Printful, vec!["a"]),
                (Prodigi, vec!["b"])
            ]
        );
        let printful = groups.iter().find(|g| g.provider == Printful).unwrap();
        assert_eq!(printful.cost_estimated, Some(1000));
        assert_eq!(printful.lines[0].1.as_deref(), Some("printful-a"));
        let manual = groups.iter().find(|g| g.provider == Manual).unwrap();
        assert_eq!(
            (manual.cost_estimated, manual.lines[0].1.as_deref()),
            (None, None)
        );
        assert!(
            route(&PreferredProvider, &items[4..], None).is_empty(),
            "digital makes none"
        );
    }
}
