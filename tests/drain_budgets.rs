//! `K8s::drain` against the simulator's controllers: it returns only once the evicted pods are gone (their
//! kubelet stopped them), and a PodDisruptionBudget that refuses an eviction is said in the progress line
//! (which budget, how many pods it lets go) and named with its pods in the error at the deadline.

use crate::support;

use std::sync::Mutex;
use std::time::Duration;

use lkeobs::k8s::{K8s, Manifests};
use lkeobs::linode::NodePoolSpec;
use support::eventually;
use support::world::{Latencies, World};
use tokio::time::Instant;

const EDGE: &str = "lkeobs-d-edge";

/// The cart Deployment's pods (named as its ReplicaSet names them), by name.
fn cart_pods(fake: &lkeobs::sim::kube::KubeApi) -> Vec<serde_json::Value> {
    let mut pods: Vec<serde_json::Value> = fake
        .list("v1", "Pod")
        .into_iter()
        .filter(|p| p["metadata"]["namespace"] == "shop" && p["metadata"]["labels"]["app"] == "cart")
        .collect();
    pods.sort_by(|a, b| a["metadata"]["name"].as_str().cmp(&b["metadata"]["name"].as_str()));
    pods
}

/// An app of `replicas` pods and a budget `minAvailable: 1` over it.
fn app(replicas: u32) -> String {
    format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: shop}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: cart, namespace: shop}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: cart}}}}
  template:
    metadata: {{labels: {{app: cart}}}}
    spec:
      containers: [{{name: cart, image: example/cart:1}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: cart, namespace: shop}}
spec:
  minAvailable: 1
  selector: {{matchLabels: {{app: cart}}}}
"#
    )
}

/// One node running the app, Ready; the budget has counted it.
async fn setup(replicas: u32, latencies: Latencies) -> (World, K8s, String) {
    let world = World::start(&[EDGE], latencies).await;
    world
        .linode
        .seed_cluster(
            EDGE,
            "us-ord",
            vec![NodePoolSpec::new("g6-standard-1", 2)],
            &["lkeobs".into()],
        )
        .await;
    let k8s = world.kube(EDGE);
    let soon = Instant::now() + Duration::from_secs(10);
    k8s.wait_nodes_ready(2, soon).await.expect("nodes Ready");
    let manifests = Manifests::parse([("app.yaml", app(replicas).as_str())]).expect("parse");
    k8s.apply(&manifests, soon).await.expect("apply");
    let fake = world.k8s(EDGE).expect("api");
    eventually("the budget counts every pod healthy", || {
        fake.get("policy/v1", "PodDisruptionBudget", Some("shop"), "cart")
            .is_some_and(|p| p["status"]["currentHealthy"] == replicas && p["status"]["expectedPods"] == replicas)
    })
    .await;
    let node = cart_pods(&fake)
        .first()
        .and_then(|p| p["spec"]["nodeName"].as_str().map(str::to_string))
        .expect("a cart pod bound");
    (world, k8s, node)
}

#[tokio::test]
async fn a_drain_returns_once_its_pods_are_gone_not_when_they_start_terminating() {
    let latencies = Latencies {
        pod_termination: Duration::from_millis(500),
        ..Latencies::default()
    };
    let (world, k8s, node) = setup(2, latencies).await;
    let fake = world.k8s(EDGE).expect("api");
    k8s.cordon(&node).await.expect("cordon");
    let said = Mutex::new(Vec::new());
    let say = |s: String| said.lock().unwrap().push(s);
    let evicted = k8s
        .drain(&node, Instant::now() + Duration::from_secs(20), &say)
        .await
        .expect("the drain finishes");
    assert!(!evicted.is_empty());
    let left: Vec<String> = fake
        .list("v1", "Pod")
        .iter()
        .filter(|p| p["spec"]["nodeName"] == node.as_str())
        .map(|p| p["metadata"]["name"].to_string())
        .collect();
    assert!(left.is_empty(), "still on {node} (terminating?): {left:?}");
}

#[tokio::test]
async fn a_drain_blocked_by_a_budget_says_which_and_fails_at_the_deadline_naming_it_and_its_pods() {
    let (world, k8s, node) = setup(1, Latencies::default()).await;
    let pod = cart_pods(&world.k8s(EDGE).expect("api"))[0]["metadata"]["name"]
        .as_str()
        .expect("its name")
        .to_string();
    k8s.cordon(&node).await.expect("cordon");
    let said = Mutex::new(Vec::new());
    let say = |s: String| said.lock().unwrap().push(s);
    // It ends at its deadline, not whenever the client gives up on the 429s (kube's default retry of
    // 429s held each eviction for minutes, saying nothing).
    let drain = k8s.drain(&node, Instant::now() + Duration::from_secs(1), &say);
    let err = tokio::time::timeout(Duration::from_secs(30), drain)
        .await
        .expect("the drain ends at its deadline")
        .expect_err("the budget never lets the cart pod go");
    let said = said.lock().unwrap().clone();
    assert_eq!(
        said,
        [format!(
            "{node}: drain waits: PodDisruptionBudget shop/cart lets 0 pod(s) go now (1 healthy, 1 needed); holds shop/{pod}"
        )]
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("the drain of node {node}: 1 pod(s) still on it after"))
            && message.ends_with(&format!(
                "; PodDisruptionBudget shop/cart lets 0 pod(s) go now (1 healthy, 1 needed); holds shop/{pod}"
            )),
        "{message}"
    );
}
