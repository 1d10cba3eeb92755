//! Every request body the client can send, built from the crate's real request types, validated
//! against its operation's requestBody schema in the official spec (4.189.0); fields only the
//! newer API has (4.229.1) are off by default and checked against linode-cli's operations.
//!
//! Spec path: `LKEOBS_LINODE_OPENAPI`, default `../shared/linode-openapi/openapi.json` beside
//! the crate; CLI operations: `LKEOBS_LINODE_CLI_OPS`. Missing files skip loudly, or fail when
//! `CI` is set.

use crate::support::openapi;

/// Object Storage bodies, and which schema each is checked against.
#[path = "linode_contract/object_storage.rs"]
mod object_storage;

use std::collections::BTreeMap;

use lkeobs::linode::{
    AclAddresses, Autoscaler, ControlPlaneAcl, ControlPlaneAclBody, ControlPlaneSpec, CreateFirewall,
    CreateFirewallDevice, CreateLkeCluster, CreateTag, DeviceType, FirewallAction, FirewallDevicesSpec, FirewallRule,
    FirewallRules, FirewallStatus, NodePoolSpec, Protocol, RuleAddresses, Taint, TaintEffect, UpdateFirewall,
    UpdateLkeCluster, UpdateNodePool,
};
use serde::Serialize;
use serde_json::{Value, json};

const SPEC_ENV: &str = "LKEOBS_LINODE_OPENAPI";
const CLI_ENV: &str = "LKEOBS_LINODE_CLI_OPS";

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    body: Value,
}

fn case(name: &'static str, method: &'static str, path: &'static str, body: &impl Serialize) -> Case {
    Case {
        name,
        method,
        path,
        body: serde_json::to_value(body).unwrap(),
    }
}

fn full_pool() -> NodePoolSpec {
    let mut pool = NodePoolSpec::new("g6-standard-2", 3);
    pool.autoscaler = Some(Autoscaler {
        enabled: true,
        min: 3,
        max: 6,
    });
    pool.tags = vec!["lkeobs".into()];
    pool.labels = BTreeMap::from([("lkeobs.io/role".into(), "hub".into())]);
    pool.taints = vec![Taint {
        key: "lkeobs.io/dedicated".into(),
        value: "obs".into(),
        effect: TaintEffect::NoSchedule,
    }];
    pool
}

/// A GPU pool as `up` creates it: `lkeobs.io/gpu` and the fleet file's labels, the fleet file's taints.
fn gpu_pool() -> NodePoolSpec {
    let mut pool = NodePoolSpec::new("g2-gpu-rtx4000a1-s", 1);
    pool.labels = BTreeMap::from([
        ("lkeobs.io/gpu".into(), "true".into()),
        ("example.com/team".into(), "ml".into()),
    ]);
    pool.taints = vec![
        Taint {
            key: "nvidia.com/gpu".into(),
            value: String::new(),
            effect: TaintEffect::NoSchedule,
        },
        Taint {
            key: "dedicated".into(),
            value: "ml".into(),
            effect: TaintEffect::PreferNoSchedule,
        },
    ];
    pool
}

fn full_control_plane() -> ControlPlaneSpec {
    ControlPlaneSpec {
        high_availability: Some(true),
        acl: Some(ControlPlaneAcl {
            enabled: Some(true),
            addresses: Some(AclAddresses {
                ipv4: Some(vec!["203.0.113.0/24".into()]),
                ipv6: Some(vec!["2001:db8::/32".into()]),
            }),
            revision_id: Some("rev-1".into()),
        }),
    }
}

fn full_cluster() -> CreateLkeCluster {
    CreateLkeCluster {
        label: "lkeobs-hub".into(),
        region: "us-ord".into(),
        k8s_version: "1.31".into(),
        node_pools: vec![full_pool(), NodePoolSpec::new("g6-standard-1", 1)],
        tags: vec!["lkeobs".into(), "lkeobs-fleet-demo".into()],
        control_plane: Some(full_control_plane()),
        tier: None,
    }
}

fn rule(action: FirewallAction, protocol: Protocol, ports: Option<&str>) -> FirewallRule {
    FirewallRule {
        action,
        protocol,
        ports: ports.map(Into::into),
        addresses: RuleAddresses {
            ipv4: Some(vec!["203.0.113.7/32".into()]),
            ipv6: Some(vec!["2001:db8::1/128".into()]),
        },
        label: Some("otlp-edges".into()),
        description: Some("OTLP from edge clusters".into()),
    }
}

/// The rules `up` puts on the gateway firewall, for `n` edge nodes (two rules when n > 255).
fn gateway_rules(n: u32) -> FirewallRules {
    let ips: Vec<std::net::Ipv4Addr> = (0..n).map(|i| std::net::Ipv4Addr::from(0xCB00_7100 + i)).collect();
    lkeobs::firewall::gateway_rules(&ips).expect("fits")
}

fn full_rules() -> FirewallRules {
    FirewallRules {
        inbound_policy: FirewallAction::Drop,
        inbound: vec![
            rule(FirewallAction::Accept, Protocol::Tcp, Some("4317,4318")),
            rule(FirewallAction::Accept, Protocol::Icmp, None),
        ],
        outbound_policy: FirewallAction::Accept,
        outbound: vec![rule(FirewallAction::Drop, Protocol::Udp, Some("53"))],
    }
}

fn full_firewall() -> CreateFirewall {
    CreateFirewall {
        label: "lkeobs-hub-gw".into(),
        rules: full_rules(),
        tags: vec!["lkeobs".into()],
        devices: None,
    }
}

/// Every body the client sends by default, each with all its optional 4.189 fields set.
fn default_cases() -> Vec<Case> {
    let minimal = CreateLkeCluster {
        control_plane: None,
        tags: vec![],
        node_pools: vec![NodePoolSpec::new("g6-standard-1", 1)],
        ..full_cluster()
    };
    let update_cluster = UpdateLkeCluster {
        label: Some("lkeobs-hub2".into()),
        tags: Some(vec!["lkeobs".into()]),
        k8s_version: Some("1.32".into()),
        control_plane: Some(full_control_plane()),
    };
    let update_pool = UpdateNodePool {
        count: Some(4),
        autoscaler: Some(Autoscaler {
            enabled: false,
            min: 1,
            max: 1,
        }),
        labels: Some(BTreeMap::from([("a".into(), "b".into())])),
        taints: Some(full_pool().taints),
        tags: None,
        firewall_id: None,
    };
    let update_fw = UpdateFirewall {
        label: Some("lkeobs-gw2".into()),
        status: Some(FirewallStatus::Disabled),
        tags: Some(vec!["lkeobs".into()]),
    };
    let tag = CreateTag {
        label: "lkeobs".into(),
        linodes: vec![1],
        nodebalancers: vec![2],
        volumes: vec![3],
        domains: vec![4],
    };
    vec![
        case("cluster create, every field", "POST", "/lke/clusters", &full_cluster()),
        case("cluster create, minimal", "POST", "/lke/clusters", &minimal),
        case("cluster update", "PUT", "/lke/clusters/{clusterId}", &update_cluster),
        case(
            "control-plane ACL update, as up reconciles it",
            "PUT",
            "/lke/clusters/{clusterId}/control_plane_acl",
            &ControlPlaneAclBody {
                acl: ControlPlaneAcl {
                    revision_id: None,
                    ..full_control_plane().acl.unwrap_or_default()
                },
            },
        ),
        case("pool create", "POST", "/lke/clusters/{clusterId}/pools", &full_pool()),
        case(
            "pool update",
            "PUT",
            "/lke/clusters/{clusterId}/pools/{poolId}",
            &update_pool,
        ),
        case(
            "pool create, a GPU pool as up sends it (our label, the fleet's own, a taint without value)",
            "POST",
            "/lke/clusters/{clusterId}/pools",
            &gpu_pool(),
        ),
        case(
            "pool update, labels and taints cleared (a taint lkeobs once set removed)",
            "PUT",
            "/lke/clusters/{clusterId}/pools/{poolId}",
            &UpdateNodePool {
                labels: Some(BTreeMap::new()),
                taints: Some(Vec::new()),
                ..UpdateNodePool::default()
            },
        ),
        case(
            "pool update, autoscaler only",
            "PUT",
            "/lke/clusters/{clusterId}/pools/{poolId}",
            &UpdateNodePool {
                autoscaler: Some(Autoscaler {
                    enabled: true,
                    min: 1,
                    max: 3,
                }),
                ..UpdateNodePool::default()
            },
        ),
        case("firewall create", "POST", "/networking/firewalls", &full_firewall()),
        case(
            "firewall update",
            "PUT",
            "/networking/firewalls/{firewallId}",
            &update_fw,
        ),
        case(
            "firewall rules put",
            "PUT",
            "/networking/firewalls/{firewallId}/rules",
            &full_rules(),
        ),
        case(
            "gateway firewall rules (lkeobs::firewall), 300 edge nodes",
            "PUT",
            "/networking/firewalls/{firewallId}/rules",
            &gateway_rules(300),
        ),
        case(
            "device create, linode",
            "POST",
            "/networking/firewalls/{firewallId}/devices",
            &CreateFirewallDevice {
                id: 1,
                kind: DeviceType::Linode,
            },
        ),
        case(
            "device create, nodebalancer",
            "POST",
            "/networking/firewalls/{firewallId}/devices",
            &CreateFirewallDevice {
                id: 2,
                kind: DeviceType::Nodebalancer,
            },
        ),
        case("tag create", "POST", "/tags", &tag),
    ]
}

/// Bodies with the optional fields that only the newer API (4.229.1) has.
fn newer_cases() -> Vec<Case> {
    let mut pool = full_pool();
    pool.label = Some("workers".into());
    pool.firewall_id = Some(9);
    pool.k8s_version = Some("v1.31.9+lke7".into());
    pool.update_strategy = Some("rolling_update".into());
    let cluster = CreateLkeCluster {
        tier: Some("enterprise".into()),
        node_pools: vec![pool.clone()],
        ..full_cluster()
    };
    let update_pool = UpdateNodePool {
        tags: Some(vec!["lkeobs".into()]),
        firewall_id: Some(9),
        ..UpdateNodePool::default()
    };
    let firewall = CreateFirewall {
        devices: Some(FirewallDevicesSpec {
            linodes: vec![1],
            nodebalancers: vec![2],
        }),
        ..full_firewall()
    };
    vec![
        case(
            "cluster create with tier and pool label/firewall/version/strategy",
            "POST",
            "/lke/clusters",
            &cluster,
        ),
        case(
            "pool create with label/firewall/version/strategy",
            "POST",
            "/lke/clusters/{clusterId}/pools",
            &pool,
        ),
        case(
            "pool update with tags and firewall",
            "PUT",
            "/lke/clusters/{clusterId}/pools/{poolId}",
            &update_pool,
        ),
        case(
            "firewall create with devices",
            "POST",
            "/networking/firewalls",
            &firewall,
        ),
    ]
}

#[test]
fn every_default_request_body_matches_the_4_189_spec() {
    let Some(spec) = openapi::load(SPEC_ENV, "openapi.json") else {
        return;
    };
    let mut failures = Vec::new();
    for c in default_cases() {
        let schema = openapi::request_schema(&spec, c.method, c.path);
        for v in openapi::violations(&schema, &c.body) {
            failures.push(format!("{} ({} {}): {v}\n  body: {}", c.name, c.method, c.path, c.body));
        }
    }
    assert!(
        failures.is_empty(),
        "request bodies the spec rejects:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_validator_rejects_an_extra_field_a_missing_required_field_a_wrong_type_and_read_only_fields() {
    let Some(spec) = openapi::load(SPEC_ENV, "openapi.json") else {
        return;
    };
    let cluster = openapi::request_schema(&spec, "POST", "/lke/clusters");
    let good = serde_json::to_value(full_cluster()).unwrap();
    assert!(openapi::violations(&cluster, &good).is_empty());
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut body = good.clone();
        f(&mut body);
        openapi::violations(&cluster, &body)
    };
    assert!(
        !mutate(&|b| b["bogus"] = json!(true)).is_empty(),
        "extra top-level field accepted"
    );
    assert!(
        !mutate(&|b| b["node_pools"][0]["bogus"] = json!(1)).is_empty(),
        "extra pool field accepted"
    );
    assert!(
        !mutate(&|b| b["control_plane"]["acl"]["bogus"] = json!(1)).is_empty(),
        "extra nested field accepted"
    );
    assert!(
        !mutate(&|b| {
            b.as_object_mut().unwrap().remove("region");
        })
        .is_empty(),
        "missing region accepted"
    );
    assert!(
        !mutate(&|b| {
            b["node_pools"][0].as_object_mut().unwrap().remove("count");
        })
        .is_empty(),
        "missing count accepted"
    );
    assert!(
        !mutate(&|b| b["node_pools"][0]["count"] = json!("3")).is_empty(),
        "string count accepted"
    );
    assert!(
        !mutate(&|b| b["tags"] = json!("lkeobs")).is_empty(),
        "string tags accepted"
    );
    assert!(
        !mutate(&|b| b["node_pools"][0]["taints"][0]["effect"] = json!("Sometimes")).is_empty(),
        "bad enum accepted"
    );

    // allOf merged: a correct firewall create passes although each part is closed...
    let firewall = openapi::request_schema(&spec, "POST", "/networking/firewalls");
    let good = serde_json::to_value(full_firewall()).unwrap();
    assert!(openapi::violations(&firewall, &good).is_empty());
    // ...and read-only fields are refused in a request.
    let mut with_id = good.clone();
    with_id["id"] = json!(5);
    assert!(
        !openapi::violations(&firewall, &with_id).is_empty(),
        "read-only id accepted"
    );
    let mut with_version = good;
    with_version["rules"]["version"] = json!(2);
    assert!(
        !openapi::violations(&firewall, &with_version).is_empty(),
        "read-only rules.version accepted"
    );
}

#[test]
fn newer_optional_fields_are_off_by_default_and_match_the_newer_api() {
    let Some(spec) = openapi::load(SPEC_ENV, "openapi.json") else {
        return;
    };
    let Some(ops) = openapi::load(CLI_ENV, "linode-cli-5.69.0-baked-ops.json") else {
        return;
    };
    let mut failures = Vec::new();
    for c in newer_cases() {
        // These fields are unknown to 4.189: proof they are newer, so they must stay off by
        // default (the default cases above pass 4.189 without them).
        let schema = openapi::request_schema(&spec, c.method, c.path);
        if openapi::violations(&schema, &c.body).is_empty() {
            failures.push(format!("{}: expected 4.189 to reject the newer fields", c.name));
        }
        let op = openapi::cli_operation(&ops, c.method, c.path);
        for v in openapi::cli_violations(op, &c.body) {
            failures.push(format!("{} ({} {}): {v}", c.name, c.method, c.path));
        }
    }
    for c in default_cases() {
        let op = openapi::cli_operation(&ops, c.method, c.path);
        for v in openapi::cli_violations(op, &c.body) {
            failures.push(format!("{} ({} {}) against 4.229.1: {v}", c.name, c.method, c.path));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_cli_operation_check_rejects_unknown_fields_wrong_types_and_missing_required_ones() {
    let Some(ops) = openapi::load(CLI_ENV, "linode-cli-5.69.0-baked-ops.json") else {
        return;
    };
    let op = openapi::cli_operation(&ops, "POST", "/lke/clusters");
    let good = serde_json::to_value(full_cluster()).unwrap();
    assert!(openapi::cli_violations(op, &good).is_empty());
    let mut extra = good.clone();
    extra["node_pools"][0]["bogus"] = json!(1);
    assert!(!openapi::cli_violations(op, &extra).is_empty());
    let mut wrong = good.clone();
    wrong["tier"] = json!(2);
    assert!(!openapi::cli_violations(op, &wrong).is_empty());
    let mut missing = good;
    missing["node_pools"][1].as_object_mut().unwrap().remove("type");
    assert!(!openapi::cli_violations(op, &missing).is_empty());
}
