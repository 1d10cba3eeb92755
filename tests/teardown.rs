//! `lkeobs teardown` against the Linode fake and per-cluster fake Kubernetes APIs: the safe order, the sweep
//! of what the platform leaves, nothing without our tags touched, exit 4 when something is left.

use crate::support;
use crate::tooling;

use lkeobs::linode::NodePoolSpec;
use serde_json::{Value, json};
use support::FAKE_TOKEN;
use support::k8s_fake::K8sFake;
use support::linode_fake::{LinodeFake, State};
use tooling::{fleet, lkeobs};

const OURS: &[&str] = &["lkeobs", "lkeobs-fleet-example"];

async fn cluster(fake: &LinodeFake, label: &str, tags: &[&str]) -> u64 {
    let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
    fake.seed_cluster(label, "us-ord", vec![NodePoolSpec::new("g6-standard-1", 2)], &tags)
        .await
}

fn labelled(kind: &str, api: &str, ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns,
        "labels": {"app.kubernetes.io/managed-by": "lkeobs", "lkeobs.io/fleet": "example"}}, "spec": spec})
}

struct World {
    fake: LinodeFake,
    hub_k8s: K8sFake,
    _edge_k8s: K8sFake,
    foreign: Vec<(&'static str, u64)>,
}

/// The example fleet up, plus what the platform leaks and resources that are not ours.
async fn world() -> World {
    let (hub_k8s, edge_k8s) = (K8sFake::start().await, K8sFake::start().await);
    let mut st = State::seeded();
    st.kubeconfig_not_ready_polls = 0;
    st.kube_servers.insert("lkeobs-example-hub".into(), hub_k8s.uri());
    st.kube_servers.insert("lkeobs-example-us-east".into(), edge_k8s.uri());
    let fake = LinodeFake::start_with(st).await;
    let hub = cluster(&fake, "lkeobs-example-hub", &[OURS, &["lkeobs-role-hub"]].concat()).await;
    cluster(&fake, "lkeobs-example-us-east", &[OURS, &["lkeobs-role-edge"]].concat()).await;
    let other_fleet = cluster(&fake, "lkeobs-other-hub", &["lkeobs", "lkeobs-fleet-other"]).await;
    let untagged = cluster(&fake, "lkeobs-example-extra", &[]).await;
    let rules = lkeobs::firewall::gateway_rules(&[]).unwrap();
    let fw = lkeobs::linode::CreateFirewall {
        label: "lkeobs-example-gw".into(),
        rules,
        tags: OURS.iter().map(|s| s.to_string()).collect(),
        devices: None,
    };
    fake.client().create_firewall(&fw).await.unwrap();
    let foreign_nb;
    let foreign_vol;
    {
        let mut s = fake.state();
        s.seed_nodebalancer("ccm-leak", Some(hub), &[]); // left by the cloud controller, untagged
        s.seed_nodebalancer("gw", None, OURS);
        s.seed_volume("pvc-leak", None, OURS);
        foreign_nb = s.seed_nodebalancer("someone-else", None, &["team-x"]);
        foreign_vol = s.seed_volume("someone-elses", None, &[]);
    }
    hub_k8s.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "observability-hub"}}));
    hub_k8s.put(labelled(
        "Service",
        "v1",
        "observability-hub",
        "otel-gateway-external",
        json!({"type": "LoadBalancer", "ports": [{"port": 4317}]}),
    ));
    hub_k8s.put(labelled(
        "PersistentVolumeClaim",
        "v1",
        "observability-hub",
        "queue-otel-gateway-0",
        json!({"resources": {"requests": {"storage": "10Gi"}}}),
    ));
    World {
        fake,
        hub_k8s,
        _edge_k8s: edge_k8s,
        foreign: vec![
            ("cluster", other_fleet),
            ("cluster", untagged),
            ("nodebalancer", foreign_nb),
            ("volume", foreign_vol),
        ],
    }
}

fn teardown(fake: &LinodeFake, extra: &[&str]) -> (i32, Value, String) {
    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["teardown", "--output", "json", "--fleet"])
        .arg(fleet("example"))
        .args(extra)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teardown_leaves_nothing_of_ours_and_everything_else() {
    let w = world().await;
    let (code, report, err) = teardown(&w.fake, &["--yes"]);
    assert_eq!(code, 0, "{err}\n{report:#}");
    assert_eq!(report["left"], json!([]));
    // The cluster-side deletes ran while the hub still existed.
    assert_eq!(report["clusters"][0]["label"], "lkeobs-example-hub");
    assert_eq!(report["clusters"][0]["load_balancers"], 1);
    assert_eq!(report["clusters"][0]["volume_claims"], 1);
    assert!(
        w.hub_k8s
            .get("v1", "Service", Some("observability-hub"), "otel-gateway-external")
            .is_none()
    );
    assert_eq!(report["swept_nodebalancers"].as_array().unwrap().len(), 2, "{report:#}");
    assert_eq!(report["swept_volumes"].as_array().unwrap().len(), 1);
    let st = w.fake.state();
    let labels: Vec<&str> = st.clusters.values().map(|c| c["label"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        ["lkeobs-other-hub", "lkeobs-example-extra"],
        "only foreign clusters survive"
    );
    assert!(st.firewalls.is_empty());
    for (kind, id) in &w.foreign {
        let present = match *kind {
            "cluster" => st.clusters.contains_key(id),
            "nodebalancer" => st.nodebalancers.contains_key(id),
            _ => st.volumes.contains_key(id),
        };
        assert!(present, "{kind} {id} is not ours and was deleted");
    }
    // The order: LB Services before the clusters, firewall before the clusters.
    let order: Vec<String> = st
        .log
        .iter()
        .filter(|l| l.method == "DELETE")
        .map(|l| l.path.clone())
        .collect();
    let fw = order.iter().position(|p| p.contains("/networking/firewalls/")).unwrap();
    let first_cluster = order.iter().position(|p| p.contains("/lke/clusters/")).unwrap();
    assert!(fw < first_cluster, "{order:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn something_left_behind_exits_4_and_is_listed() {
    let w = world().await;
    // The API acknowledges volume deletes but keeps the volumes.
    w.fake.state().faults.volumes_stuck = true;
    let (code, report, err) = teardown(&w.fake, &["--yes"]);
    assert_eq!(code, 4, "{err}");
    let left = report["left"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].as_str().unwrap().starts_with("volume pvc-leak"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_yes_and_without_a_terminal_nothing_is_deleted() {
    let w = world().await;
    let (code, report, err) = teardown(&w.fake, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(report["error"].as_str().unwrap().contains("--yes"), "{report:#}");
    assert!(w.fake.state().log.iter().all(|l| l.method != "DELETE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teardown_removes_our_kubeconfig_entries_only() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let merge = lkeobs()
        .env("LINODE_URL", w.fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .env("KUBECONFIG", &config)
        .args(["kubeconfig", "--merge", "--fleet"])
        .arg(fleet("example"))
        .output()
        .unwrap();
    assert!(merge.status.success(), "{}", String::from_utf8_lossy(&merge.stderr));
    let mut doc: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    doc["contexts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "work", "context": {"cluster": "work", "user": "me"}}));
    std::fs::write(&config, serde_yaml_ng::to_string(&doc).unwrap()).unwrap();
    let out = lkeobs()
        .env("LINODE_URL", w.fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .env("KUBECONFIG", &config)
        .args(["teardown", "--yes", "--fleet"])
        .arg(fleet("example"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    let names: Vec<&str> = doc["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["work"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_ci_without_a_terminal_yes_is_implied() {
    let w = world().await;
    let out = lkeobs()
        .env("CI", "true")
        .env("LINODE_URL", w.fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["teardown", "--fleet"])
        .arg(fleet("example"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(w.fake.state().firewalls.is_empty());
}

/// An `ha` hub's buckets (one holding 2,500 objects) and key go after the clusters; another fleet's bucket
/// stays; the proof lists buckets and keys too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teardown_empties_and_deletes_the_fleets_buckets_and_revokes_its_key_after_the_clusters() {
    use lkeobs::ops::hub_storage;
    let w = world().await;
    w.fake.state().object_storage.key_propagation = std::time::Duration::ZERO;
    let client = w.fake.client();
    let pre = hub_storage::preflight(&client, "us-ord").await.unwrap();
    let ours = hub_storage::ensure(&client, "example", &pre, None, None).await.unwrap();
    let theirs = hub_storage::ensure(&client, "other", &pre, None, None).await.unwrap();
    {
        let mut st = w.fake.state();
        let b = st
            .object_storage
            .buckets
            .get_mut(&format!("us-ord/{}", ours.buckets.logs))
            .expect("bucket");
        let marker = b.objects.values().next().expect("the owner marker").clone();
        for i in 0..2500 {
            b.objects.insert(format!("chunks/{i:05}"), marker.clone());
        }
    }
    let (code, report, err) = teardown(&w.fake, &["--yes"]);
    assert_eq!(code, 0, "{err}\n{report:#}");
    assert_eq!(report["left"], json!([]), "{report:#}");
    let os = &report["object_storage"];
    assert_eq!(os["deleted"].as_array().map(Vec::len), Some(3), "{os:#}");
    assert_eq!(os["objects_deleted"], 2500 + 3, "{os:#}");
    assert!(!os["keys_revoked"].as_array().unwrap().is_empty(), "{os:#}");
    let st = w.fake.state();
    let left: Vec<&String> = st.object_storage.buckets.keys().collect();
    assert_eq!(left.len(), 3, "only the other fleet's buckets stay: {left:?}");
    assert!(left.iter().all(|b| b.starts_with("us-ord/lkeobs-other-")), "{left:?}");
    assert!(left.iter().any(|b| b.ends_with(&theirs.buckets.metrics)), "{left:?}");
    let keys: Vec<&str> = st.object_storage.keys.values().map(|k| k.label.as_str()).collect();
    assert_eq!(keys, ["lkeobs-other"], "{keys:?}");
    // The buckets after the clusters (no engine writes any more).
    let order: Vec<&str> = st
        .log
        .iter()
        .filter(|l| l.method == "DELETE")
        .map(|l| l.path.as_str())
        .collect();
    let last_cluster = order.iter().rposition(|p| p.contains("/lke/clusters/")).unwrap();
    let first_bucket = order
        .iter()
        .position(|p| p.contains("/object-storage/buckets/"))
        .unwrap();
    assert!(last_cluster < first_bucket, "{order:?}");
}
