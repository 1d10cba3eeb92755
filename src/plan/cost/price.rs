//! Prices one cluster's billable shape against the price lists (a region's own price before the base
//! price) and sums the fleet: as planned, and as it runs now.

use std::collections::BTreeMap;

use super::{Basis, ClusterCost, CostItem, FleetCost, ItemKind, Monthly, NOT_PRICED, PriceSource, Quantity, cents};
use crate::fleet::{Cluster, Fleet};
use crate::linode::{Price, PriceLists, RegionPrice};
use crate::naming;
use crate::plan::{ObservedCluster, is_ours};
use crate::stack::Footprint;

/// How `now` is counted (said in the report).
const NOW_BASIS: &str = "existing clusters: node pools and control plane as the Linode API reports them, NodeBalancers and volumes as the fleet file plans them";

/// The HA control plane's entry in `/lke/types`.
pub const LKE_HA: &str = "lke-ha";
/// The standard control plane's entry in `/lke/types` (no charge).
pub const LKE_STANDARD: &str = "lke-sa";
/// The NodeBalancer's entry in `/nodebalancers/types`.
pub const NODEBALANCER: &str = "nodebalancer";
/// The Block Storage volume's entry in `/volumes/types` (priced per GiB).
pub const VOLUME: &str = "volume";

/// What one cluster is billed for.
#[derive(Debug, Clone)]
pub struct Shape<'a> {
    pub region: String,
    pub high_availability: bool,
    /// `(type, nodes at least, nodes at most)`.
    pub pools: Vec<(String, u32, u32)>,
    pub footprint: &'a Footprint,
}

impl<'a> Shape<'a> {
    /// The cluster as the fleet file plans it (autoscaled pools: min to max nodes).
    pub fn planned(c: &Cluster, footprint: &'a Footprint) -> Self {
        Shape {
            region: c.region.get_ref().clone(),
            high_availability: *c.high_availability.get_ref(),
            pools: c
                .pools
                .iter()
                .map(|p| {
                    let (lo, hi) = p
                        .autoscale
                        .as_ref()
                        .map_or((*p.count.get_ref(), *p.count.get_ref()), |a| {
                            (a.get_ref().min, a.get_ref().max)
                        });
                    (p.node_type.get_ref().clone(), lo, hi)
                })
                .collect(),
            footprint,
        }
    }

    /// The cluster as the API reports it (an enabled autoscaler: min to max nodes).
    pub fn observed(o: &ObservedCluster, footprint: &'a Footprint) -> Self {
        Shape {
            region: o.cluster.region.clone(),
            high_availability: o.cluster.control_plane.as_ref().is_some_and(|c| c.high_availability),
            pools: o
                .pools
                .iter()
                .map(|p| match &p.autoscaler {
                    Some(a) if a.enabled => (p.linode_type.clone(), a.min, a.max),
                    _ => (p.linode_type.clone(), p.count, p.count),
                })
                .collect(),
            footprint,
        }
    }
}

/// One unit's monthly price in `region`: the region's own price when it has one, else the base price.
fn lookup(
    list: &'static str,
    entry: Option<(&Option<Price>, &[RegionPrice])>,
    id: &str,
    region: &str,
) -> Result<(f64, PriceSource), String> {
    let Some((base, regional)) = entry else {
        return Err(format!("{id} is not in {list}"));
    };
    let source = |basis| PriceSource {
        list,
        id: id.to_string(),
        region: region.to_string(),
        basis,
    };
    if let Some(r) = regional.iter().find(|r| r.id == region) {
        return Ok((r.monthly, source(Basis::Region)));
    }
    match base {
        Some(p) => Ok((p.monthly, source(Basis::Base))),
        None => Err(format!("{id} has no price in {list}")),
    }
}

fn item(kind: ItemKind, what: String, quantity: Quantity, priced: Result<(f64, PriceSource), String>) -> CostItem {
    match priced {
        Ok((unit, source)) => CostItem {
            kind,
            what,
            quantity,
            unit_price: Some(unit),
            monthly: Some(Monthly {
                min: cents(unit * quantity.min as f64),
                max: cents(unit * quantity.max as f64),
            }),
            source: Some(source),
            missing: None,
        },
        Err(why) => CostItem {
            kind,
            what,
            quantity,
            unit_price: None,
            monthly: None,
            source: None,
            missing: Some(why),
        },
    }
}

/// Every billable item of one cluster's shape.
pub fn items(shape: &Shape<'_>, prices: &PriceLists) -> Vec<CostItem> {
    let region = shape.region.as_str();
    let mut out = Vec::new();
    for (ty, lo, hi) in &shape.pools {
        let entry = prices
            .linode
            .iter()
            .find(|t| t.id == *ty)
            .map(|t| (&t.price, t.region_prices.as_slice()));
        let quantity = Quantity {
            min: u64::from(*lo),
            max: u64::from(*hi),
            unit: "nodes",
        };
        out.push(item(
            ItemKind::NodePool,
            format!("pool {ty} × {}", quantity.describe()),
            quantity,
            lookup("/linode/types", entry, ty, region),
        ));
    }
    let priced = |list: &'static str, entries: &[crate::linode::PricedType], id: &str| {
        let entry = entries
            .iter()
            .find(|t| t.id == id)
            .map(|t| (&t.price, t.region_prices.as_slice()));
        lookup(list, entry, id, region)
    };
    let one = |unit| Quantity { min: 1, max: 1, unit };
    let control_plane = if shape.high_availability {
        item(
            ItemKind::ControlPlane,
            "HA control plane".into(),
            one("control planes"),
            priced("/lke/types", &prices.lke, LKE_HA),
        )
    } else {
        // LKE's standard control plane has no charge; its list entry (price 0) is the source when listed.
        let listed = priced("/lke/types", &prices.lke, LKE_STANDARD).ok();
        CostItem {
            kind: ItemKind::ControlPlane,
            what: "standard control plane (no charge)".into(),
            quantity: one("control planes"),
            unit_price: Some(listed.as_ref().map_or(0.0, |(p, _)| *p)),
            monthly: Some(Monthly::fixed(listed.as_ref().map_or(0.0, |(p, _)| *p))),
            source: listed.map(|(_, s)| s),
            missing: None,
        }
    };
    out.push(control_plane);
    for lb in &shape.footprint.load_balancers {
        out.push(item(
            ItemKind::NodeBalancer,
            format!("NodeBalancer {lb}"),
            one("NodeBalancers"),
            priced("/nodebalancers/types", &prices.nodebalancer, NODEBALANCER),
        ));
    }
    for claim in &shape.footprint.claims {
        let replicas = if claim.replicas_min == claim.replicas_max {
            claim.replicas_max.to_string()
        } else {
            format!("{}–{}", claim.replicas_min, claim.replicas_max)
        };
        out.push(item(
            ItemKind::Volume,
            format!("volumes {} ({} GiB × {replicas})", claim.name, claim.gib),
            Quantity {
                min: claim.gib * u64::from(claim.replicas_min),
                max: claim.gib * u64::from(claim.replicas_max),
                unit: "GiB",
            },
            priced("/volumes/types", &prices.volume, VOLUME),
        ));
    }
    out
}

fn total(items: &[CostItem]) -> Monthly {
    items
        .iter()
        .filter_map(|i| i.monthly)
        .fold(Monthly::default(), Monthly::add)
}

/// The fleet's cost: each cluster as planned (`footprints` by cluster name: its rendered stack's billable
/// resources) and, when `observed` is given (what discovery found), the clusters of ours that exist as
/// they run now.
pub fn price_fleet(
    fleet: &Fleet,
    footprints: &BTreeMap<String, Footprint>,
    observed: Option<&[ObservedCluster]>,
    prices: &PriceLists,
) -> FleetCost {
    let empty = Footprint::default();
    let mut clusters = Vec::new();
    let mut missing = Vec::new();
    for c in fleet.clusters() {
        let name = c.name.get_ref();
        let footprint = footprints.get(name).unwrap_or(&empty);
        let items = items(&Shape::planned(c, footprint), prices);
        for i in &items {
            if let Some(why) = &i.missing {
                missing.push(format!("{name}: {} ({why})", i.what));
            }
        }
        let label = naming::cluster_label(fleet.name(), name);
        let now = observed
            .unwrap_or_default()
            .iter()
            .find(|o| o.cluster.label == label && is_ours(&o.cluster.tags, fleet.name()))
            .map(|o| total(&self::items(&Shape::observed(o, footprint), prices)));
        clusters.push(ClusterCost {
            name: name.clone(),
            region: c.region.get_ref().clone(),
            monthly: total(&items),
            items,
            now,
        });
    }
    let monthly = clusters
        .iter()
        .map(|c| c.monthly)
        .fold(Monthly::default(), Monthly::add);
    let now = observed.map(|_| {
        clusters
            .iter()
            .filter_map(|c| c.now)
            .fold(Monthly::default(), Monthly::add)
    });
    FleetCost {
        currency: "USD",
        monthly,
        now,
        difference: now.map(|n| monthly.minus(n)),
        clusters,
        missing,
        now_basis: observed.map(|_| NOW_BASIS),
        not_priced: NOT_PRICED.to_vec(),
    }
}
