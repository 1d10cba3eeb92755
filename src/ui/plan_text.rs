//! The plan as text for a person: one block per cluster, then the firewall, the destinations' review,
//! problems, notes and a one-line total.

use std::fmt::Write as _;

use crate::plan::{Action, Plan, PlanMode};

fn id(id: Option<u64>) -> String {
    id.map(|i| format!(" (id {i})")).unwrap_or_default()
}

/// Renders `plan` like Terraform's plan: `+` create, `~` update, `-/+` replace, `-` delete, `=` adopt.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let how = if plan.mode == PlanMode::Offline {
        " (offline: planned against an empty account)"
    } else {
        " (against the Linode account)"
    };
    let _ = writeln!(out, "Plan for fleet {:?}{how}\n", plan.fleet);
    let (mut pools, mut objects, mut clusters) = (0, 0, 0);
    for c in &plan.clusters {
        let ha = if c.high_availability { ", HA control plane" } else { "" };
        let verb = match c.action {
            Action::Adopt => "  (exists, ours: adopted)",
            _ => "",
        };
        let head = format!("{} cluster {} ({}) {}", c.action.sigil(), c.name, c.role, c.label);
        let where_ = format!("region {}  k8s {}", c.region, c.k8s_version);
        let _ = writeln!(out, "{head}{}  {where_}{ha}{verb}", id(c.id));
        clusters += usize::from(c.action.is_change());
        for change in &c.changes {
            let _ = writeln!(out, "    ~ {}", change.describe());
        }
        if let Some(acl) = &c.acl {
            let _ = writeln!(out, "    ~ control-plane ACL: {}", acl.describe());
        }
        let _ = writeln!(out, "    tags: {}", c.tags.join(", "));
        for p in &c.pools {
            let scale = p
                .autoscale
                .map(|a| format!(", autoscale {}–{}", a.min, a.max))
                .unwrap_or_default();
            let gpu = if p.gpu { ", GPU (DCGM exporter)" } else { "" };
            let head = format!("{} pool {} × {}", p.action.sigil(), p.node_type, p.count);
            let _ = writeln!(out, "  {head}{scale}{gpu}{}", id(p.id));
            if let Some(meta) = p
                .node_meta_text()
                .filter(|_| p.labels_before.is_none() && p.taints_before.is_none())
            {
                let _ = writeln!(out, "      {meta}");
            }
            for change in p.change_lines() {
                let _ = writeln!(out, "      {change}");
            }
            pools += usize::from(p.action.is_change());
        }
        if c.objects_compared {
            let changed: Vec<_> = c.objects.iter().filter(|o| o.action.is_change()).collect();
            let same = c.objects.len() - changed.len();
            if changed.is_empty() {
                let _ = writeln!(out, "  stack objects: all {same} unchanged");
            } else {
                let same = if same > 0 {
                    format!(" ({same} unchanged)")
                } else {
                    String::new()
                };
                let _ = writeln!(out, "  {} stack objects{same}:", changed.len());
            }
            for o in changed {
                let note = o.note.map(|n| format!("  ({n})")).unwrap_or_default();
                let fields = if o.fields.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", o.fields.join(", "))
                };
                let _ = writeln!(out, "    {} {}{fields}{note}", o.action.sigil(), o.object);
                objects += 1;
            }
        } else {
            let _ = writeln!(out, "  stack objects: applied by `up` (not compared here)");
        }
        out.push('\n');
    }
    let mut firewalls = 0;
    if let Some(f) = &plan.firewall {
        let _ = writeln!(
            out,
            "{} firewall {}{}: inbound {}, outbound {}; {}",
            f.action.sigil(),
            f.label,
            id(f.id),
            f.inbound_policy,
            f.outbound_policy,
            f.rule
        );
        for ip in &f.add {
            let _ = writeln!(out, "    + {ip}");
        }
        for ip in &f.remove {
            let _ = writeln!(out, "    - {ip}");
        }
        if !f.pending_edges.is_empty() {
            let _ = writeln!(out, "    + the nodes of {} once they exist", f.pending_edges.join(", "));
        }
        out.push('\n');
        firewalls += usize::from(f.action.is_change());
    }
    if !plan.destinations.is_empty() {
        let _ = writeln!(out, "destinations (data and tokens leave the fleet here):");
        for d in &plan.destinations {
            let mark = if d.needs_review { "!" } else { "=" };
            let _ = writeln!(out, "  {mark} {}", d.describe());
        }
        out.push('\n');
    }
    if !plan.receivers.is_empty() {
        let _ = writeln!(out, "alert receivers (alerts and their labels leave the fleet here):");
        for r in &plan.receivers {
            let mark = if r.needs_review { "!" } else { "=" };
            let _ = writeln!(out, "  {mark} {}", r.describe());
        }
        out.push('\n');
    }
    for n in &plan.notes {
        let _ = writeln!(out, "note: {n}");
    }
    for w in &plan.blocked_upgrades {
        let _ = writeln!(out, "warning: {w}");
    }
    if let Some(switch) = &plan.hub_mode_switch {
        let _ = writeln!(
            out,
            "warning: {}; `up` makes this switch only with --accept-new-hub-storage",
            switch.describe()
        );
    }
    for p in &plan.problems {
        let _ = writeln!(out, "problem: {p}");
    }
    if !plan.notes.is_empty()
        || !plan.problems.is_empty()
        || !plan.blocked_upgrades.is_empty()
        || plan.hub_mode_switch.is_some()
    {
        out.push('\n');
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
