//! `lkeobs remove-edge` against the fakes: the edge's cluster and leftovers go, the hub stays, the firewall
//! follows the remaining edges, the kubeconfig entry and the fleet-file table are removed (comments kept);
//! the edge's gateway credential is revoked in the hub first, and an unreachable hub stops it before any
//! deletion.

use crate::support;
use crate::tooling;

use lkeobs::linode::{CreateFirewall, NodePoolSpec};
use serde_json::{Value, json};
use support::FAKE_TOKEN;
use support::k8s_fake::K8sFake;
use support::linode_fake::{LinodeFake, State};
use tooling::{fleet, lkeobs};

/// The example fleet's hub (one node) and its edge `us-east` (`edge_nodes` nodes), tagged as ours.
async fn seed_hub_and_edge(fake: &LinodeFake, edge_nodes: u32) -> (u64, u64) {
    let pool = |n| vec![NodePoolSpec::new("g6-standard-1", n)];
    let hub = fake
        .seed_cluster("lkeobs-example-hub", "us-ord", pool(1), &tags("hub"))
        .await;
    let edge = fake
        .seed_cluster("lkeobs-example-us-east", "us-east", pool(edge_nodes), &tags("edge"))
        .await;
    (hub, edge)
}

/// A copy of the example fleet file in `dir`: its path and text.
fn example_copy(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let file = dir.join("example.toml");
    let original = std::fs::read_to_string(fleet("example")).unwrap();
    std::fs::write(&file, &original).unwrap();
    (file, original)
}

/// `lkeobs remove-edge us-east --yes EXTRA --fleet FILE` against `fake`.
fn remove_us_east(fake: &LinodeFake, file: &std::path::Path, extra: &[&str]) -> std::process::Output {
    lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["remove-edge", "us-east", "--yes"])
        .args(extra)
        .arg("--fleet")
        .arg(file)
        .output()
        .unwrap()
}

fn tags(role: &str) -> Vec<String> {
    vec![
        "lkeobs".into(),
        "lkeobs-fleet-example".into(),
        format!("lkeobs-role-{role}"),
    ]
}

/// A hub Secret of string data (base64 as the API wants it).
fn hub_secret(name: &str, data: &[(&str, &str)]) -> Value {
    use base64::Engine as _;
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                Value::from(base64::engine::general_purpose::STANDARD.encode(v)),
            )
        })
        .collect();
    json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
           "metadata": {"name": name, "namespace": "observability-hub"}, "data": data})
}

fn secret_text(k8s: &K8sFake, name: &str, key: &str) -> Option<String> {
    use base64::Engine as _;
    let s = k8s.get("v1", "Secret", Some("observability-hub"), name)?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(s["data"][key].as_str()?)
        .ok()?;
    String::from_utf8(raw).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_edge_deletes_it_and_resyncs_everything() {
    let edge_k8s = K8sFake::start().await;
    let hub_k8s = K8sFake::start().await;
    hub_k8s.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "observability-hub"}}));
    hub_k8s.put(hub_secret(
        "lkeobs-edge-credentials",
        &[("us-east", "stolen-with-the-cert"), ("eu", "kept")],
    ));
    hub_k8s.put(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "otel-gateway", "namespace": "observability-hub"},
        "spec": {"selector": {"matchLabels": {"app": "g"}}, "template": {"metadata": {"labels": {"app": "g"}}, "spec": {"containers": []}}}}));
    let mut st = State::seeded();
    st.kubeconfig_not_ready_polls = 0;
    st.regions
        .push(json!({"id": "us-east", "label": "us-east", "capabilities": ["Kubernetes"], "status": "ok"}));
    st.kube_servers.insert("lkeobs-example-us-east".into(), edge_k8s.uri());
    st.kube_servers.insert("lkeobs-example-hub".into(), hub_k8s.uri());
    let fake = LinodeFake::start_with(st).await;
    let (hub, edge) = seed_hub_and_edge(&fake, 2).await;
    // The firewall allows the edge's two nodes.
    let edge_ips: Vec<std::net::Ipv4Addr> = {
        let s = fake.state();
        s.instances
            .values()
            .filter(|i| i["lke_cluster_id"] == edge)
            .map(|i| i["ipv4"][0].as_str().unwrap().parse().unwrap())
            .collect()
    };
    let rules = lkeobs::firewall::gateway_rules(&edge_ips).unwrap();
    let fw = CreateFirewall {
        label: "lkeobs-example-gw".into(),
        rules,
        tags: tags("hub")[..2].to_vec(),
        devices: None,
    };
    fake.client().create_firewall(&fw).await.unwrap();
    fake.state().seed_nodebalancer("edge-lb", Some(edge), &[]);
    let hub_volume = fake
        .state()
        .seed_volume("hub-pvc", None, &["lkeobs", "lkeobs-fleet-example"]);

    let dir = tempfile::tempdir().unwrap();
    let (file, original) = example_copy(dir.path());
    let out = remove_us_east(&fake, &file, &["--output", "json"]);
    assert!(
        out.status.success(),
        "{:?} {} {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["cluster"], edge);
    assert_eq!(r["firewall_removed"].as_array().unwrap().len(), 2);
    assert_eq!(r["swept_nodebalancers"].as_array().unwrap().len(), 1);
    // The credential is gone from both hub Secrets, the gateway restarted, the other edge's kept.
    assert_eq!(r["credential_revoked"], true);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("stolen-with-the-cert"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("stolen-with-the-cert"));
    let creds = hub_k8s
        .get("v1", "Secret", Some("observability-hub"), "lkeobs-edge-credentials")
        .unwrap();
    let keys: Vec<&String> = creds["data"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["eu"]);
    let htpasswd = secret_text(&hub_k8s, "otel-gateway-htpasswd", "htpasswd").expect("htpasswd Secret");
    assert!(
        htpasswd.starts_with("eu:{SHA}") && !htpasswd.contains("us-east"),
        "{htpasswd}"
    );
    let gw = hub_k8s
        .get("apps/v1", "Deployment", Some("observability-hub"), "otel-gateway")
        .unwrap();
    assert_eq!(
        gw["spec"]["template"]["metadata"]["annotations"]["lkeobs.io/restart-reason"],
        "edge credential revoked"
    );
    {
        let s = fake.state();
        assert!(s.clusters.contains_key(&hub) && !s.clusters.contains_key(&edge));
        assert!(s.volumes.contains_key(&hub_volume), "the hub's volume was swept");
        let fw = s.firewalls.values().next().unwrap();
        assert_eq!(fw["rules"]["inbound"], json!([]), "{fw:#}");
    }
    let edited = std::fs::read_to_string(&file).unwrap();
    assert!(!edited.contains("[edges.us-east]"));
    assert_eq!(
        edited,
        lkeobs::fleet::edit::remove_edge(&original, "x", "us-east").unwrap()
    );
    // A second run: the edge is no longer in the file.
    let again = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["remove-edge", "us-east", "--yes", "--fleet"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_edge_stops_before_deleting_when_the_hub_cannot_revoke() {
    let edge_k8s = K8sFake::start().await;
    let mut st = State::seeded();
    st.kubeconfig_not_ready_polls = 0;
    st.regions
        .push(json!({"id": "us-east", "label": "us-east", "capabilities": ["Kubernetes"], "status": "ok"}));
    st.kube_servers.insert("lkeobs-example-us-east".into(), edge_k8s.uri());
    // The hub's API answers nowhere: nothing listens on this port.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_uri = format!("https://{}", dead.local_addr().unwrap());
    drop(dead);
    st.kube_servers.insert("lkeobs-example-hub".into(), dead_uri);
    let fake = LinodeFake::start_with(st).await;
    let (_hub, edge) = seed_hub_and_edge(&fake, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let (file, original) = example_copy(dir.path());
    let out = remove_us_east(&fake, &file, &["--timeout", "20s"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot revoke edge us-east's gateway credential"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was deleted"), "{stderr}");
    assert!(fake.state().clusters.contains_key(&edge), "the edge was deleted anyway");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
}
