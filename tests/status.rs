//! `lkeobs status` against the Linode fake and fake Kubernetes APIs: nodes and pods ready, the gateway
//! address, and firewall drift both ways.

mod support;
mod tooling;

use lkeobs::linode::{CreateFirewall, NodePoolSpec};
use serde_json::{Value, json};
use support::FAKE_TOKEN;
use support::k8s_fake::K8sFake;
use support::linode_fake::{LinodeFake, State};
use tooling::{fleet, lkeobs};

fn pod(name: &str, ready: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "monitoring",
        "labels": {"app.kubernetes.io/managed-by": "lkeobs", "lkeobs.io/fleet": "example"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
        "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_readiness_gateway_and_firewall_drift() {
    let (hub_k8s, edge_k8s) = (K8sFake::start().await, K8sFake::start().await);
    let mut st = State::seeded();
    st.kubeconfig_not_ready_polls = 0;
    st.regions
        .push(json!({"id": "us-east", "label": "us-east", "capabilities": ["Kubernetes"], "status": "ok"}));
    st.kube_servers.insert("lkeobs-example-hub".into(), hub_k8s.uri());
    st.kube_servers.insert("lkeobs-example-us-east".into(), edge_k8s.uri());
    let fake = LinodeFake::start_with(st).await;
    for (label, region, role) in [
        ("lkeobs-example-hub", "us-ord", "hub"),
        ("lkeobs-example-us-east", "us-east", "edge"),
    ] {
        let tags = [
            "lkeobs".to_string(),
            "lkeobs-fleet-example".into(),
            format!("lkeobs-role-{role}"),
        ];
        fake.seed_cluster(label, region, vec![NodePoolSpec::new("g6-standard-1", 2)], &tags)
            .await;
    }
    let rules = lkeobs::firewall::gateway_rules(&["198.51.100.99".parse().unwrap()]).unwrap();
    let fw = CreateFirewall {
        label: "lkeobs-example-gw".into(),
        rules,
        tags: vec!["lkeobs".into(), "lkeobs-fleet-example".into()],
        devices: None,
    };
    fake.client().create_firewall(&fw).await.unwrap();
    for ns in ["monitoring", "observability-hub"] {
        hub_k8s.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
    }
    hub_k8s.put(pod("prometheus-0", true));
    hub_k8s.put(pod("loki-0", false));
    hub_k8s.put(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "otel-gateway-external", "namespace": "observability-hub"},
        "spec": {"type": "LoadBalancer"}, "status": {"loadBalancer": {"ingress": [{"ip": "198.51.100.50"}]}}}));

    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["status", "--output", "json", "--fleet"])
        .arg(fleet("example"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["clusters"][0]["state"], "exists");
    assert_eq!(r["clusters"][0]["nodes_ready"], 2);
    assert_eq!(r["clusters"][0]["pods"], json!([1, 2]));
    assert_eq!(r["clusters"][1]["pods"], json!([0, 0]));
    assert_eq!(r["gateway"], "198.51.100.50");
    assert_eq!(r["firewall"]["stale"], json!(["198.51.100.99"]));
    assert_eq!(
        r["firewall"]["missing"].as_array().unwrap().len(),
        2,
        "the edge's two nodes: {r:#}"
    );

    let text = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["status", "--fleet"])
        .arg(fleet("example"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("firewall lkeobs-example-gw: drift"), "{text}");
    assert!(
        text.contains("- 198.51.100.99 (allowed, no longer an edge node)"),
        "{text}"
    );
}
