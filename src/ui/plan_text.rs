//! The plan as text for a person: one block per cluster, then the firewall, then a one-line total.

use std::fmt::Write as _;

use crate::plan::Plan;

/// Renders `plan` like Terraform's plan: `+` create, `~` update, `-` delete, `=` adopt.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let how = if plan.mode == "offline" {
        " (offline: planned against an empty account)"
    } else {
        ""
    };
    let _ = writeln!(out, "Plan for fleet {:?}{how}\n", plan.fleet);
    let (mut pools, mut objects, mut clusters) = (0, 0, 0);
    for c in &plan.clusters {
        let ha = if c.high_availability { ", HA control plane" } else { "" };
        let _ = writeln!(
            out,
            "{} cluster {} ({}) {}  region {}  k8s {}{ha}",
            c.action.sigil(),
            c.name,
            c.role,
            c.label,
            c.region,
            c.k8s_version
        );
        clusters += usize::from(c.action.is_change());
        let _ = writeln!(out, "    tags: {}", c.tags.join(", "));
        for p in &c.pools {
            let scale = p
                .autoscale
                .map(|a| format!(", autoscale {}–{}", a.min, a.max))
                .unwrap_or_default();
            let gpu = if p.gpu {
                ", GPU: labelled and tainted lkeobs.io/gpu"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {} pool {} × {}{scale}{gpu}",
                p.action.sigil(),
                p.node_type,
                p.count
            );
            pools += usize::from(p.action.is_change());
        }
        let changed: Vec<_> = c.objects.iter().filter(|o| o.action.is_change()).collect();
        let _ = writeln!(out, "  {} stack objects:", changed.len());
        for o in changed {
            let note = o.note.map(|n| format!("  ({n})")).unwrap_or_default();
            let _ = writeln!(out, "    {} {}{note}", o.action.sigil(), o.object);
            objects += 1;
        }
        out.push('\n');
    }
    let mut firewalls = 0;
    if let Some(f) = &plan.firewall {
        let _ = writeln!(
            out,
            "{} firewall {}: inbound {}, outbound {}; {}\n",
            f.action.sigil(),
            f.label,
            f.inbound_policy,
            f.outbound_policy,
            f.rule
        );
        firewalls += usize::from(f.action.is_change());
    }
    if plan.changes == 0 {
        out.push_str("No changes: the account matches the fleet file.\n");
    } else {
        let _ = writeln!(
            out,
            "Plan: {clusters} cluster(s), {pools} pool(s), {firewalls} firewall(s) and {objects} Kubernetes object(s) to create or change."
        );
    }
    out
}
