//! The monthly cost of a fleet as data: per cluster, one item per billable thing (node pools, the control
//! plane, NodeBalancers, volumes), each with the price it was computed from and where that price came
//! from (which list, the region's price or the base one); totals per cluster and for the fleet, and the
//! difference from what runs now. Pure: the price lists are read in `ops`; `ui` renders this.

mod budget;
pub mod object_storage;
mod price;

pub use budget::{Budget, BudgetSource};
pub use price::{Shape, price_fleet};

use serde::Serialize;

/// What the cost leaves out, said in every priced report.
pub const NOT_PRICED: [&str; 4] = [
    "network transfer beyond the account's pooled allowance",
    "Linode Backups (lkeobs does not turn them on)",
    OBJECT_STORAGE_NOT_PRICED,
    "taxes and account credits",
];

/// The line of [`NOT_PRICED`] a fleet whose hub uses Object Storage replaces with its priced items.
pub const OBJECT_STORAGE_NOT_PRICED: &str = "Object Storage";

/// US dollars per month, from the smallest to the largest size the fleet can take (autoscaled pools and
/// autoscaled volume claims span a range; everything else has `min == max`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Monthly {
    pub min: f64,
    pub max: f64,
}

impl Monthly {
    pub fn fixed(v: f64) -> Self {
        Monthly { min: v, max: v }
    }

    pub(crate) fn add(self, other: Monthly) -> Monthly {
        Monthly {
            min: cents(self.min + other.min),
            max: cents(self.max + other.max),
        }
    }

    pub(crate) fn minus(self, other: Monthly) -> Monthly {
        Monthly {
            min: cents(self.min - other.min),
            max: cents(self.max - other.max),
        }
    }
}

/// Rounded to cents, so sums of per-GiB prices do not print as 9.999999.
pub(crate) fn cents(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    NodePool,
    ControlPlane,
    NodeBalancer,
    Volume,
    /// The account's Object Storage base charge or the buckets' storage (a hub in mode `ha`).
    ObjectStorage,
}

/// Whether the region's own price or the base price applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The entry of `region_prices` for the cluster's region.
    Region,
    /// The base `price` (the region has no price of its own).
    Base,
}

/// Where a price came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriceSource {
    /// The price list, e.g. `/linode/types`.
    pub list: &'static str,
    /// The entry's id, e.g. `g6-standard-4`, `lke-ha`, `nodebalancer`, `volume`.
    pub id: String,
    /// The region priced.
    pub region: String,
    pub basis: Basis,
}

/// One billable thing of a cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostItem {
    pub kind: ItemKind,
    /// What it is, e.g. `pool g6-standard-4`, `HA control plane`, `NodeBalancer observability-hub/otel-gateway-external`.
    pub what: String,
    /// How many units: nodes, NodeBalancers, control planes, or GiB of volumes.
    pub quantity: Quantity,
    /// The monthly price of one unit; None when the list has no price for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<f64>,
    /// quantity × unit price; None when the price is missing (never counted as zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly: Option<Monthly>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<PriceSource>,
    /// Why there is no price (the entry is not in the list, or has no price).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

/// A number of units, or a range of them for autoscaled things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Quantity {
    pub min: u64,
    pub max: u64,
    pub unit: &'static str,
}

impl Quantity {
    /// `3`, `3–5`.
    pub fn describe(&self) -> String {
        if self.min == self.max {
            self.min.to_string()
        } else {
            format!("{}–{}", self.min, self.max)
        }
    }
}

/// One cluster's cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterCost {
    pub name: String,
    pub region: String,
    pub items: Vec<CostItem>,
    /// The sum of the priced items.
    pub monthly: Monthly,
    /// What it costs now (None: the cluster does not exist yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<Monthly>,
}

/// The whole fleet's cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetCost {
    pub currency: &'static str,
    pub clusters: Vec<ClusterCost>,
    /// The fleet as planned (the sum of the clusters).
    pub monthly: Monthly,
    /// What the fleet's existing clusters cost now (None: not compared with the account, as in `validate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<Monthly>,
    /// `monthly - now`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<Monthly>,
    /// Items without a price (`cluster: what (why)`): the totals leave them out and say so.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// How `now` is counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now_basis: Option<&'static str>,
    pub not_priced: Vec<&'static str>,
}

impl FleetCost {
    /// The priced items, largest monthly maximum first: `(cluster, item)`.
    pub fn biggest(&self) -> Vec<(&str, &CostItem)> {
        let mut all: Vec<(&str, &CostItem)> = self
            .clusters
            .iter()
            .flat_map(|c| c.items.iter().map(move |i| (c.name.as_str(), i)))
            .filter(|(_, i)| i.monthly.is_some())
            .collect();
        all.sort_by(|a, b| {
            let m = |i: &CostItem| i.monthly.map_or(0.0, |m| m.max);
            m(b.1).total_cmp(&m(a.1))
        });
        all
    }
}

/// The cost section of a plan report: priced from the live lists, or why not.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Cost {
    Priced(FleetCost),
    /// No prices: offline, or no token. lkeobs never guesses a price.
    Unavailable {
        reason: String,
    },
}

impl Cost {
    /// The reason given offline.
    pub fn offline(why: &str) -> Self {
        Cost::Unavailable {
            reason: format!("prices need the Linode API ({why}): lkeobs does not guess them"),
        }
    }
}

#[cfg(test)]
mod tests;
