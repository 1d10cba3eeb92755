//! Online preflight rules: the fleet checked against the live Linode catalog (regions and their capabilities, plan types, LKE versions).
//! Pure: the caller fetches the catalog; errors carry fleet-file spans like the offline ones.

use std::collections::BTreeMap;

use super::diag::{Diag, did_you_mean};
use super::spec::{Cluster, Fleet, Role};

/// Capability strings as the API spells them (case- and space-sensitive).
pub mod capability {
    pub const KUBERNETES: &str = "Kubernetes";
    pub const GPU: &str = "GPU Linodes";
    pub const FIREWALL: &str = "Cloud Firewall";
    pub const NODEBALANCERS: &str = "NodeBalancers";
    pub const BLOCK_STORAGE: &str = "Block Storage";
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
}

impl Catalog {
    fn has(&self, region: &str, cap: &str) -> bool {
        self.regions
            .get(region)
            .is_some_and(|caps| caps.iter().any(|c| c == cap))
    }
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
    let region_ids: Vec<&str> = catalog.regions.keys().map(String::as_str).collect();
    let type_ids: Vec<&str> = catalog.types.iter().map(String::as_str).collect();
    for c in fleet.clusters() {
        let p = prefix(c);
        let region = c.region.get_ref();
        let rspan = c.region.span();
        let value = format!("{region:?}");
        if !catalog.regions.contains_key(region) {
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
            if c.high_availability {
                need(capability::HA_CONTROL_PLANE, "for high_availability");
            }
            if !fleet.security.control_plane_acl.is_empty() {
                need(capability::CONTROL_PLANE_ACL, "for security.control_plane_acl");
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
            if !catalog.types.iter().any(|x| x == t) {
                let mut diag = Diag::new(
                    pool.node_type.span(),
                    format!("{p}.pools[{i}].type"),
                    "no such Linode type",
                )
                .value(format!("{t:?}"));
                if let Some(s) = did_you_mean(t, &type_ids) {
                    diag = diag.help(format!("did you mean \"{s}\"?"));
                }
                d.push(diag);
            }
        }
    }
    d
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
region = "ap-south"
pools = [{ type = "g6-standard-2", count = 1 }, { type = "g2-gpu-rtx4000a1-s", count = 1 }]
"#;

    fn catalog() -> Catalog {
        let all = |extra: &[&str]| {
            let mut v: Vec<String> = [
                capability::KUBERNETES,
                capability::NODEBALANCERS,
                capability::BLOCK_STORAGE,
                capability::FIREWALL,
                capability::HA_CONTROL_PLANE,
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
                ("ap-south".to_string(), all(&[capability::GPU])),
                ("us-east".to_string(), all(&[])),
            ]),
            types: vec![
                "g6-standard-2".into(),
                "g6-standard-4".into(),
                "g2-gpu-rtx4000a1-s".into(),
            ],
            k8s_versions: vec!["1.33".into(), "1.34".into()],
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
        let errs = run(&FLEET.replace("\"ap-south\"", "\"ap-sout\""), &catalog());
        assert_eq!(errs, vec![(12, "edges.gpu.region".into(), "no such region".into())]);
    }

    #[test]
    fn gpu_pool_needs_gpu_region() {
        let mut cat = catalog();
        cat.regions
            .insert("ap-south".into(), vec![capability::KUBERNETES.into()]);
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
                capability::HA_CONTROL_PLANE.into(),
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
}
