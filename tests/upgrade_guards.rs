//! What stops a node replacement, found before it starts or named when it ends, through `lkeobs up`
//! against the simulator: a user's PodDisruptionBudget that can never let a pod go (`maxUnavailable: 0`)
//! on one edge is warned about by `plan`, and `up` leaves that edge untouched (exit 3, naming the budget
//! and what to change) while the other edge and the hub upgrade, the hub's stores each with their
//! downtime; a node whose kubelet version cannot be read is never counted as upgraded.

use crate::e2e;
use crate::support;

use e2e::Dir;
use serde_json::Value;
use support::eventually;
use support::hub_data::HubData;
use support::linode_fake::State;
use support::world::{Latencies, World};

const LABELS: &[&str] = &["lkeobs-grd-hub", "lkeobs-grd-a", "lkeobs-grd-b"];
const NAMES: [(&str, &str); 3] = [("hub", "lkeobs-grd-hub"), ("a", "lkeobs-grd-a"), ("b", "lkeobs-grd-b")];

fn fleet(version: &str) -> String {
    format!(
        r#"[fleet]
name = "grd"
k8s_version = "{version}"

[hub]
region = "us-ord"
pools = [{{ type = "g6-standard-2", count = 2 }}]

[edges.a]
region = "us-ord"
pools = [{{ type = "g6-standard-1", count = 1 }}]

[edges.b]
region = "de-fra-2"
pools = [{{ type = "g6-standard-1", count = 1 }}]

[security]
gateway_firewall = true
mtls = true
"#
    )
}

async fn world() -> (World, HubData) {
    let mut st = State::seeded();
    st.versions = ["1.33", "1.34"].map(String::from).to_vec();
    st.kubeconfig_retry_after_secs = 0;
    let w = World::start_with(st, LABELS, Latencies::default()).await;
    let data = HubData::start(&w, "lkeobs-grd-hub", &NAMES).await;
    (w, data)
}

fn upgrade<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["clusters"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .map(|c| &c["upgrade"])
        .unwrap_or_else(|| panic!("no cluster {name} in {report:#}"))
}

/// (Linode id, version) of every node of a cluster.
fn nodes_of(w: &World, label: &str) -> Vec<(u64, String)> {
    let st = w.linode.state();
    let Some(id) = st
        .clusters
        .values()
        .find(|c| c["label"] == label)
        .and_then(|c| c["id"].as_u64())
    else {
        return Vec::new();
    };
    st.pools
        .values()
        .filter(|p| p["cluster_id"] == id)
        .flat_map(|p| p["nodes"].as_array().cloned().unwrap_or_default())
        .filter_map(|n| n["instance_id"].as_u64())
        .map(|i| (i, st.node_versions.get(&i).cloned().unwrap_or_default()))
        .collect()
}

fn version_of(w: &World, label: &str) -> String {
    let st = w.linode.state();
    st.clusters
        .values()
        .find(|c| c["label"] == label)
        .and_then(|c| c["k8s_version"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// A user's app on edge b whose budget never lets its pod go.
const RIGID: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cart, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: cart}}
  template:
    metadata: {labels: {app: cart}}
    spec:
      containers: [{name: cart, image: example/cart:1}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: cart, namespace: shop}
spec:
  maxUnavailable: 0
  selector: {matchLabels: {app: cart}}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rigid_budget_blocks_only_its_edge_before_any_change_and_the_hub_reports_store_downtime() {
    let (w, _data) = world().await;
    let dir = Dir::new(&fleet("1.33"));
    let (code, report, stderr) = dir.run(&w, &["up", "--verify-wait", "2s"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let b = w.kube("lkeobs-grd-b");
    let manifests = lkeobs::k8s::Manifests::parse([("rigid.yaml", RIGID)]).expect("parse");
    let soon = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    b.apply(&manifests, soon).await.expect("apply the user's app");
    let fake = w.k8s("lkeobs-grd-b").expect("b's API");
    eventually("the budget counts the cart pod", || {
        fake.get("policy/v1", "PodDisruptionBudget", Some("shop"), "cart")
            .is_some_and(|p| p["status"]["expectedPods"] == 1 && p["status"]["currentHealthy"] == 1)
    })
    .await;
    let b_nodes = nodes_of(&w, "lkeobs-grd-b");

    std::fs::write(dir.fleet(), fleet("1.34")).expect("fleet file");
    let (code, plan, stderr) = dir.run(&w, &["plan"]).await;
    assert_eq!(code, 0, "{stderr}\n{plan:#}");
    let warned = "lkeobs-grd-b: the upgrade to 1.34 is blocked: PodDisruptionBudget shop/cart can never let a pod go (maxUnavailable is 0): set maxUnavailable to 1 or more";
    assert!(
        plan["blocked_upgrades"]
            .as_array()
            .is_some_and(|ws| ws.len() == 1 && ws[0].as_str().unwrap_or_default().starts_with(warned)),
        "{plan:#}"
    );
    let (_, plan_text, _) = dir.run_text_full(&w, &["plan"]).await;
    assert!(plan_text.contains(&format!("warning: {warned}")), "{plan_text}");
    e2e::clear_logs(&w);

    let (code, report, stderr) = dir.run(&w, &["up", "--verify-wait", "5s"]).await;
    assert_eq!(code, 3, "{stderr}\n{report:#}");
    assert!(
        stderr.contains("not upgraded: b blocked before any change: PodDisruptionBudget shop/cart can never let a pod go (maxUnavailable is 0)"),
        "{stderr}"
    );
    let ub = upgrade(&report, "b");
    assert_eq!(ub["status"], "blocked", "{ub:#}");
    assert_eq!(ub["blocked_by"][0]["name"], "shop/cart", "{ub:#}");
    assert_eq!(ub["nodes_replaced"], 0);
    // Nothing of b touched: its control plane, its nodes, no drain.
    assert_eq!(version_of(&w, "lkeobs-grd-b"), "1.33");
    assert_eq!(nodes_of(&w, "lkeobs-grd-b"), b_nodes);
    let b_id = w
        .linode
        .state()
        .clusters
        .values()
        .find(|c| c["label"] == "lkeobs-grd-b")
        .and_then(|c| c["id"].as_u64())
        .unwrap();
    let b_writes: Vec<String> = e2e::linode_writes(&w)
        .into_iter()
        .filter(|x| x.contains(&format!("/lke/clusters/{b_id}")))
        .collect();
    assert!(b_writes.is_empty(), "{b_writes:#?}");
    assert!(
        !fake
            .writes()
            .iter()
            .any(|x| x.path.ends_with("/eviction") || x.path.starts_with("/api/v1/nodes"))
    );
    // The other edge and the hub went on.
    for name in ["a", "hub"] {
        assert_eq!(upgrade(&report, name)["status"], "done", "{name}: {report:#}");
    }
    assert_eq!(version_of(&w, "lkeobs-grd-a"), "1.34");
    assert!(nodes_of(&w, "lkeobs-grd-hub").iter().all(|(_, v)| v == "1.34"));
    assert_eq!(nodes_of(&w, "lkeobs-grd-hub").len(), 2, "the hub's pool kept its size");
    // Each hub store was down while its pod (and volume) moved, for a measured time.
    let stores: Vec<(String, f64, u64)> = upgrade(&report, "hub")["stores"]
        .as_array()
        .unwrap_or_else(|| panic!("{report:#}"))
        .iter()
        .map(|s| {
            (
                s["store"].as_str().unwrap_or_default().to_string(),
                s["seconds"].as_f64().unwrap_or_default(),
                s["moves"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    let names: Vec<&str> = stores.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        names,
        ["monitoring/loki", "monitoring/prometheus", "monitoring/tempo"],
        "{stores:?}"
    );
    assert!(
        stores.iter().all(|(_, secs, moves)| *secs > 0.0 && *moves >= 1),
        "{stores:?}"
    );
    // The hub's probes after its turn passed: the data path is back.
    let probes = upgrade(&report, "hub")["probes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !probes.is_empty() && probes.iter().all(|p| p["outcome"] != "fail"),
        "{probes:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_whose_kubelet_version_cannot_be_read_is_never_counted_as_upgraded() {
    let (w, _data) = world().await;
    let dir = Dir::new(&fleet("1.33"));
    let (code, report, stderr) = dir.run(&w, &["up", "--verify-wait", "2s"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    // Edge b's node reports a kubelet version that does not parse.
    let (linode, _) = nodes_of(&w, "lkeobs-grd-b")[0].clone();
    w.linode.state().node_versions.remove(&linode);
    let fake = w.k8s("lkeobs-grd-b").expect("b's API");
    let node = fake
        .list("v1", "Node")
        .into_iter()
        .find(|n| n["spec"]["providerID"] == format!("linode://{linode}").as_str())
        .and_then(|n| n["metadata"]["name"].as_str().map(str::to_string))
        .expect("b's node");
    eventually("an unreadable kubelet version", || {
        fake.get("v1", "Node", None, &node).is_some_and(|n| {
            lkeobs::k8s::drain::major_minor(n["status"]["nodeInfo"]["kubeletVersion"].as_str().unwrap_or("")).is_none()
        })
    })
    .await;

    std::fs::write(dir.fleet(), fleet("1.34")).expect("fleet file");
    let (code, report, stderr) = dir.run(&w, &["up", "--verify-wait", "5s"]).await;
    assert_ne!(code, 0, "{stderr}\n{report:#}");
    let ub = upgrade(&report, "b");
    assert_ne!(ub["status"], "done", "{ub:#}");
    assert_eq!(ub["unreadable_nodes"], serde_json::json!([node]), "{ub:#}");
    assert!(
        ub["detail"].as_str().unwrap_or_default().contains(&format!(
            "the kubelet version of node(s) {node} cannot be read: not counted as upgraded"
        )),
        "{ub:#}"
    );
    assert_eq!(upgrade(&report, "a")["status"], "done", "{report:#}");
}
