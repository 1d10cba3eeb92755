//! `lkeobs status` against the Linode fake and fake Kubernetes APIs: nodes and pods ready, the gateway
//! address, firewall drift both ways, data freshness per signal and the alerts firing at the hub's
//! Prometheus.

use crate::probes_fixtures;
use crate::support;
use crate::tooling;

use lkeobs::linode::{CreateFirewall, NodePoolSpec};
use serde_json::{Value, json};
use support::FAKE_TOKEN;
use support::k8s_fake::K8sFake;
use support::linode_fake::{LinodeFake, State};
use tooling::{fleet, lkeobs};

fn pod(name: &str, app: &str, ready: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "monitoring",
        "labels": {"app.kubernetes.io/managed-by": "lkeobs", "lkeobs.io/fleet": "example", "app.kubernetes.io/name": app}},
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
    fake.seed_example("g6-standard-1", 2).await;
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
    hub_k8s.put(pod("prometheus-0", "prometheus", true));
    hub_k8s.put(pod("loki-0", "loki", false));
    hub_k8s.put(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "loki", "namespace": "monitoring"},
        "spec": {"selector": {"app.kubernetes.io/name": "loki"}, "ports": [{"name": "http", "port": 3100}]}}),
    );
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
    // No Prometheus Service, and no Ready pod behind Loki's: freshness is unknown, with the reason.
    assert_eq!(r["clusters"][0]["freshness"]["metrics"]["state"], "unknown", "{r:#}");
    assert!(
        r["clusters"][1]["freshness"]["logs"]["reason"]
            .as_str()
            .is_some_and(|s| s.ends_with("no ready pod behind monitoring/loki")),
        "{r:#}"
    );
    // The same for the alerts: unknown, saying why.
    assert_eq!(r["alerts"]["state"], "unknown", "{r:#}");
    assert!(
        r["alerts"]["reason"]
            .as_str()
            .is_some_and(|s| s.contains("monitoring/prometheus")),
        "{r:#}"
    );
    assert_eq!(probes_fixtures::proxied(&hub_k8s), Vec::<String>::new());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_data_freshness_and_the_alerts_firing_at_the_hub() {
    let hub_k8s = K8sFake::start().await;
    let mut st = State::seeded();
    st.kubeconfig_not_ready_polls = 0;
    st.kube_servers.insert("lkeobs-example-hub".into(), hub_k8s.uri());
    let fake = LinodeFake::start_with(st).await;
    let tags = [
        "lkeobs".to_string(),
        "lkeobs-fleet-example".into(),
        "lkeobs-role-hub".into(),
    ];
    fake.seed_cluster(
        "lkeobs-example-hub",
        "us-ord",
        vec![NodePoolSpec::new("g6-standard-1", 1)],
        &tags,
    )
    .await;
    // The hub's agents do not run here: what it and the edge (no longer in the account) sent is seeded.
    let backends = probes_fixtures::mount_hub_backends(&fake, &[("lkeobs-example-hub", &hub_k8s)]).await;
    probes_fixtures::seed_recent(&backends.0, "hub", &["hub-1"]);
    probes_fixtures::seed_recent(&backends.0, "us-east", &["use-1"]);

    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["status", "--output", "json", "--fleet"])
        .arg(fleet("example"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The edge does not exist, but the hub still answers for its data.
    for (i, name) in ["hub", "us-east"].iter().enumerate() {
        let f = &r["clusters"][i]["freshness"];
        assert_eq!(r["clusters"][i]["name"], *name);
        for signal in ["metrics", "logs", "traces"] {
            assert_eq!(f[signal]["state"], "recent", "{name} {signal}: {r:#}");
        }
        let age = |s: &str| f[s]["age_seconds"].as_u64().unwrap();
        assert!((4..60).contains(&age("metrics")), "{r:#}");
        assert!(age("logs") < 60, "{r:#}");
        assert!((29..90).contains(&age("traces")), "{r:#}");
    }
    // Firing alerts only (the pending one is left out), from Prometheus' /api/v1/alerts.
    assert_eq!(r["alerts"]["state"], "read", "{r:#}");
    let firing = r["alerts"]["firing"].as_array().unwrap();
    assert_eq!(firing.len(), 1, "{r:#}");
    assert_eq!(firing[0]["name"], "LkeobsMetricsSilent");
    assert_eq!(firing[0]["cluster"], "eu-west");
    assert_eq!(firing[0]["severity"], "critical");
    assert_eq!(firing[0]["active_since"], "2026-08-01T10:00:00Z");
    assert!(
        firing[0]["summary"].as_str().unwrap().contains("`lkeobs status`"),
        "{r:#}"
    );

    let text = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["status", "--fleet"])
        .arg(fleet("example"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("data freshness (age of the newest item at the hub)"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("us-east ") && !l.contains("lkeobs-example"))
        .unwrap_or_else(|| panic!("no freshness row for us-east in {text}"));
    assert_eq!(row.split_whitespace().count(), 4, "{row}");
    // The metrics' age: 30 s as seeded, plus the seconds a loaded machine took to get here.
    let age: u64 = row
        .split_whitespace()
        .last()
        .and_then(|a| a.strip_suffix('s'))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("{row:?}"));
    assert!((30..=35).contains(&age), "{row:?}");
    assert!(
        text.contains("alerts firing at the hub (1)\n  critical LkeobsMetricsSilent [eu-west]\n    Cluster eu-west has sent no metrics"),
        "{text}"
    );
    assert!(
        !text.contains("LkeobsSendingQueueNearFull"),
        "a pending alert is not firing: {text}"
    );
    assert_eq!(probes_fixtures::proxied(&hub_k8s), Vec::<String>::new());
}
