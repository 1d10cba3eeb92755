//! The cost rules: region prices before base prices, ranges for autoscaled pools, a missing price reported
//! and never counted, the standard control plane free, the limit naming the biggest items.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Basis, Budget, BudgetSource, ItemKind, Monthly, price_fleet};
use crate::linode::{PriceLists, PricedType};
use crate::stack::{Claim, Footprint};

const FLEET: &str = r#"
[fleet]
name = "t"
k8s_version = "1.33"
max_monthly_cost = 1000

[hub]
high_availability = true
region = "us-ord"
pools = [{ type = "g6-standard-4", count = 3, autoscale = { min = 3, max = 5 } }]

[edges.us-east]
region = "us-east"
pools = [{ type = "g6-standard-2", count = 2 }]
"#;

fn prices() -> PriceLists {
    let entry = |id: &str, monthly: f64, ord: f64| {
        json!({"id": id, "price": {"hourly": 0.0, "monthly": monthly},
               "region_prices": [{"id": "us-ord", "hourly": 0.0, "monthly": ord}]})
    };
    let list = |v: serde_json::Value| serde_json::from_value::<Vec<PricedType>>(v).unwrap();
    PriceLists {
        linode: serde_json::from_value(json!([
            entry("g6-standard-4", 48.0, 60.0),
            entry("g6-standard-2", 24.0, 30.0)
        ]))
        .unwrap(),
        lke: list(json!([entry("lke-sa", 0.0, 0.0), entry("lke-ha", 60.0, 72.0)])),
        nodebalancer: list(json!([entry("nodebalancer", 10.0, 12.0)])),
        volume: list(json!([entry("volume", 0.1, 0.2)])),
    }
}

fn footprints() -> BTreeMap<String, Footprint> {
    let hub = Footprint {
        load_balancers: vec!["observability-hub/otel-gateway-external".into()],
        claims: vec![Claim {
            name: "observability-hub/otel-gateway/queue".into(),
            gib: 10,
            replicas_min: 2,
            replicas_max: 10,
        }],
    };
    BTreeMap::from([("hub".to_string(), hub)])
}

fn fleet() -> crate::fleet::Fleet {
    crate::fleet::parse("t.toml", FLEET).unwrap().fleet
}

#[test]
fn region_prices_win_over_base_prices_and_autoscaled_things_span_a_range() {
    let cost = price_fleet(&fleet(), &footprints(), None, &prices());
    let hub = &cost.clusters[0];
    let pool = &hub.items[0];
    assert_eq!(pool.kind, ItemKind::NodePool);
    assert_eq!(
        pool.monthly,
        Some(Monthly { min: 180.0, max: 300.0 }),
        "3–5 × the us-ord price 60"
    );
    assert_eq!(pool.source.as_ref().unwrap().basis, Basis::Region);
    assert_eq!(
        hub.items[1].monthly,
        Some(Monthly::fixed(72.0)),
        "HA at the us-ord price"
    );
    assert_eq!(hub.items[2].monthly, Some(Monthly::fixed(12.0)));
    assert_eq!(
        hub.items[3].monthly,
        Some(Monthly { min: 4.0, max: 20.0 }),
        "10 GiB × 2–10 × 0.2"
    );
    assert_eq!(hub.monthly, Monthly { min: 268.0, max: 404.0 });
    let edge = &cost.clusters[1];
    assert_eq!(
        edge.items[0].monthly,
        Some(Monthly::fixed(48.0)),
        "base price in us-east"
    );
    assert_eq!(edge.items[0].source.as_ref().unwrap().basis, Basis::Base);
    assert_eq!(
        edge.items[1].monthly,
        Some(Monthly::fixed(0.0)),
        "standard control plane"
    );
    assert_eq!(cost.monthly, Monthly { min: 316.0, max: 452.0 });
    assert!(
        cost.now.is_none() && cost.difference.is_none(),
        "not compared with the account"
    );
}

#[test]
fn a_type_missing_from_the_list_is_reported_and_not_counted_as_zero() {
    let mut p = prices();
    p.linode.retain(|t| t.id != "g6-standard-2");
    let cost = price_fleet(&fleet(), &footprints(), None, &p);
    let item = &cost.clusters[1].items[0];
    assert_eq!(item.monthly, None);
    assert!(
        item.missing
            .as_deref()
            .unwrap()
            .contains("g6-standard-2 is not in /linode/types")
    );
    assert_eq!(cost.missing.len(), 1, "{:?}", cost.missing);
    assert!(cost.missing[0].starts_with("us-east: pool g6-standard-2"));
    let budget = Budget {
        limit: 100_000.0,
        source: BudgetSource::Flag,
    };
    let err = budget.check(&cost).unwrap_err();
    assert!(
        err.contains("cannot be checked") && err.contains("g6-standard-2"),
        "{err}"
    );
}

#[test]
fn the_limit_uses_the_top_of_the_range_and_names_the_biggest_items() {
    let cost = price_fleet(&fleet(), &footprints(), Some(&[]), &prices());
    assert_eq!(cost.now, Some(Monthly::default()));
    assert_eq!(cost.difference, Some(cost.monthly));
    let over = Budget {
        limit: 400.0,
        source: BudgetSource::FleetFile,
    };
    let err = over.check(&cost).unwrap_err();
    assert!(
        err.contains("$452.00") && err.contains("max_monthly_cost = 400.00"),
        "{err}"
    );
    let first = err.find("hub: pool g6-standard-4 × 3–5 $300.00").expect(&err);
    let second = err.find("hub: HA control plane $72.00").expect(&err);
    assert!(first < second, "{err}");
    let within = Budget {
        limit: 452.0,
        source: BudgetSource::Flag,
    };
    assert_eq!(within.check(&cost), Ok(()));
}
