//! Online preflight rules: the fleet checked against the live Linode catalog (regions and their capabilities, plan types, LKE versions).
//! Pure: the caller fetches the catalog; errors carry fleet-file spans like the offline ones.

use std::collections::BTreeMap;

use super::diag::{Diag, did_you_mean};
use super::spec::{Cluster, Fleet, Role};

/// Capability strings as the API spells them (case- and space-sensitive).
pub mod capability {
    /// Region capabilities (`GET /regions`).
    pub const KUBERNETES: &str = "Kubernetes";
    pub const GPU: &str = "GPU Linodes";
    pub const FIREWALL: &str = "Cloud Firewall";
    pub const NODEBALANCERS: &str = "NodeBalancers";
    pub const BLOCK_STORAGE: &str = "Block Storage";
    /// Account capabilities (`GET /account`): real region answers never list these two.
    pub const HA_CONTROL_PLANE: &str = "LKE HA Control Planes";
    pub const CONTROL_PLANE_ACL: &str = "LKE Network Access Control List (IP ACL)";
}

/// What the account can offer, as far as the preflight needs to know.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Region id → capabilities.
    pub regions: BTreeMap<String, Vec<String>>,
    /// Linode type ids.
    pub types: Vec<String>,
    /// LKE versions offered, e.g. "1.33".
    pub k8s_versions: Vec<String>,
    /// The account's capabilities; fetched only when [`needs_account`] says the fleet uses one.
    pub account: Option<Vec<String>>,
    /// Region id → plan id → available, from `GET /regions/{id}/availability`; fetched for the
    /// regions [`availability_regions`] names.
    pub availability: BTreeMap<String, BTreeMap<String, bool>>,
}

impl Catalog {
    fn has(&self, region: &str, cap: &str) -> bool {
        self.regions
            .get(region)
            .is_some_and(|caps| caps.iter().any(|c| c == cap))
    }
}

/// Whether the fleet uses an account capability (an HA control plane or the control-plane ACL).
pub fn needs_account(fleet: &Fleet) -> bool {
    fleet.clusters().any(|c| *c.high_availability.get_ref()) || !fleet.security.control_plane_acl.is_empty()
}

/// The regions whose plan availability the preflight reads: those of clusters with a GPU pool.
pub fn availability_regions(fleet: &Fleet) -> Vec<String> {
    let mut regions: Vec<String> = fleet
        .clusters()
        .filter(|c| c.has_gpu())
        .map(|c| c.region.get_ref().clone())
        .collect();
    regions.sort();
    regions.dedup();
    regions
}

fn prefix(c: &Cluster) -> String {
    match c.role {
        Role::Hub => "hub".into(),
        Role::Edge => format!("edges.{}", c.name.get_ref()),
    }
}

/// Checks `fleet` against `catalog`; one diagnostic per problem.
pub fn check(fleet: &Fleet, catalog: &Catalog) -> Vec<Diag> {
    let mut d = Vec::new();
    let v = &fleet.fleet.k8s_version;
    if !catalog.k8s_versions.iter().any(|x| x == v.get_ref()) {
        let mut offered = catalog.k8s_versions.clone();
        offered.sort();
        d.push(
            Diag::new(
                v.span(),
                "fleet.k8s_version",
                "this Kubernetes version is not offered by LKE",
            )
            .value(format!("{:?}", v.get_ref()))
            .help(format!("offered: {}", offered.join(", "))),
        );
    }
    account_checks(fleet, catalog, &mut d);
    let region_ids: Vec<&str> = catalog.regions.keys().map(String::as_str).collect();
    let type_ids: Vec<&str> = catalog.types.iter().map(String::as_str).collect();
    for c in fleet.clusters() {
        let p = prefix(c);
        let region = c.region.get_ref();
        let rspan = c.region.span();
        let value = format!("{region:?}");
        let known_region = catalog.regions.contains_key(region);
        if !known_region {
            let mut diag = Diag::new(rspan, format!("{p}.region"), "no such region").value(value);
            if let Some(s) = did_you_mean(region, &region_ids) {
                diag = diag.help(format!("did you mean \"{s}\"?"));
            }
            d.push(diag);
        } else {
            let mut need = |cap: &str, why: &str| {
                if !catalog.has(region, cap) {
                    d.push(
                        Diag::new(
                            rspan.clone(),
                            format!("{p}.region"),
                            format!("region lacks the `{cap}` capability, needed {why}"),
                        )
                        .value(value.clone()),
                    );
                }
            };
            need(capability::KUBERNETES, "for an LKE cluster");
            if c.has_gpu() {
                need(capability::GPU, "for the GPU pool");
            }
            if c.role == Role::Hub {
                need(capability::NODEBALANCERS, "for the gateway's LoadBalancer");
                need(
                    capability::BLOCK_STORAGE,
                    "for the hub's Prometheus, Loki and Tempo volumes",
                );
                if fleet.security.gateway_firewall {
                    need(capability::FIREWALL, "for security.gateway_firewall");
                }
            }
        }
        for (i, pool) in c.pools.iter().enumerate() {
            let t = pool.node_type.get_ref();
            let field = format!("{p}.pools[{i}].type");
            if !catalog.types.iter().any(|x| x == t) {
                let mut diag = Diag::new(pool.node_type.span(), field, "no such Linode type").value(format!("{t:?}"));
                if let Some(s) = did_you_mean(t, &type_ids) {
                    diag = diag.help(format!("did you mean \"{s}\"?"));
                }
                d.push(diag);
            } else if known_region
                && catalog.has(region, capability::GPU)
                && let Some((why, hint)) = availability(catalog, region, pool.is_gpu(), t)
            {
                d.push(
                    Diag::new(pool.node_type.span(), field, why)
                        .value(format!("{t:?}"))
                        .help(hint),
                );
            }
        }
    }
    d
}

/// HA control planes and the control-plane ACL against the account's capabilities, at the line of
/// the key that asks for them.
fn account_checks(fleet: &Fleet, catalog: &Catalog, d: &mut Vec<Diag>) {
    let Some(account) = &catalog.account else {
        return;
    };
    let has = |cap: &str| account.iter().any(|c| c == cap);
    let help = "the account's capabilities (GET /account) decide this, not the region; ask Linode support to enable it";
    if !has(capability::HA_CONTROL_PLANE) {
        for c in fleet.clusters().filter(|c| *c.high_availability.get_ref()) {
            d.push(
                Diag::new(
                    c.high_availability.span(),
                    format!("{}.high_availability", prefix(c)),
                    format!("this account lacks the `{}` capability", capability::HA_CONTROL_PLANE),
                )
                .value("true")
                .help(help),
            );
        }
    }
    if !fleet.security.control_plane_acl.is_empty() && !has(capability::CONTROL_PLANE_ACL) {
        d.push(
            Diag::new(
                fleet.security.control_plane_acl_span.clone(),
                "security.control_plane_acl",
                format!("this account lacks the `{}` capability", capability::CONTROL_PLANE_ACL),
            )
            .help(help),
        );
    }
}

/// Why `plan` cannot be bought in `region`, with a hint, or `None` when it can. A GPU plan must be
/// listed as available; any other plan only fails when it is listed as unavailable.
fn availability(catalog: &Catalog, region: &str, gpu: bool, plan: &str) -> Option<(String, String)> {
    let plans = catalog.availability.get(region)?;
    let sold: Vec<&str> = plans
        .iter()
        .filter(|(id, ok)| **ok && id.contains("gpu"))
        .map(|(id, _)| id.as_str())
        .collect();
    let hint = if sold.is_empty() {
        "this region sells no GPU plan now; pick another region (GET /regions/availability lists where each plan is sold)"
            .to_string()
    } else {
        format!("GPU plans sold in {region}: {}", sold.join(", "))
    };
    match plans.get(plan) {
        Some(true) => None,
        Some(false) => Some((format!("this plan is not available in {region} now"), hint)),
        None if gpu => Some((format!("this GPU plan is not sold in {region}"), hint)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::parse;

    const FLEET: &str = r#"
[fleet]
name = "prod"
k8s_version = "1.33"

[hub]
region = "us-ord"
high_availability = true
pools = [{ type = "g6-standard-4", count = 3 }]

[edges.gpu]
region = "sg-sin-2"
pools = [{ type = "g6-standard-2", count = 1 }, { type = "g2-gpu-rtx4000a1-s", count = 1 }]
"#;

    fn catalog() -> Catalog {
        let all = |extra: &[&str]| {
            let mut v: Vec<String> = [
                capability::KUBERNETES,
                capability::NODEBALANCERS,
                capability::BLOCK_STORAGE,
                capability::FIREWALL,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            v.extend(extra.iter().map(|s| s.to_string()));
            v
        };
        Catalog {
            regions: BTreeMap::from([
                ("us-ord".to_string(), all(&[])),
                ("sg-sin-2".to_string(), all(&[capability::GPU])),
                ("us-east".to_string(), all(&[])),
            ]),
            types: vec![
                "g6-standard-2".into(),
                "g6-standard-4".into(),
                "g2-gpu-rtx4000a1-s".into(),
            ],
            k8s_versions: vec!["1.33".into(), "1.34".into()],
            account: Some(vec![
                capability::HA_CONTROL_PLANE.into(),
                capability::CONTROL_PLANE_ACL.into(),
            ]),
            availability: BTreeMap::from([(
                "sg-sin-2".to_string(),
                BTreeMap::from([
                    ("g2-gpu-rtx4000a1-s".to_string(), true),
                    ("g2-gpu-rtx4000a2-s".to_string(), false),
                ]),
            )]),
        }
    }

    fn run(src: &str, cat: &Catalog) -> Vec<(usize, String, String)> {
        let loaded = parse("t.toml", src).expect("valid offline");
        check(&loaded.fleet, cat)
            .iter()
            .map(|d| {
                let l = loaded.locate(d);
                (l.line, l.field, l.message)
            })
            .collect()
    }

    #[test]
    fn a_matching_catalog_passes() {
        assert!(run(FLEET, &catalog()).is_empty());
    }

    #[test]
    fn unknown_region_with_suggestion_and_line() {
        let errs = run(&FLEET.replace("\"sg-sin-2\"", "\"sg-sni-2\""), &catalog());
        assert_eq!(errs, vec![(12, "edges.gpu.region".into(), "no such region".into())]);
    }

    #[test]
    fn gpu_pool_needs_gpu_region() {
        let mut cat = catalog();
        cat.regions
            .insert("sg-sin-2".into(), vec![capability::KUBERNETES.into()]);
        let errs = run(FLEET, &cat);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].2.contains("GPU Linodes"));
    }

    #[test]
    fn kubernetes_capability_required() {
        let mut cat = catalog();
        cat.regions.insert(
            "us-ord".into(),
            vec![
                capability::NODEBALANCERS.into(),
                capability::BLOCK_STORAGE.into(),
                capability::FIREWALL.into(),
            ],
        );
        let errs = run(FLEET, &cat);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].0, 7);
        assert!(errs[0].2.contains("`Kubernetes`"));
    }

    #[test]
    fn hub_needs_firewall_capability_when_the_firewall_is_on() {
        let mut cat = catalog();
        cat.regions
            .get_mut("us-ord")
            .unwrap()
            .retain(|c| c != capability::FIREWALL);
        let errs = run(FLEET, &cat);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].2.contains("Cloud Firewall"));
        let off = format!("{FLEET}\n[security]\ngateway_firewall = false\n");
        assert!(run(&off, &cat).is_empty());
    }

    #[test]
    fn unknown_type_and_version() {
        let errs = run(
            &FLEET
                .replace("g6-standard-4", "g6-standard-44")
                .replace("\"1.33\"", "\"1.29\""),
            &catalog(),
        );
        let fields: Vec<&str> = errs.iter().map(|e| e.1.as_str()).collect();
        assert_eq!(fields, vec!["fleet.k8s_version", "hub.pools[0].type"]);
        assert_eq!(errs[1].0, 9);
    }

    #[test]
    fn ha_and_acl_are_checked_against_the_account_at_their_own_lines() {
        let src = format!("{FLEET}\n[security]\ncontrol_plane_acl = [\"203.0.113.0/24\"]\n");
        assert!(run(&src, &catalog()).is_empty(), "regions never list HA or the ACL");
        let mut cat = catalog();
        cat.account = Some(Vec::new());
        let errs = run(&src, &cat);
        assert_eq!(
            errs,
            vec![
                (
                    8,
                    "hub.high_availability".into(),
                    "this account lacks the `LKE HA Control Planes` capability".into()
                ),
                (
                    16,
                    "security.control_plane_acl".into(),
                    "this account lacks the `LKE Network Access Control List (IP ACL)` capability".into()
                ),
            ]
        );
        cat.account = None;
        assert!(run(&src, &cat).is_empty(), "not fetched: not checked");
    }

    #[test]
    fn a_gpu_plan_must_be_sold_in_its_region() {
        let mut cat = catalog();
        cat.availability
            .get_mut("sg-sin-2")
            .unwrap()
            .insert("g2-gpu-rtx4000a1-s".into(), false);
        let errs = run(FLEET, &cat);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].0, 13);
        assert_eq!(errs[0].1, "edges.gpu.pools[1].type");
        assert!(errs[0].2.contains("not available in sg-sin-2"), "{errs:?}");
        cat.availability.get_mut("sg-sin-2").unwrap().clear();
        let errs = run(FLEET, &cat);
        assert!(errs[0].2.contains("not sold in sg-sin-2"), "{errs:?}");
    }

    #[test]
    fn the_fleet_says_which_catalog_parts_it_needs() {
        let loaded = parse("t.toml", FLEET).expect("valid");
        assert!(needs_account(&loaded.fleet));
        assert_eq!(availability_regions(&loaded.fleet), vec!["sg-sin-2".to_string()]);
        let plain = parse("t.toml", &FLEET.replace("high_availability = true", "")).expect("valid");
        assert!(!needs_account(&plain.fleet));
    }
}
