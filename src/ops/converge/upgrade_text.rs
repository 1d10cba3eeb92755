//! The upgrade table of `up`'s text report: per cluster the versions before and after, its status, each
//! stage's time, how long each store was down while its pod moved, and what stopped or blocked it.

use super::report::{ClusterReport, Report};
use crate::ops::converge::upgrade::{Status, UpgradeReport};

/// `; stores down: monitoring/loki 1.2s, monitoring/prometheus 2.0s (2 moves)`, or nothing.
fn stores(u: &UpgradeReport) -> String {
    if u.stores.is_empty() {
        return String::new();
    }
    let each: Vec<String> = u
        .stores
        .iter()
        .map(|s| {
            let moves = if s.moves > 1 {
                format!(" ({} moves)", s.moves)
            } else {
                String::new()
            };
            format!("{} {:.1}s{moves}", s.store, s.seconds)
        })
        .collect();
    format!("; stores down: {}", each.join(", "))
}

/// The upgrade table: per cluster the versions before and after, its status and each stage's time.
pub(super) fn upgrades(r: &Report, out: &mut String) {
    let done: Vec<(&ClusterReport, &UpgradeReport)> = r
        .clusters
        .iter()
        .filter_map(|c| c.upgrade.as_ref().map(|u| (c, u)))
        .collect();
    if done.is_empty() {
        return;
    }
    out.push_str("\nupgrade (canary first, hub last)\n");
    for (c, u) in done {
        let status = match u.status {
            Status::Done => "done",
            Status::ProbesFailed => "probes failed",
            Status::Failed if !u.unreadable_nodes.is_empty() => "not done",
            Status::Failed => "failed",
            Status::Skipped => "not started",
            Status::Blocked => "blocked",
        };
        let stages: Vec<String> = u
            .stages
            .iter()
            .map(|s| format!("{} {:.0}s", s.stage.replace('_', " "), s.seconds))
            .collect();
        out.push_str(&format!(
            "  {}{}: {} → {} (control plane now {}), {status}, {} node(s) replaced{}{}{}\n",
            c.name,
            if u.canary { " (canary)" } else { "" },
            u.from,
            u.to,
            u.after,
            u.nodes_replaced,
            if stages.is_empty() {
                String::new()
            } else {
                format!("; {}", stages.join(", "))
            },
            stores(u),
            u.detail.as_ref().map(|d| format!("; {d}")).unwrap_or_default()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::converge::upgrade::StoreDowntime;

    #[test]
    fn the_hub_line_says_how_long_each_store_was_down() {
        let mut u = UpgradeReport::skipped("1.33", "1.34", false, "x".into());
        assert_eq!(stores(&u), "");
        u.stores = vec![
            StoreDowntime {
                store: "monitoring/loki".into(),
                seconds: 1.24,
                moves: 1,
            },
            StoreDowntime {
                store: "monitoring/prometheus".into(),
                seconds: 2.0,
                moves: 2,
            },
        ];
        assert_eq!(
            stores(&u),
            "; stores down: monitoring/loki 1.2s, monitoring/prometheus 2.0s (2 moves)"
        );
    }
}
