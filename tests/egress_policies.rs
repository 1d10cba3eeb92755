//! Egress NetworkPolicies against the simulator, which judges every connection of the data path as the
//! CNI does (DNS first, egress after the Service's DNAT, the receiver's ingress): with default-deny in both
//! directions in every lkeobs namespace, the data still flows, the agents' `k8s_attributes` watch still
//! reaches the API server (records keep their pod metadata), and a policy that names the `kubernetes`
//! Service's IP instead of the control plane's real address loses that metadata.

use crate::e2e;
use crate::support;

use e2e::{Dir, FLEET, LABELS};
use serde_json::{Value, json};
use support::world::{Latencies, World};

const NAMESPACES: [&str; 3] = ["observability", "monitoring", "observability-hub"];

/// Whether the hub's Loki holds a recent stream of cluster `name` with a Deployment name (metadata only
/// the agents' API watch gives).
async fn has_pod_metadata(loki: &str, name: &str) -> bool {
    let query = format!("{{cluster_id=\"{name}\", k8s_deployment_name=~\".+\"}}");
    let answer: Value = reqwest::Client::new()
        .get(format!("{loki}/loki/api/v1/query_range"))
        .query(&[("query", query.as_str()), ("limit", "10")])
        .send()
        .await
        .expect("Loki answers")
        .json()
        .await
        .expect("JSON");
    answer["data"]["result"].as_array().is_some_and(|r| !r.is_empty())
}

fn policies(world: &World, label: &str) -> Vec<Value> {
    world
        .k8s(label)
        .expect("the cluster's API")
        .list("networking.k8s.io/v1", "NetworkPolicy")
}

fn default_deny(pols: &[Value], namespace: &str) -> bool {
    pols.iter().any(|p| {
        p["metadata"]["namespace"] == namespace
            && p["spec"]["podSelector"] == json!({})
            && p["spec"]["ingress"].as_array().is_none_or(Vec::is_empty)
            && p["spec"]["egress"].as_array().is_none_or(Vec::is_empty)
            && p["spec"]["policyTypes"] == json!(["Ingress", "Egress"])
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn default_deny_egress_keeps_the_data_path_and_the_agents_api_watch() {
    lkeobs::tls::install_crypto_provider();
    let world = World::start(LABELS, Latencies::default()).await;
    world.linode.state().kubeconfig_retry_after_secs = 0;
    let data = world.data_path().await;
    let dir = Dir::new(FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");

    // Every lkeobs namespace denies both directions by default.
    let hub = policies(&world, "lkeobs-e2e-hub");
    for ns in NAMESPACES {
        assert!(default_deny(&hub, ns), "no default-deny in the hub's {ns}");
    }
    assert!(default_deny(&policies(&world, "lkeobs-e2e-us"), "observability"));

    let (code, report, stderr) = dir.run(&world, &["verify", "--canary"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let loki = data.url("loki").await.expect("Loki");
    for name in ["hub", "us", "eu"] {
        assert!(
            has_pod_metadata(&loki, name).await,
            "{name}'s records lost their pod metadata"
        );
    }

    // The API-server rule rewritten to the Service's IP and port (what a policy evaluated before DNAT
    // would name): the agents of `us` lose their watch, the data still flows without pod metadata.
    let us = world.k8s("lkeobs-e2e-us").expect("us");
    let mut agent = us
        .get(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            Some("observability"),
            "otel-agent-egress",
        )
        .expect("the agents' egress policy");
    let rules = agent["spec"]["egress"].as_array_mut().expect("egress rules");
    let api_rule = rules
        .iter_mut()
        .find(|r| {
            r["to"][0]["ipBlock"]["cidr"]
                .as_str()
                .is_some_and(|c| c.ends_with("/32"))
                && r["ports"][0]["port"] != 4317
        })
        .expect("a rule for the API server's address");
    api_rule["to"] = json!([{"ipBlock": {"cidr": "10.128.0.1/32"}}]);
    api_rule["ports"] = json!([{"port": 443, "protocol": "TCP"}]);
    us.put(agent);
    assert!(
        !has_pod_metadata(&loki, "us").await,
        "a Service-IP rule cannot reach the API server"
    );
    assert!(has_pod_metadata(&loki, "eu").await);
    let (code, report, _) = dir.run(&world, &["verify"]).await;
    assert_eq!(code, 0, "the data still flows: {report:#}");

    // The hub gateway without DNS: it cannot resolve the stores, and nothing reaches them.
    let hub_api = world.k8s("lkeobs-e2e-hub").expect("hub");
    let dns = hub_api
        .delete(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            Some("observability-hub"),
            "allow-dns",
        )
        .expect("the namespace's DNS policy");
    let (code, report, _) = dir.run(&world, &["verify"]).await;
    assert_eq!(code, 3, "{report:#}");
    hub_api.put(dns);
    let (code, report, stderr) = dir.run(&world, &["verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
}
