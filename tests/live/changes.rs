//! Items proven by changing the fleet file and running `plan` and `up` again: the control-plane ACL, an
//! immutable StorageClass field, the gateway firewall turned off, and a Kubernetes minor upgrade.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams};
use serde_json::Value;

use crate::live::harness::Harness;
use crate::live::safety;

/// Two ACLs, each covering every address (so the runner never locks itself out of its clusters), which
/// differ from each other and from what LKE creates: the fleet gets `A`, then changes to `B`.
const ACL_A: [&str; 3] = ["0.0.0.0/1", "128.0.0.0/1", "::/0"];
const ACL_B: [&str; 4] = ["0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1", "::/0"];

/// `up` after a fleet change, with the run's ceiling, then the inventory refreshed.
pub fn up(h: &mut Harness, what: &str) -> Result<String, String> {
    let ceiling = h.target.max_monthly_cost().to_string();
    let wait = h.target.verify_wait();
    let out = h.lkeobs(&[
        "up",
        "--merge-kubeconfig",
        "--max-monthly-cost",
        &ceiling,
        "--verify-wait",
        wait,
    ]);
    safety::inventory(h);
    out.ok(&format!("up after {what}"))?;
    Ok("exit 0".into())
}

fn cluster_plans(plan: &Value) -> Vec<Value> {
    plan["clusters"].as_array().cloned().unwrap_or_default()
}

/// Control-plane ACL updates: the fleet gets ACL `A` (`plan`, `up`, the API returns it), then changes to
/// `B`: `plan` shows `A → B`, `up` puts it, the API returns it, and `plan` is clean afterwards.
pub fn acl(h: &mut Harness) {
    const ITEM: &str = "control-plane-acl";
    if !acl_round(h, ITEM, None, &ACL_A) || !acl_round(h, ITEM, Some(&ACL_A), &ACL_B) {
        return;
    }
    h.check(ITEM, "plan is clean afterwards", |h| {
        let out = h.lkeobs(&["plan", "--detailed-exitcode"]);
        if out.code != 0 {
            return Err(format!("changes still planned: {}\n{:#}", out.why(), out.json));
        }
        Ok("exit 0".into())
    });
}

fn sorted(nets: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = nets.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// One ACL change: the fleet file gets `to`; `plan` shows `from → to` (`from` as lkeobs set it, or whatever
/// LKE created), `up` puts it, `GET …/control_plane_acl` returns it on every cluster.
fn acl_round(h: &mut Harness, item: &str, from: Option<&[&str]>, to: &[&str]) -> bool {
    let want = sorted(to);
    let from = from.map(sorted);
    let step = match &from {
        Some(f) => format!("{} → {}", f.join(" "), want.join(" ")),
        None => format!("set {}", want.join(" ")),
    };
    let edited = h.edit_fleet(|d| {
        let mut a = toml_edit::Array::new();
        for n in to {
            a.push(*n);
        }
        d["security"]["control_plane_acl"] = toml_edit::value(a);
    });
    if let Err(e) = edited {
        return h.check(item, "edit the fleet", |_| Err(e));
    }
    let planned = h.check(
        item,
        &format!("plan shows the ACL change on every cluster ({step})"),
        |h| {
            let out = h.lkeobs(&["plan"]);
            out.ok("plan")?;
            let mut seen = Vec::new();
            for c in cluster_plans(&out.json) {
                let from_ok = from.as_ref().is_none_or(|f| c["acl"]["from"] == serde_json::json!(f));
                if c["acl"]["to"] != serde_json::json!(want) || !from_ok {
                    return Err(format!("{}: acl {:#}", c["name"], c["acl"]));
                }
                seen.push(format!("{}: {} → {}", c["name"], c["acl"]["from"], c["acl"]["to"]));
            }
            if seen.is_empty() {
                return Err(format!("the plan lists no cluster: {:#}", out.json));
            }
            Ok(seen.join("\n"))
        },
    );
    if !planned
        || !h.check(item, &format!("up puts the ACL (exit 0; {step})"), |h| {
            up(h, "the ACL change")
        })
    {
        return false;
    }
    h.check(
        item,
        &format!("GET control_plane_acl returns it on every cluster ({step})"),
        |h| {
            let client = h.client();
            let mut seen = Vec::new();
            for c in safety::fleet_clusters(h)? {
                let acl =
                    h.rt.block_on(client.get_control_plane_acl(c.id))
                        .map_err(|e| format!("{}: {e}", c.label))?;
                let got = acl.enforced_addresses();
                if got != want {
                    return Err(format!("{}: enforced {got:?}, want {want:?} ({acl:?})", c.label));
                }
                seen.push(c.label);
            }
            if seen.is_empty() {
                return Err("no cluster of the fleet found".into());
            }
            Ok(format!("enforced on {}", seen.join(", ")))
        },
    )
}

/// Immutable-field replacement: a new fleet tag is planned as `-/+ StorageClass [parameters]`, `up`
/// replaces it, and the hub's claims (the StatefulSets' volumes) are kept.
pub fn immutable(h: &mut Harness) {
    const ITEM: &str = "immutable-field-replacement";
    const TAG: &str = "ci-extra-tag";
    let claims_before = claims(h);
    if let Err(e) = h.edit_fleet(|d| {
        if let Some(tags) = d["fleet"]["tags"].as_array_mut() {
            tags.push(TAG);
        }
    }) {
        h.check(ITEM, "edit the fleet", |_| Err(e));
        return;
    }
    let sc_name = lkeobs::naming::storage_class(&h.fleet);
    let planned = h.check(ITEM, "plan shows -/+ StorageClass [parameters]", |h| {
        let out = h.lkeobs(&["plan"]);
        out.ok("plan")?;
        let hub = cluster_plans(&out.json)
            .into_iter()
            .find(|c| c["name"] == "hub")
            .ok_or("no hub in the plan")?;
        let sc: Vec<&Value> = hub["objects"]
            .as_array()
            .map(|a| a.iter().filter(|o| o["kind"] == "StorageClass").collect())
            .unwrap_or_default();
        match sc.as_slice() {
            [o] if o["action"] == "replace" && o["fields"] == serde_json::json!(["parameters"]) => Ok(format!("{o}")),
            _ => Err(format!("StorageClass {sc_name} not planned as a replacement: {sc:?}")),
        }
    });
    if !planned || !h.check(ITEM, "up replaces it (exit 0)", |h| up(h, "the tag change")) {
        return;
    }
    h.check(ITEM, "the StorageClass carries the new tag", |h| {
        let api: Api<StorageClass> = Api::all(h.kube("hub")?);
        let sc =
            h.rt.block_on(api.get(&sc_name))
                .map_err(|e| format!("get {sc_name}: {e}"))?;
        let params = sc.parameters.unwrap_or_default();
        if params.values().any(|v| v.contains(TAG)) {
            Ok(format!("{params:?}"))
        } else {
            Err(format!("{sc_name} parameters without {TAG}: {params:?}"))
        }
    });
    h.check(ITEM, "the hub's claims are kept (same uids)", |h| {
        let before = claims_before.clone()?;
        let after = claims(h)?;
        if before.is_empty() {
            return Err("the hub had no PersistentVolumeClaim".into());
        }
        let lost: Vec<&String> = before
            .iter()
            .filter(|(k, v)| after.get(*k) != Some(v))
            .map(|(k, _)| k)
            .collect();
        if lost.is_empty() {
            Ok(format!("{} claims kept", before.len()))
        } else {
            Err(format!("claims replaced or gone: {lost:?}"))
        }
    });
}

/// The hub's claims: `namespace/name` → uid.
fn claims(h: &Harness) -> Result<BTreeMap<String, String>, String> {
    let api: Api<PersistentVolumeClaim> = Api::all(h.kube("hub")?);
    let list =
        h.rt.block_on(api.list(&ListParams::default()))
            .map_err(|e| format!("list claims: {e}"))?;
    Ok(list
        .items
        .into_iter()
        .map(|c| {
            let m = c.metadata;
            (
                format!("{}/{}", m.namespace.unwrap_or_default(), m.name.unwrap_or_default()),
                m.uid.unwrap_or_default(),
            )
        })
        .collect())
}

/// Waits until `f` holds, for at most `limit`, asking again every `every`.
pub fn wait_for(limit: Duration, every: Duration, mut f: impl FnMut() -> Result<bool, String>) -> Result<(), String> {
    let end = Instant::now() + limit;
    loop {
        if f()? {
            return Ok(());
        }
        if Instant::now() >= end {
            return Err(format!("still not so after {limit:?}"));
        }
        std::thread::sleep(every);
    }
}

/// Turning the gateway firewall off: `up` with `gateway_firewall = false`, then the cloud controller
/// deletes the firewall (`lkeobs-<fleet>-gw` no longer listed).
pub fn firewall_off(h: &mut Harness) {
    const ITEM: &str = "gateway-firewall-off";
    if let Err(e) = h.edit_fleet(|d| d["security"]["gateway_firewall"] = toml_edit::value(false)) {
        h.check(ITEM, "edit the fleet", |_| Err(e));
        return;
    }
    if !h.check(ITEM, "up with gateway_firewall = false (exit 0)", |h| {
        up(h, "turning the firewall off")
    }) {
        return;
    }
    h.check(ITEM, "the gateway firewall is deleted", |h| {
        let label = lkeobs::naming::firewall_label(&h.fleet);
        let client = h.client();
        let limit = if h.target.is_live() { 600 } else { 30 };
        let mut last = Vec::new();
        let gone = wait_for(Duration::from_secs(limit), Duration::from_secs(5), || {
            let fws =
                h.rt.block_on(client.list_firewalls(Some(&lkeobs::linode::Filter::label(&label))))
                    .map_err(|e| format!("list firewalls: {e}"))?;
            last = fws.iter().map(|f| format!("{} (id {})", f.label, f.id)).collect();
            Ok(fws.is_empty())
        });
        gone.map_err(|e| format!("{label} still listed ({last:?}): {e}"))?;
        Ok(format!("no firewall {label}"))
    });
}

/// Upgrades and node replacement: `k8s_version` raised one minor, `plan`, `up` (every cluster's upgrade
/// `done`), every kubelet on the new version, nodes carrying `lke.linode.com/pool-id` and
/// `providerID: linode://…`.
pub fn upgrade(h: &mut Harness) {
    const ITEM: &str = "upgrades";
    let text = std::fs::read_to_string(h.fleet_file()).unwrap_or_default();
    let from = text
        .parse::<toml_edit::DocumentMut>()
        .ok()
        .and_then(|d| d["fleet"]["k8s_version"].as_str().map(str::to_string))
        .unwrap_or_default();
    let Some(to) = next_minor(&from) else {
        h.check(ITEM, "read k8s_version", |_| {
            Err(format!("k8s_version {from:?} is not MAJOR.MINOR"))
        });
        return;
    };
    let offered = h.rt.block_on(h.client().list_lke_versions());
    let offered: Vec<String> = match offered {
        Ok(v) => v.into_iter().map(|v| v.id).collect(),
        Err(e) => {
            h.check(ITEM, "list LKE versions", |_| Err(e.to_string()));
            return;
        }
    };
    if !offered.contains(&to) {
        h.skip(
            ITEM,
            "all checks",
            &format!("the account offers no {to} to upgrade to (versions: {offered:?})"),
        );
        return;
    }
    let _ = h.edit_fleet(|d| d["fleet"]["k8s_version"] = toml_edit::value(to.as_str()));
    let planned = h.check(ITEM, &format!("plan shows {from} → {to} on every cluster"), |h| {
        let out = h.lkeobs(&["plan"]);
        out.ok("plan")?;
        let text = out.json.to_string();
        let want = format!("control plane {from} → {to}");
        let n = text.matches(&want).count();
        let clusters = cluster_plans(&out.json).len();
        if n < clusters || clusters == 0 {
            return Err(format!(
                "{n} of {clusters} clusters planned with {want:?}: {:#}",
                out.json
            ));
        }
        Ok(format!("{want} on {clusters} clusters"))
    });
    if !planned {
        return;
    }
    h.check(ITEM, "up upgrades every cluster (exit 0, upgrade.status done)", |h| {
        let ceiling = h.target.max_monthly_cost().to_string();
        let wait = h.target.verify_wait();
        let out = h.lkeobs(&[
            "up",
            "--merge-kubeconfig",
            "--max-monthly-cost",
            &ceiling,
            "--verify-wait",
            wait,
        ]);
        safety::inventory(h);
        out.ok("up with the new version")?;
        let mut seen = Vec::new();
        for c in cluster_plans(&out.json) {
            if c["upgrade"]["status"] != "done" {
                return Err(format!("{}: upgrade {:#}", c["name"], c["upgrade"]));
            }
            seen.push(format!(
                "{}: {} → {}",
                c["name"], c["upgrade"]["from"], c["upgrade"]["after"]
            ));
        }
        Ok(seen.join(", "))
    });
    h.check(
        ITEM,
        &format!("every kubelet runs {to}; nodes carry pool-id and providerID"),
        |h| {
            let mut seen = Vec::new();
            for cluster in clusters_of(h) {
                let api: Api<Node> = Api::all(h.kube(&cluster)?);
                let nodes =
                    h.rt.block_on(api.list(&ListParams::default()))
                        .map_err(|e| format!("{cluster}: {e}"))?;
                for n in nodes.items {
                    let name = n.metadata.name.clone().unwrap_or_default();
                    let kubelet = n
                        .status
                        .as_ref()
                        .and_then(|s| s.node_info.as_ref())
                        .map(|i| i.kubelet_version.clone())
                        .unwrap_or_default();
                    if !kubelet.trim_start_matches('v').starts_with(&format!("{to}.")) {
                        return Err(format!("{cluster} node {name} runs {kubelet}"));
                    }
                    let labels = n.metadata.labels.clone().unwrap_or_default();
                    if !labels.contains_key("lke.linode.com/pool-id") {
                        return Err(format!("{cluster} node {name} has no lke.linode.com/pool-id label"));
                    }
                    let provider = n.spec.as_ref().and_then(|s| s.provider_id.clone()).unwrap_or_default();
                    if !provider.starts_with("linode://") {
                        return Err(format!("{cluster} node {name} providerID {provider:?}"));
                    }
                    seen.push(format!("{cluster}/{name} {kubelet}"));
                }
            }
            if seen.is_empty() {
                return Err("no node found".into());
            }
            Ok(seen.join(", "))
        },
    );
}

/// `1.33` → `1.34`.
pub fn next_minor(v: &str) -> Option<String> {
    let (major, minor) = v.split_once('.')?;
    Some(format!("{major}.{}", minor.parse::<u32>().ok()? + 1))
}

/// The fleet's cluster names from its file (`hub` and every edge).
pub fn clusters_of(h: &Harness) -> Vec<String> {
    let text = std::fs::read_to_string(h.fleet_file()).unwrap_or_default();
    let mut names = vec!["hub".to_string()];
    if let Ok(doc) = text.parse::<toml_edit::DocumentMut>()
        && let Some(edges) = doc.get("edges").and_then(|e| e.as_table_like())
    {
        names.extend(edges.iter().map(|(k, _)| k.to_string()));
    }
    names
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_minor_versions() {
        assert_eq!(super::next_minor("1.33").as_deref(), Some("1.34"));
        assert_eq!(super::next_minor("1.9").as_deref(), Some("1.10"));
        assert_eq!(super::next_minor("1"), None);
    }
}
