//! Object Storage in the fleet's cost (a hub in mode "ha"): the account's base charge when the account is not
//! enrolled yet, and the storage above what the base includes at the per-GB overage price, each with its source.

use serde::Serialize;

use super::{Basis, CostItem, FleetCost, ItemKind, Monthly, PriceSource, Quantity, cents};
use crate::linode::{ObjectStorageStatus, ObjectStorageType};

/// The base charge's entry in `/object-storage/types`.
pub const BASE: &str = "objectstorage";
/// The per-GB storage price's entry (its per-GB-month figure is `price.hourly`; `monthly` is null).
pub const OVERAGE: &str = "objectstorage-overage";
/// The list both come from.
const LIST: &str = "/object-storage/types";
/// Storage the base charge includes (GB).
pub const INCLUDED_GB: u64 = 250;

/// What the fleet's buckets are expected to hold, and how that figure was reached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StorageEstimate {
    /// The hub's region (where the buckets are).
    pub region: String,
    /// GB the buckets hold at steady state (after a full retention period).
    pub gb: u64,
    /// How `gb` was reached (the assumed or measured ingest and the retention).
    pub basis: String,
}

/// GB a day per signal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ingest {
    pub metrics: f64,
    pub logs: f64,
    pub traces: f64,
}

/// Retention per signal, in days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetentionDays {
    pub metrics: u64,
    pub logs: u64,
    pub traces: u64,
}

/// The buckets' size after a full retention period: `clusters` × `per_cluster` GB a day × each signal's
/// retention, rounded up to whole GB, with the figures used in `basis`.
pub fn estimate(region: &str, clusters: usize, retention: RetentionDays, per_cluster: Ingest) -> StorageEstimate {
    let a = per_cluster;
    let n = clusters as f64;
    let gb = n
        * (a.metrics * retention.metrics as f64 + a.logs * retention.logs as f64 + a.traces * retention.traces as f64);
    StorageEstimate {
        region: region.to_string(),
        gb: gb.ceil() as u64,
        basis: format!(
            "{clusters} clusters × assumed GB a day (metrics {:.2} for {} d, logs {:.2} for {} d, traces {:.2} for {} d)",
            a.metrics, retention.metrics, a.logs, retention.logs, a.traces, retention.traces
        ),
    }
}

/// The Object Storage items of the hub's cost: the base charge (counted unless the account is enrolled
/// already; an unknown enrolment counts it) and the storage beyond [`INCLUDED_GB`].
pub fn items(
    estimate: &StorageEstimate,
    enrolment: Option<ObjectStorageStatus>,
    types: &[ObjectStorageType],
) -> Vec<CostItem> {
    let find = |id: &str| types.iter().find(|t| t.id == id);
    let source = |t: &ObjectStorageType| PriceSource {
        list: LIST,
        id: t.id.clone(),
        region: estimate.region.clone(),
        basis: if t.region_prices.iter().any(|p| p.id == estimate.region) {
            Basis::Region
        } else {
            Basis::Base
        },
    };
    let one = Quantity {
        min: 1,
        max: 1,
        unit: "accounts",
    };
    let base = match (find(BASE), enrolment) {
        (None, _) => missing_item(
            "Object Storage base charge",
            one,
            format!("{LIST} has no {BASE:?} entry"),
        ),
        (Some(t), Some(ObjectStorageStatus::Active)) => CostItem {
            kind: ItemKind::ObjectStorage,
            what: "Object Storage base charge (the account is enrolled already: no new cost)".into(),
            quantity: one,
            unit_price: t.price_in(&estimate.region).monthly,
            monthly: Some(Monthly::fixed(0.0)),
            source: Some(source(t)),
            missing: None,
        },
        (Some(t), status) => {
            let what = match status {
                None => "Object Storage base charge (the account's enrolment is unknown: counted)",
                Some(_) => "Object Storage base charge (the account is not enrolled yet)",
            };
            match t.price_in(&estimate.region).monthly {
                Some(p) => CostItem {
                    kind: ItemKind::ObjectStorage,
                    what: what.into(),
                    quantity: one,
                    unit_price: Some(p),
                    monthly: Some(Monthly::fixed(cents(p))),
                    source: Some(source(t)),
                    missing: None,
                },
                None => missing_item(what, one, format!("{BASE:?} has no monthly price")),
            }
        }
    };
    let over = estimate.gb.saturating_sub(INCLUDED_GB);
    let quantity = Quantity {
        min: over,
        max: over,
        unit: "GB",
    };
    let what = format!(
        "Object Storage beyond the included {INCLUDED_GB} GB (estimate {} GB: {})",
        estimate.gb, estimate.basis
    );
    let storage = match find(OVERAGE) {
        None => missing_item(&what, quantity, format!("{LIST} has no {OVERAGE:?} entry")),
        Some(t) => match t.price_in(&estimate.region).hourly {
            Some(per_gb) => CostItem {
                kind: ItemKind::ObjectStorage,
                what,
                quantity,
                unit_price: Some(per_gb),
                monthly: Some(Monthly::fixed(cents(per_gb * over as f64))),
                source: Some(source(t)),
                missing: None,
            },
            None => missing_item(&what, quantity, format!("{OVERAGE:?} has no per-GB price")),
        },
    };
    vec![base, storage]
}

fn missing_item(what: &str, quantity: Quantity, why: String) -> CostItem {
    CostItem {
        kind: ItemKind::ObjectStorage,
        what: what.to_string(),
        quantity,
        unit_price: None,
        monthly: None,
        source: None,
        missing: Some(why),
    }
}

/// Adds `items` to cluster `hub`'s cost and the fleet's totals (a missing price is listed, never counted as
/// zero), and stops saying Object Storage is not priced.
pub fn add_to(cost: &mut FleetCost, hub: &str, items: Vec<CostItem>) {
    let Some(cluster) = cost.clusters.iter_mut().find(|c| c.name == hub) else {
        return;
    };
    for i in &items {
        if let Some(why) = &i.missing {
            cost.missing.push(format!("{hub}: {} ({why})", i.what));
        }
    }
    let added = items
        .iter()
        .filter_map(|i| i.monthly)
        .fold(Monthly::default(), Monthly::add);
    cluster.items.extend(items);
    cluster.monthly = cluster.monthly.add(added);
    cost.monthly = cost.monthly.add(added);
    cost.difference = cost.now.map(|n| cost.monthly.minus(n));
    cost.not_priced.retain(|n| *n != super::OBJECT_STORAGE_NOT_PRICED);
    cost.not_priced
        .push("Object Storage requests and transfer beyond the included allowance");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linode::{ObjectStoragePrice, ObjectStorageRegionPrice};

    fn types() -> Vec<ObjectStorageType> {
        vec![
            ObjectStorageType {
                id: BASE.into(),
                label: "Object Storage".into(),
                price: ObjectStoragePrice {
                    hourly: Some(0.0075),
                    monthly: Some(5.0),
                },
                region_prices: vec![],
                transfer: Some(1_048_576),
            },
            ObjectStorageType {
                id: OVERAGE.into(),
                label: "Object Storage Overage".into(),
                price: ObjectStoragePrice {
                    hourly: Some(0.02),
                    monthly: None,
                },
                region_prices: vec![ObjectStorageRegionPrice {
                    id: "br-gru".into(),
                    hourly: Some(0.028),
                    monthly: None,
                }],
                transfer: None,
            },
        ]
    }

    fn need(region: &str, gb: u64) -> StorageEstimate {
        StorageEstimate {
            region: region.into(),
            gb,
            basis: "test".into(),
        }
    }

    #[test]
    fn base_counts_unless_enrolled_and_overage_uses_the_per_gb_hourly_figure() {
        let it = items(&need("us-ord", 1250), Some(ObjectStorageStatus::Disabled), &types());
        assert_eq!(it[0].monthly, Some(Monthly::fixed(5.0)));
        assert_eq!(it[1].quantity.max, 1000);
        assert_eq!(it[1].unit_price, Some(0.02));
        assert_eq!(it[1].monthly, Some(Monthly::fixed(20.0)));
        assert_eq!(it[1].source.as_ref().map(|s| s.basis), Some(Basis::Base));
        let enrolled = items(&need("us-ord", 100), Some(ObjectStorageStatus::Active), &types());
        assert_eq!(enrolled[0].monthly, Some(Monthly::fixed(0.0)));
        assert_eq!(enrolled[1].monthly, Some(Monthly::fixed(0.0)));
        let unknown = items(&need("us-ord", 100), None, &types());
        assert_eq!(unknown[0].monthly, Some(Monthly::fixed(5.0)));
    }

    #[test]
    fn the_estimate_grows_with_clusters_and_retention() {
        let r = RetentionDays {
            metrics: 30,
            logs: 14,
            traces: 7,
        };
        let day = Ingest {
            metrics: 0.23,
            logs: 0.5,
            traces: 0.2,
        };
        let one = estimate("us-ord", 1, r, day);
        // 0.23 × 30 + 0.5 × 14 + 0.2 × 7 = 15.3 GB
        assert_eq!(one.gb, 16);
        assert_eq!(estimate("us-ord", 200, r, day).gb, 3060);
        assert!(one.basis.contains("for 30 d"), "{}", one.basis);
    }

    #[test]
    fn a_region_price_wins_and_a_missing_price_is_never_zero() {
        let it = items(&need("br-gru", 350), Some(ObjectStorageStatus::Disabled), &types());
        assert_eq!(it[1].monthly, Some(Monthly::fixed(2.8)));
        assert_eq!(it[1].source.as_ref().map(|s| s.basis), Some(Basis::Region));
        let mut no_overage = types();
        no_overage[1].price.hourly = None;
        let it = items(&need("us-ord", 350), Some(ObjectStorageStatus::Disabled), &no_overage);
        assert_eq!(it[1].monthly, None);
        assert!(it[1].missing.as_deref().is_some_and(|m| m.contains("per-GB")));
        let it = items(&need("us-ord", 350), Some(ObjectStorageStatus::Disabled), &types()[..1]);
        assert!(it[1].missing.is_some());
    }
}
