//! The suite's own safety checks (item `harness`): the cost ceiling before anything is created, `up`
//! with it, the TTL tag `reap` relies on, teardown, zero leftovers, and on the simulator no request off
//! loopback.

use crate::live::cleanup;
use crate::live::harness::Harness;

pub const ITEM: &str = "harness";

/// `plan` refuses the fleet under a ceiling of 1 USD (exit 2, nothing created), then accepts it under
/// the run's ceiling. False when the fleet is over the ceiling: nothing may be created then.
pub fn cost_ceiling(h: &mut Harness) -> bool {
    h.check(ITEM, "plan refuses a fleet over the monthly cost ceiling", |h| {
        let out = h.lkeobs(&["plan", "--max-monthly-cost", "1"]);
        if out.code != 2 {
            return Err(format!("plan --max-monthly-cost 1 should exit 2: {}", out.why()));
        }
        let clusters = fleet_clusters(h)?;
        if !clusters.is_empty() {
            return Err(format!("plan created clusters: {clusters:?}"));
        }
        Ok(format!("exit 2, nothing created: {}", last_line(&out.stderr)))
    });
    let ceiling = h.target.max_monthly_cost();
    h.check(ITEM, "plan: the fleet is within the monthly cost ceiling", |h| {
        let out = h.lkeobs(&["plan", "--max-monthly-cost", &ceiling.to_string()]);
        out.ok(&format!("plan --max-monthly-cost {ceiling}"))?;
        let max = out.json["cost"]["monthly"]["max"]
            .as_f64()
            .ok_or_else(|| format!("plan priced nothing: {:#}", out.json["cost"]))?;
        if max > ceiling {
            return Err(format!("plan passed but prices the fleet at {max} USD > {ceiling}"));
        }
        Ok(format!("at most {max:.2} USD a month (ceiling {ceiling})"))
    })
}

/// `up` under the ceiling, then the inventory of what it made. False when it failed.
pub fn up(h: &mut Harness) -> bool {
    h.created = true;
    let ceiling = h.target.max_monthly_cost().to_string();
    let wait = h.target.verify_wait();
    let passed = h.check(ITEM, "up (exit 0, every probe passes)", |h| {
        let out = h.lkeobs(&[
            "up",
            "--merge-kubeconfig",
            "--max-monthly-cost",
            &ceiling,
            "--verify-wait",
            wait,
        ]);
        out.ok("up")?;
        Ok(format!(
            "{} cluster(s) up",
            out.json["clusters"].as_array().map_or(0, Vec::len)
        ))
    });
    inventory(h);
    passed
}

/// Adds what the fleet owns now to the inventory the leftover proof checks.
pub fn inventory(h: &mut Harness) {
    let client = h.client();
    let fleet = h.fleet.clone();
    let mut inv = std::mem::take(&mut h.inventory);
    if let Err(e) = h.rt.block_on(cleanup::take(&client, &fleet, &mut inv)) {
        eprintln!("[live] inventory: {e}");
    }
    h.inventory = inv;
    // The API servers the kubeconfig names now (teardown removes them again).
    if let Ok(text) = std::fs::read_to_string(h.kubeconfig())
        && let Ok(kc) = kube::config::Kubeconfig::from_yaml(&text)
    {
        for c in &kc.clusters {
            let server = c.cluster.as_ref().and_then(|c| c.server.clone()).unwrap_or_default();
            h.kube_servers.insert(c.name.clone(), server);
        }
    }
}

/// Every cluster carries `lkeobs-expires-<t>` within the fleet's TTL, and `reap --dry-run` sees the fleet
/// alive (so a killed run is reaped once the TTL passes).
pub fn ttl(h: &mut Harness) {
    h.check(ITEM, "clusters carry the TTL tag reap reads", |h| {
        let client = h.client();
        let prefix = format!("lkeobs-{}-", h.fleet);
        let clusters =
            h.rt.block_on(client.list_lke_clusters(None))
                .map_err(|e| format!("list clusters: {e}"))?;
        let now = now();
        let mut seen = Vec::new();
        for c in clusters.iter().filter(|c| c.label.starts_with(&prefix)) {
            let expires = c.tags.iter().find_map(|t| lkeobs::naming::parse_expires_tag(t));
            match expires {
                // fleet/ci.toml's ttl is 4h: the tag is at most that far ahead.
                Some(t) if t > now && t <= now + 4 * 3600 => seen.push(format!("{} expires {t}", c.label)),
                other => return Err(format!("{}: expiry {other:?} (tags {:?})", c.label, c.tags)),
            }
        }
        if seen.is_empty() {
            return Err("no cluster of the fleet found".into());
        }
        let out = h.lkeobs(&["reap", "--dry-run"]);
        out.ok("reap --dry-run")?;
        let alive = out.json["alive"].as_array().cloned().unwrap_or_default();
        if !alive.iter().any(|f| f["fleet"] == h.fleet.as_str()) {
            return Err(format!(
                "reap --dry-run does not list fleet {} as alive: {:#}",
                h.fleet, out.json
            ));
        }
        Ok(seen.join("; "))
    });
}

/// `teardown` (exit 0, its own report lists nothing left), then the account re-listed against the
/// inventory, and `reap --dry-run` no longer seeing the fleet.
pub fn teardown(h: &mut Harness) {
    if !h.created {
        return;
    }
    h.check(ITEM, "teardown (exit 0, reports nothing left)", |h| {
        let out = h.lkeobs(&["teardown"]);
        out.ok("teardown")?;
        if out.json["left"] != serde_json::json!([]) {
            return Err(format!("teardown reports leftovers: {:#}", out.json["left"]));
        }
        h.torn_down = true;
        Ok("nothing left by its own account".into())
    });
    h.check(ITEM, "zero leftovers on the account", |h| {
        let client = h.client();
        let left = h.rt.block_on(cleanup::left(&client, &h.fleet, &h.inventory))?;
        if !left.is_empty() {
            return Err(format!("left on the account: {}", left.join(", ")));
        }
        let out = h.lkeobs(&["reap", "--dry-run"]);
        out.ok("reap --dry-run")?;
        let named = |k: &str| {
            out.json[k]
                .as_array()
                .is_some_and(|a| a.iter().any(|f| f["fleet"] == h.fleet.as_str()))
        };
        if named("alive") || named("expired") {
            return Err(format!("reap still sees fleet {}: {:#}", h.fleet, out.json));
        }
        Ok(format!(
            "none of the {} resources seen during the run is left; reap sees no fleet {}",
            h.inventory.items.len(),
            h.fleet
        ))
    });
}

/// Every report named the target's API, and (simulator) nothing reached the trap and every Kubernetes API
/// server the run's kubeconfig named is on loopback (kube-rs does not go through the trap's proxy).
pub fn targets(h: &mut Harness) {
    h.check(ITEM, "every report names the target's Linode API", |h| {
        if h.wrong_api.is_empty() {
            Ok(format!("linode_api.kind {}", h.target.api_kind()))
        } else {
            Err(h.wrong_api.join("\n"))
        }
    });
    if h.target.is_live() {
        return;
    }
    h.check(ITEM, "no request off loopback", |h| {
        let seen = h.trap.as_ref().map(|t| t.seen()).unwrap_or_default();
        if !seen.is_empty() {
            return Err(format!("requests off loopback reached the trap: {seen:?}"));
        }
        let mut servers = Vec::new();
        for (context, server) in &h.kube_servers {
            let host = url::Url::parse(server)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default();
            if !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") {
                return Err(format!("context {context} points at {server}"));
            }
            servers.push(server);
        }
        if servers.is_empty() {
            return Err("the run's kubeconfig names no cluster".into());
        }
        Ok(format!(
            "trap untouched; {} Kubernetes API server(s), all on 127.0.0.1",
            servers.len()
        ))
    });
}

/// The fleet's clusters on the account now.
pub fn fleet_clusters(h: &Harness) -> Result<Vec<lkeobs::linode::LkeCluster>, String> {
    let prefix = format!("lkeobs-{}-", h.fleet);
    let all =
        h.rt.block_on(h.client().list_lke_clusters(None))
            .map_err(|e| format!("list clusters: {e}"))?;
    Ok(all.into_iter().filter(|c| c.label.starts_with(&prefix)).collect())
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn last_line(s: &str) -> &str {
    s.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default()
}
