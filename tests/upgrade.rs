//! A fleet's Kubernetes upgrade through `lkeobs up` end to end (the Linode fake, fake Kubernetes APIs with
//! controllers, the hub's data path): 1.33 → 1.34 of a hub and three edges in order (canary edge first,
//! the hub last), every node replaced by one of the new version and every cluster verified; a canary
//! whose probes fail stops the rest (exit 3); a kill in the middle and a re-run finish it.

use crate::e2e;
use crate::support;

use std::collections::BTreeSet;

use e2e::Dir;
use serde_json::Value;
use support::hub_data::HubData;
use support::linode_fake::State;
use support::world::{Latencies, World};

const LABELS: &[&str] = &["lkeobs-upg-hub", "lkeobs-upg-a", "lkeobs-upg-b", "lkeobs-upg-c"];
const NAMES: [(&str, &str); 4] = [
    ("hub", "lkeobs-upg-hub"),
    ("a", "lkeobs-upg-a"),
    ("b", "lkeobs-upg-b"),
    ("c", "lkeobs-upg-c"),
];

/// A hub and three edges: fixed-size pools, and one autoscaled pool (edge c).
fn fleet(version: &str) -> String {
    format!(
        r#"[fleet]
name = "upg"
k8s_version = "{version}"

[hub]
region = "us-ord"
pools = [{{ type = "g6-standard-2", count = 2 }}]

[edges.a]
region = "us-ord"
pools = [{{ type = "g6-standard-1", count = 1 }}]

[edges.b]
region = "de-fra-2"
pools = [{{ type = "g6-standard-1", count = 2 }}]

[edges.c]
region = "us-ord"
pools = [{{ type = "g6-standard-1", count = 1, autoscale = {{ min = 1, max = 3 }} }}]

[security]
gateway_firewall = true
mtls = true
"#
    )
}

/// The world with versions 1.33–1.35 on offer, and the hub's data path.
async fn world() -> (World, HubData) {
    let mut st = State::seeded();
    st.versions = ["1.32", "1.33", "1.34", "1.35"].map(String::from).to_vec();
    st.kubeconfig_retry_after_secs = 0;
    let w = World::start_with(st, LABELS, Latencies::default()).await;
    // The data path judges the links too: an edge whose new nodes the gateway firewall does not let
    // in fails its probes (the simulator found the upgrade missing that re-sync).
    let data = HubData::start(&w, "lkeobs-upg-hub", &NAMES).await;
    (w, data)
}

/// (label, control-plane version, tags) of every cluster.
fn clusters(w: &World) -> Vec<(String, String, Vec<String>)> {
    let st = w.linode.state();
    st.clusters
        .values()
        .map(|c| {
            let tags = c["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_string));
            (
                c["label"].as_str().unwrap_or_default().to_string(),
                c["k8s_version"].as_str().unwrap_or_default().to_string(),
                tags.collect(),
            )
        })
        .collect()
}

/// Every node Linode's id and the version it runs.
fn nodes(w: &World) -> Vec<(u64, String)> {
    let st = w.linode.state();
    st.node_versions.iter().map(|(id, v)| (*id, v.clone())).collect()
}

/// Every control plane on 1.34, with no upgrade left in progress.
fn assert_all_on_1_34(w: &World) {
    for (label, version, tags) in clusters(w) {
        assert_eq!(version, "1.34", "{label}");
        assert!(
            !tags.iter().any(|t| t.starts_with("lkeobs-upgrading")),
            "{label}: {tags:?}"
        );
    }
}

/// The cluster report of `name` in an `up` report.
fn cluster<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["clusters"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no cluster {name} in {report:#}"))
}

/// Position in the Linode log of the first request matching.
fn first(w: &World, pred: impl Fn(&support::linode_fake::Logged) -> bool) -> Option<usize> {
    w.linode
        .state()
        .log
        .iter()
        .position(|l| l.injected.is_none() && pred(l))
}

fn cluster_id(w: &World, label: &str) -> u64 {
    let st = w.linode.state();
    st.clusters
        .iter()
        .find(|(_, c)| c["label"] == label)
        .map(|(id, _)| *id)
        .unwrap_or_else(|| panic!("no cluster {label}"))
}

/// Index of the PUT that moved `label`'s version.
fn version_put(w: &World, label: &str) -> usize {
    let path = format!("/lke/clusters/{}", cluster_id(w, label));
    first(w, |l| {
        l.method == "PUT" && l.path == path && l.body.as_ref().is_some_and(|b| b["k8s_version"] == "1.34")
    })
    .unwrap_or_else(|| panic!("no version PUT for {label}"))
}

/// Index of the last node replacement (surge, recycle, node delete) of `label`.
fn last_replacement(w: &World, label: &str) -> usize {
    let prefix = format!("/lke/clusters/{}/", cluster_id(w, label));
    let log = w.linode.state().log.clone();
    log.iter()
        .rposition(|l| {
            l.injected.is_none()
                && l.path.starts_with(&prefix)
                && (l.path.contains("/nodes/") || (l.method == "PUT" && l.path.contains("/pools/")))
        })
        .unwrap_or_else(|| panic!("no node replaced in {label}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upgrade_goes_canary_first_hub_last_replaces_every_node_and_verifies_each_cluster() {
    let (w, _data) = world().await;
    let dir = Dir::new(&fleet("1.33"));
    let (code, report, stderr) = dir.run(&w, &["up", "--verify-wait", "2s"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let before: BTreeSet<u64> = nodes(&w).into_iter().map(|(id, _)| id).collect();
    assert_eq!(before.len(), 6, "{:?}", nodes(&w));

    std::fs::write(dir.fleet(), fleet("1.34")).expect("fleet file");
    let (code, plan, stderr) = dir.run(&w, &["plan"]).await;
    assert_eq!(code, 0, "{stderr}");
    let plan_text = plan.to_string();
    assert!(
        plan_text.contains("control plane 1.33 → 1.34, then nodes replaced"),
        "{plan:#}"
    );
    e2e::clear_logs(&w);

    let (code, report, stderr) = dir.run(&w, &["up", "--verify-wait", "5s"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert_eq!(report["linode_api"]["kind"], "simulated", "{report:#}");
    assert_all_on_1_34(&w);
    // Every node is new and runs 1.34; the pools kept their sizes.
    let after = nodes(&w);
    assert_eq!(after.len(), 6, "{after:?}");
    for (id, version) in &after {
        assert_eq!(version, "1.34");
        assert!(!before.contains(id), "node {id} was not replaced");
    }
    for name in ["hub", "a", "b", "c"] {
        let u = &cluster(&report, name)["upgrade"];
        assert_eq!(u["status"], "done", "{name}: {u:#}");
        assert_eq!(
            (u["from"].as_str(), u["to"].as_str(), u["after"].as_str()),
            (Some("1.33"), Some("1.34"), Some("1.34"))
        );
        let stages: Vec<&str> = u["stages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["stage"].as_str())
            .collect();
        assert_eq!(stages, ["control_plane", "nodes", "rollouts", "probes"], "{name}");
        let probes = u["probes"].as_array().expect("the cluster's probes");
        assert!(
            !probes.is_empty() && probes.iter().all(|p| p["cluster"] == name && p["outcome"] != "fail"),
            "{name}: {probes:#?}"
        );
    }
    // The gateway firewall lets the edges' new nodes in (and no longer the old ones).
    assert_eq!(
        e2e::firewall_ips(&w),
        e2e::node_ips(&w, &["lkeobs-upg-a", "lkeobs-upg-b", "lkeobs-upg-c"])
    );
    assert_eq!(cluster(&report, "hub")["upgrade"]["nodes_replaced"], 2);
    assert_eq!(cluster(&report, "b")["upgrade"]["nodes_replaced"], 2);
    assert_eq!(cluster(&report, "a")["upgrade"]["canary"], true);
    // The order: the canary done before another edge starts; the hub after every edge.
    let canary_done = last_replacement(&w, "lkeobs-upg-a");
    for edge in ["lkeobs-upg-b", "lkeobs-upg-c"] {
        assert!(
            version_put(&w, edge) > canary_done,
            "{edge} started before the canary finished"
        );
        assert!(
            version_put(&w, "lkeobs-upg-hub") > last_replacement(&w, edge),
            "the hub went before {edge}"
        );
    }
    // New nodes before old ones go (fixed pools: a surge, then the old node deleted); the autoscaled
    // pool's node is recycled in place. Every old node was drained first.
    let writes = e2e::linode_writes(&w);
    assert!(
        writes.iter().any(|x| x.starts_with("DELETE") && x.contains("/nodes/")),
        "{writes:#?}"
    );
    assert!(
        writes.iter().any(|x| x.starts_with("POST") && x.ends_with("/recycle")),
        "{writes:#?}"
    );
    let evictions: usize = LABELS
        .iter()
        .filter_map(|l| w.k8s(l))
        .map(|k| k.writes().iter().filter(|x| x.path.ends_with("/eviction")).count())
        .sum();
    assert!(evictions > 0, "nothing was drained");
    assert!(e2e::assert_requests_match_the_spec(&w) > 0 || !e2e::spec_available());
    let text = dir.run_text(&w, &["up", "--verify-wait", "2s"]).await;
    assert!(
        !text.contains("upgrade (canary first"),
        "a second up upgrades nothing: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_canary_that_fails_its_probes_stops_the_rest_and_a_rerun_after_a_kill_finishes() {
    let (w, data) = world().await;
    let dir = Dir::new(&fleet("1.33"));
    let (code, report, stderr) = dir.run(&w, &["up", "--verify-wait", "2s"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    std::fs::write(dir.fleet(), fleet("1.34")).expect("fleet file");

    // The canary's data stops reaching the hub once it is upgraded: the upgrade stops there.
    data.silence("a");
    let (code, text, stderr) = dir.run_text_full(&w, &["up", "--verify-wait", "1s"]).await;
    assert_eq!(code, 3, "{stderr}\n{text}");
    assert!(stderr.contains("the upgrade stopped: a failed"), "{stderr}");
    assert!(stderr.contains("3 cluster(s) not upgraded"), "{stderr}");
    // The report a person reads: per cluster versions before and after, status, stage times.
    let section = text
        .split("upgrade (canary first, hub last)")
        .nth(1)
        .unwrap_or_default();
    let line = |name: &str| {
        section
            .lines()
            .find(|l| {
                l.trim_start().starts_with(&format!("{name}:"))
                    || l.trim_start().starts_with(&format!("{name} (canary):"))
            })
            .unwrap_or_else(|| panic!("no upgrade line for {name}: {text}"))
            .to_string()
    };
    assert!(text.contains("upgrade (canary first, hub last)"), "{text}");
    let canary = line("a");
    assert!(
        canary.contains(
            "a (canary): 1.33 → 1.34 (control plane now 1.34), probes failed, 1 node(s) replaced; control plane "
        ) && canary.contains(", nodes ")
            && canary.contains(", probes ")
            && canary.contains("prometheus/series"),
        "{canary}"
    );
    for name in ["hub", "b", "c"] {
        let l = line(name);
        assert!(
            l.contains(&format!(
                "{name}: 1.33 → 1.34 (control plane now 1.33), not started, 0 node(s) replaced; not upgraded:"
            )),
            "{l}"
        );
    }
    assert!(text.contains("verify    not run: the upgrade stopped at a"), "{text}");
    let versions: Vec<(String, String)> = clusters(&w).into_iter().map(|(l, v, _)| (l, v)).collect();
    for (label, version) in &versions {
        let want = if label == "lkeobs-upg-a" { "1.34" } else { "1.33" };
        assert_eq!(version, want, "{label}: {versions:?}");
    }
    let marked = clusters(&w)
        .into_iter()
        .find(|(l, _, _)| l == "lkeobs-upg-a")
        .unwrap()
        .2;
    assert!(marked.contains(&"lkeobs-upgrading-to-1.34".to_string()), "{marked:?}");
    let (_, status, stderr) = dir.run(&w, &["status"]).await;
    let a = status["clusters"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == "a"))
        .cloned();
    let a = a.unwrap_or_else(|| panic!("{stderr}\n{status:#}"));
    assert_eq!(
        (a["k8s_version"].as_str(), a["upgrading_to"].as_str()),
        (Some("1.34"), Some("1.34")),
        "{a:#}"
    );

    // Fixed, the next run is killed while it replaces edge b's first node, and a re-run finishes.
    data.resume("a");
    let seen = dir
        .run_until(&w, &["up", "--verify-wait", "5s"], "upgrade to 1.34: pool")
        .await;
    assert!(seen.contains("upgrade to 1.34"), "{seen}");
    let (code, report, stderr) = dir.run(&w, &["up", "--verify-wait", "5s"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert_all_on_1_34(&w);
    let after = nodes(&w);
    assert_eq!(after.len(), 6, "the pools are back to their sizes: {after:?}");
    assert!(after.iter().all(|(_, v)| v == "1.34"), "{after:?}");
}
