//! The "Not yet proven on LKE" list (docs/unproven-on-lke.md) as named items, and the order the suite runs them in on one
//! fleet: safety first (cost ceiling), then `up`, the items, teardown and the leftover proof.

use crate::live::harness::Harness;
use crate::live::{changes, gpu, platform, safety, stack};

/// Every item: its id (the JUnit class) and the docs/unproven-on-lke.md bullet it proves.
pub const ITEMS: [(&str, &str); 13] = [
    ("probes-over-port-forward", "Probes over port-forward"),
    ("account-capabilities", "Account capabilities and GPU availability"),
    ("control-plane-acl", "Control-plane ACL updates"),
    ("metrics-server", "metrics-server on LKE"),
    ("immutable-field-replacement", "Immutable-field replacement"),
    ("gpu-nodes", "GPU nodes"),
    ("nodebalancer-tls", "NodeBalancer backend range and TLS"),
    (
        "pii-and-dcgm",
        "PII rules and DCGM restricted mode in a real collector and on a real GPU",
    ),
    ("gateway-firewall-off", "Turning the gateway firewall off"),
    ("edge-identity", "Edge identity at the gateway"),
    ("upgrades", "Upgrades and node replacement"),
    ("telemetrygen", "`telemetrygen` on LKE"),
    ("loki-collector-details", "Loki and collector details"),
];

/// Runs the whole suite on `h`'s target. Teardown runs here at the end, and again from `Drop` if this
/// returns early or panics.
pub fn run(h: &mut Harness) {
    if !safety::cost_ceiling(h) {
        skip_all(h, "not run: the fleet is over the cost ceiling (nothing was created)");
    } else {
        platform::account_capabilities(h);
        if safety::up(h) {
            safety::ttl(h);
            stack::verify(h);
            stack::status(h);
            platform::metrics_server(h);
            stack::loadtest(h);
            changes::acl(h);
            changes::immutable(h);
            changes::firewall_off(h);
            gpu::run(h);
            platform::nodebalancer_tls(h);
            platform::edge_refusal(h);
            changes::upgrade(h);
        } else {
            skip_all(h, "not run: `up` failed");
        }
        safety::teardown(h);
    }
    safety::targets(h);
}

/// Marks every item that has no check yet as skipped for `why`.
fn skip_all(h: &mut Harness, why: &str) {
    for (id, _) in ITEMS {
        if !h.checks.iter().any(|c| c.item == id) {
            h.skip(id, "all checks", why);
        }
    }
}

/// Items and what became of them: `proven` (live, every check passed; on the simulator `passed on the
/// simulator`), `FAILED`, or `not proven` (some skipped, with the first reason).
pub fn summary(h: &Harness) -> String {
    let mut t = format!(
        "lkeobs live acceptance on the {} (fleet {}):\n",
        h.target.word(),
        h.fleet
    );
    for (id, title) in ITEMS
        .iter()
        .copied()
        .chain([(safety::ITEM, "the suite's own safety checks")])
    {
        let checks: Vec<_> = h.checks.iter().filter(|c| c.item == id).collect();
        let failed = checks
            .iter()
            .filter(|c| matches!(c.verdict, crate::live::junit::Verdict::Failed(_)))
            .count();
        let skipped = checks.iter().find_map(|c| match &c.verdict {
            crate::live::junit::Verdict::Skipped(why) => Some(why.as_str()),
            _ => None,
        });
        let state = match (checks.is_empty(), failed, skipped) {
            (true, _, _) => "NOT RUN".to_string(),
            (_, n, _) if n > 0 => format!("FAILED ({n} of {} checks)", checks.len()),
            (_, _, Some(why)) => format!("not proven: {why}"),
            _ if h.target.is_live() => format!("proven ({} checks)", checks.len()),
            _ => format!(
                "passed on the simulator ({} checks; a rehearsal, not proof)",
                checks.len()
            ),
        };
        t.push_str(&format!("  {id:<28} {state}  — {title}\n"));
    }
    t
}
