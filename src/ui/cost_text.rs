//! The monthly cost as text for a person: per cluster its items with their price source, then the fleet's
//! total, what runs now and the difference, what has no price and what is never priced.

use std::fmt::Write as _;

use crate::plan::cost::{Basis, Budget, Cost, CostItem, FleetCost, Monthly};

/// `$72.00` or `$72.00–$120.00`.
pub fn money(m: Monthly) -> String {
    if m.min == m.max {
        format!("${:.2}", m.max)
    } else {
        format!("${:.2}–${:.2}", m.min, m.max)
    }
}

/// `+$12.00`, `-$5.00`, `+$0.00–$40.00`.
fn signed(m: Monthly) -> String {
    let one = |v: f64| {
        if v < 0.0 {
            format!("-${:.2}", -v)
        } else {
            format!("+${v:.2}")
        }
    };
    if m.min == m.max {
        one(m.max)
    } else {
        format!("{}–{}", one(m.min), one(m.max))
    }
}

fn source(i: &CostItem) -> String {
    match (&i.source, &i.missing) {
        (_, Some(why)) => format!("NO PRICE: {why}"),
        (Some(s), None) => {
            let basis = match s.basis {
                Basis::Region => format!("{} price", s.region),
                Basis::Base => "base price".into(),
            };
            format!("{} {}, {basis}", s.list, s.id)
        }
        (None, None) => "no charge".into(),
    }
}

fn priced(out: &mut String, cost: &FleetCost) {
    for c in &cost.clusters {
        let now = c.now.map(|n| format!("  (now {})", money(n))).unwrap_or_default();
        let _ = writeln!(out, "  {} ({}): {}{now}", c.name, c.region, money(c.monthly));
        for i in &c.items {
            let m = i.monthly.map_or_else(|| "?".to_string(), money);
            let _ = writeln!(out, "    {m:>17}  {}  [{}]", i.what, source(i));
        }
    }
    let _ = writeln!(out, "  total: {} a month", money(cost.monthly));
    if let (Some(now), Some(diff)) = (cost.now, cost.difference) {
        let _ = writeln!(out, "  now: {}; difference: {}", money(now), signed(diff));
    }
    for m in &cost.missing {
        let _ = writeln!(out, "  missing price (not counted): {m}");
    }
    let _ = writeln!(out, "  not priced: {}", cost.not_priced.join(", "));
}

/// The cost section of a plan report, with the limit when one is set.
pub fn render(cost: &Cost, budget: Option<&Budget>) -> String {
    let mut out = String::from("Monthly cost (USD, Linode list prices):\n");
    match cost {
        Cost::Unavailable { reason } => {
            let _ = writeln!(out, "  unknown: {reason}");
        }
        Cost::Priced(c) => priced(&mut out, c),
    }
    if let Some(b) = budget {
        let verdict = match cost {
            Cost::Priced(c) => match b.check(c) {
                Ok(()) => "within it",
                Err(_) => "EXCEEDED",
            },
            Cost::Unavailable { .. } => "not checked without prices",
        };
        let _ = writeln!(out, "  limit: ${:.2} a month: {verdict}", b.limit);
    }
    out
}
