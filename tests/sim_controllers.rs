//! The Kubernetes controllers a node replacement leans on, as the simulator models them:
//! the HPA's bounds, the disruption controller and the Eviction API's 429, kubelets finishing graceful
//! deletes, the scheduler's cordon rule, pod GC for pods on deleted nodes, and a ReadWriteOnce volume
//! that detaches before its StatefulSet pod starts on another node.

use crate::support;

use std::time::Duration;

use lkeobs::k8s::{K8s, Manifests};
use lkeobs::linode::NodePoolSpec;
use serde_json::{Value, json};
use support::eventually;
use support::k8s_fake::K8sFake;
use support::world::{Latencies, World};
use tokio::time::Instant;

const HUB: &str = "lkeobs-c-hub";

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

async fn apply(k8s: &K8s, yaml: &str) {
    let manifests = Manifests::parse([("test.yaml", yaml)]).expect("manifests parse");
    k8s.apply(&manifests, soon()).await.expect("apply");
}

/// A world with one cluster of `nodes` nodes, Ready.
async fn cluster(nodes: u32, latencies: Latencies) -> (World, K8s, K8sFake, u64) {
    let world = World::start(&[HUB], latencies).await;
    let id = world
        .linode
        .seed_cluster(
            HUB,
            "us-ord",
            vec![NodePoolSpec::new("g6-standard-1", nodes)],
            &["lkeobs".into()],
        )
        .await;
    let (k8s, fake) = (world.kube(HUB), (*world.k8s(HUB).expect("api")).clone());
    k8s.wait_nodes_ready(nodes as usize, soon()).await.expect("nodes Ready");
    (world, k8s, fake, id)
}

/// A gateway Deployment without `replicas`, an HPA (2–3) and a PDB `minAvailable: 1` over it.
const GATEWAY: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: obs}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: gateway, namespace: obs}
spec:
  selector: {matchLabels: {app: gateway}}
  template:
    metadata: {labels: {app: gateway}}
    spec:
      containers: [{name: otelcol, image: otel/opentelemetry-collector-contrib:0.120.0}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: gateway, namespace: obs}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: gateway}
  minReplicas: 2
  maxReplicas: 3
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: gateway, namespace: obs}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: gateway}}
"#;

fn pods(fake: &K8sFake, prefix: &str) -> Vec<Value> {
    fake.list("v1", "Pod")
        .into_iter()
        .filter(|p| p["metadata"]["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
        .collect()
}

fn running_ready(p: &Value) -> bool {
    p["status"]["phase"] == "Running"
        && p["metadata"]["deletionTimestamp"].is_null()
        && p["status"]["conditions"]
            .as_array()
            .is_some_and(|c| c.contains(&json!({"type": "Ready", "status": "True"})))
}

fn name(p: &Value) -> String {
    p["metadata"]["name"].as_str().unwrap_or_default().to_string()
}

/// `POST …/eviction`: (status code, body).
async fn evict(fake: &K8sFake, ns: &str, pod: &str) -> (u16, Value) {
    let url = format!("{}/api/v1/namespaces/{ns}/pods/{pod}/eviction", fake.uri());
    let body = json!({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": ns}});
    let r = fake
        .http()
        .post(url)
        .bearer_auth(fake.token())
        .json(&body)
        .send()
        .await
        .expect("eviction request");
    let code = r.status().as_u16();
    (code, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_hpa_raises_a_deployment_to_min_replicas_without_metrics_and_an_apply_keeps_its_scale() {
    let (_w, k8s, fake, _) = cluster(2, Latencies::default()).await;
    apply(&k8s, GATEWAY).await;
    eventually("the HPA raises the gateway to 2", || {
        fake.get("apps/v1", "Deployment", Some("obs"), "gateway")
            .is_some_and(|d| d["spec"]["replicas"] == 2)
    })
    .await;
    eventually("two gateway pods Running", || {
        pods(&fake, "gateway-").iter().filter(|p| running_ready(p)).count() == 2
    })
    .await;
    let hpa = fake
        .get("autoscaling/v2", "HorizontalPodAutoscaler", Some("obs"), "gateway")
        .unwrap();
    assert_eq!(hpa["status"]["desiredReplicas"], 2, "{hpa:#}");
    // The same apply (no `replicas`) leaves the HPA's scale alone: no new generation.
    let generation =
        fake.get("apps/v1", "Deployment", Some("obs"), "gateway").unwrap()["metadata"]["generation"].clone();
    apply(&k8s, GATEWAY).await;
    let d = fake.get("apps/v1", "Deployment", Some("obs"), "gateway").unwrap();
    assert_eq!(
        (d["spec"]["replicas"].clone(), d["metadata"]["generation"].clone()),
        (json!(2), generation)
    );
    // Above the maximum it is lowered.
    fake.update("apps/v1", "Deployment", Some("obs"), "gateway", |o| {
        o["spec"]["replicas"] = json!(7);
        true
    });
    eventually("the HPA lowers the gateway to 3", || {
        fake.get("apps/v1", "Deployment", Some("obs"), "gateway")
            .is_some_and(|d| d["spec"]["replicas"] == 3)
    })
    .await;
}

#[tokio::test]
async fn evictions_past_the_budget_get_429_and_an_evicted_pod_terminates_until_its_kubelet_stops_it() {
    // Slow enough that the evicted pod's replacement is not Ready when the next eviction comes.
    let latencies = Latencies {
        pod_termination: Duration::from_millis(600),
        pod_start: Duration::from_millis(600),
        ..Latencies::default()
    };
    let (_w, k8s, fake, _) = cluster(2, latencies).await;
    apply(&k8s, GATEWAY).await;
    let budget = || {
        fake.get("policy/v1", "PodDisruptionBudget", Some("obs"), "gateway")
            .unwrap()
    };
    eventually("the budget allows one disruption of two healthy pods", || {
        let s = &budget()["status"];
        s["disruptionsAllowed"] == 1 && s["currentHealthy"] == 2 && s["expectedPods"] == 2
    })
    .await;
    let status = budget()["status"].clone();
    assert_eq!(
        (status["desiredHealthy"].clone(), status["observedGeneration"].clone()),
        (json!(1), json!(1)),
        "{status:#}"
    );
    let gateway: Vec<String> = pods(&fake, "gateway-").iter().map(name).collect();
    let (code, body) = evict(&fake, "obs", &gateway[0]).await;
    assert_eq!(code, 201, "{body:#}");
    // Terminating, not gone: the kubelet has not stopped it yet.
    let evicted = fake
        .get("v1", "Pod", Some("obs"), &gateway[0])
        .expect("still there, terminating");
    assert!(!evicted["metadata"]["deletionTimestamp"].is_null(), "{evicted:#}");
    assert_eq!(evicted["metadata"]["deletionGracePeriodSeconds"], 30);
    // The eviction spent the one allowed disruption at once; the controller then counts the evicted pod
    // out (the 429's message quotes its count, as kube-apiserver's does).
    eventually("the budget counts one healthy pod", || {
        budget()["status"]["currentHealthy"] == 1
    })
    .await;
    let (code, body) = evict(&fake, "obs", &gateway[1]).await;
    assert_eq!(code, 429, "{body:#}");
    assert_eq!(body["reason"], "TooManyRequests");
    assert_eq!(
        body["message"],
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    assert_eq!(
        body["details"]["causes"][0],
        json!({"reason": "DisruptionBudget", "message": "The disruption budget gateway needs 1 healthy pods and has 1 currently"})
    );
    // The Deployment replaces the terminating pod at once; its kubelet then stops it.
    eventually("the evicted pod gone and two pods Running again", || {
        fake.get("v1", "Pod", Some("obs"), &gateway[0]).is_none()
            && pods(&fake, "gateway-").iter().filter(|p| running_ready(p)).count() == 2
    })
    .await;
    eventually("the budget allows one again", || {
        budget()["status"]["disruptionsAllowed"] == 1
    })
    .await;
    assert_eq!(evict(&fake, "obs", &gateway[1]).await.0, 201);
}

/// A single-replica store with a ReadWriteOnce claim.
const STORE: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: mon}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: loki, namespace: mon}
spec:
  replicas: 1
  serviceName: loki
  selector: {matchLabels: {app: loki}}
  template:
    metadata: {labels: {app: loki}}
    spec:
      containers: [{name: loki, image: grafana/loki:3.4.2}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Gi}}}
"#;

fn node_of(p: &Value) -> String {
    p["spec"]["nodeName"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn a_moved_store_waits_for_its_volume_to_detach_and_never_lands_on_a_cordoned_node() {
    let latencies = Latencies {
        volume_detach: Duration::from_millis(700),
        ..Latencies::default()
    };
    let (w, k8s, fake, _) = cluster(3, latencies).await;
    apply(&k8s, STORE).await;
    eventually("loki-0 Running", || {
        fake.get("v1", "Pod", Some("mon"), "loki-0")
            .is_some_and(|p| running_ready(&p))
    })
    .await;
    let volume = w.volume_of(HUB, "mon", "data-loki-0").expect("its volume");
    let attached = |w: &World| w.linode.state().volumes[&volume]["linode_id"].as_u64();
    let first = fake.get("v1", "Pod", Some("mon"), "loki-0").unwrap();
    let node_linode = |node: &str| {
        fake.get("v1", "Node", None, node).unwrap()["spec"]["providerID"]
            .as_str()
            .and_then(|p| p.strip_prefix("linode://"))
            .and_then(|id| id.parse::<u64>().ok())
    };
    assert_eq!(
        attached(&w),
        node_linode(&node_of(&first)),
        "attached where its pod runs"
    );
    // Cordon every node but one that is not loki's: the new pod may only go there.
    let nodes: Vec<String> = fake.list("v1", "Node").iter().map(name).collect();
    let free = nodes.iter().find(|n| **n != node_of(&first)).unwrap().clone();
    for n in nodes.iter().filter(|n| **n != free) {
        k8s.cordon(n).await.expect("cordon");
    }
    assert_eq!(evict(&fake, "mon", "loki-0").await.0, 201);
    eventually("a new loki-0 on the one schedulable node", || {
        fake.get("v1", "Pod", Some("mon"), "loki-0")
            .is_some_and(|p| p["metadata"]["uid"] != first["metadata"]["uid"] && !p["spec"]["nodeName"].is_null())
    })
    .await;
    let moved = fake.get("v1", "Pod", Some("mon"), "loki-0").unwrap();
    assert_eq!(node_of(&moved), free);
    // Its volume is still attached to the old node (for 700 ms): once the kubelet has looked, it waits,
    // ContainerCreating, as a Multi-Attach error (the scheduler's PodScheduled comes first, alone).
    eventually("loki-0 Pending with a Multi-Attach error", || {
        fake.get("v1", "Pod", Some("mon"), "loki-0").is_some_and(|p| {
            p["status"]["phase"] == "Pending" && p["status"]["conditions"].to_string().contains("Multi-Attach error")
        })
    })
    .await;
    eventually("loki-0 Running once its volume moved", || {
        fake.get("v1", "Pod", Some("mon"), "loki-0")
            .is_some_and(|p| running_ready(&p))
    })
    .await;
    assert_eq!(attached(&w), node_linode(&free));

    // Every node cordoned: an evicted store stays Pending, Unschedulable.
    k8s.cordon(&free).await.expect("cordon");
    assert_eq!(evict(&fake, "mon", "loki-0").await.0, 201);
    eventually("loki-0 Pending, unschedulable", || {
        fake.get("v1", "Pod", Some("mon"), "loki-0").is_some_and(|p| {
            p["spec"]["nodeName"].is_null()
                && p["status"]["conditions"][0]["reason"] == "Unschedulable"
                && p["status"]["conditions"][0]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("3 node(s) were unschedulable"))
        })
    })
    .await;
}

#[tokio::test]
async fn pods_bound_to_a_deleted_node_are_collected_and_run_again_elsewhere() {
    let (w, k8s, fake, id) = cluster(2, Latencies::default()).await;
    apply(&k8s, GATEWAY).await;
    eventually("two gateway pods Running", || {
        pods(&fake, "gateway-").iter().filter(|p| running_ready(p)).count() == 2
    })
    .await;
    let victim = node_of(&pods(&fake, "gateway-")[0]);
    let client = w.linode.client();
    let pool = client.list_node_pools(id).await.unwrap()[0].clone();
    let linode: u64 = fake.get("v1", "Node", None, &victim).unwrap()["spec"]["providerID"]
        .as_str()
        .and_then(|p| p.strip_prefix("linode://"))
        .and_then(|i| i.parse().ok())
        .unwrap();
    let lke_node = pool
        .nodes
        .iter()
        .find(|n| n.instance_id == Some(linode))
        .unwrap()
        .id
        .clone();
    client.delete_lke_node(id, &lke_node).await.expect("delete the node");
    eventually("no pod left bound to the deleted node, two Running elsewhere", || {
        let gw = pods(&fake, "gateway-");
        !fake.list("v1", "Pod").iter().any(|p| node_of(p) == victim)
            && gw.iter().filter(|p| running_ready(p) && node_of(p) != victim).count() == 2
    })
    .await;
}
