//! `k8s` waits against the fake Kubernetes API, in real (short) time: rollouts judged by our own
//! condition (a lagging observedGeneration is not done), a timeout that says what it waited for
//! and the newest Warning event, the LoadBalancer address, and all nodes Ready.

use crate::support;

use std::time::Duration;

use lkeobs::k8s::{K8sError, Workload, WorkloadKind};
use serde_json::{Value, json};
use support::eventually;
use support::k8s_fake::K8sFake;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const NS: &str = "observability-hub";
const DEPLOYMENTS: &str = "/apis/apps/v1/namespaces/observability-hub/deployments";

/// Waits until the wait `waiting` has opened a watch on `path` (an API collection path, e.g.
/// `/api/v1/nodes`), or has ended. kube-rs' watcher lists first and watches only after the listed
/// objects were judged, so once it watches, the wait has seen the listed state and found it not done.
async fn watching<T>(fake: &K8sFake, path: &str, waiting: &JoinHandle<T>) {
    eventually(&format!("a watch on {path}"), || {
        waiting.is_finished()
            || fake
                .requests()
                .iter()
                .any(|r| r.path == path && r.query.get("watch").is_some_and(|w| w == "true" || w == "1"))
    })
    .await;
}

fn in_secs(secs: f64) -> Instant {
    Instant::now() + Duration::from_secs_f64(secs)
}

fn gateway() -> Workload {
    Workload {
        kind: WorkloadKind::Deployment,
        namespace: NS.into(),
        name: "otel-gateway".into(),
    }
}

fn deployment_status(observed: i64, updated: i64, ready: i64, available: i64) -> Value {
    json!({"observedGeneration": observed, "replicas": 2, "updatedReplicas": updated,
           "readyReplicas": ready, "availableReplicas": available})
}

/// A Deployment at `generation` whose controller last reported `status`.
fn put_gateway(fake: &K8sFake, generation: i64, status: Value) {
    fake.put(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "otel-gateway", "namespace": NS, "generation": generation},
        "spec": {"replicas": 2}, "status": status}));
}

#[tokio::test]
async fn rollout_wait_ignores_a_lagging_observed_generation_and_succeeds_once_status_catches_up() {
    let fake = K8sFake::start().await;
    // Right after an apply: generation 2, but the status still describes generation 1's finished rollout.
    put_gateway(&fake, 2, deployment_status(1, 2, 2, 2));
    let (k8s, gateway) = (fake.k8s(), gateway());
    let waiting = tokio::spawn(async move { k8s.wait_rollout(&gateway, in_secs(10.0)).await });
    watching(&fake, DEPLOYMENTS, &waiting).await;
    assert!(!waiting.is_finished(), "done while observedGeneration lagged");
    // The controller observes generation 2 and starts rolling it out: still not done, and a wait
    // on this state alone runs out saying so.
    fake.set_status(
        "apps/v1",
        "Deployment",
        Some(NS),
        "otel-gateway",
        deployment_status(2, 1, 2, 2),
    );
    let err = fake
        .k8s()
        .wait_rollout(&self::gateway(), in_secs(0.3))
        .await
        .expect_err("one replica is not updated yet");
    assert!(err.is_timeout(), "{err}");
    assert!(!waiting.is_finished(), "done with one replica not updated");
    fake.set_status(
        "apps/v1",
        "Deployment",
        Some(NS),
        "otel-gateway",
        deployment_status(2, 2, 2, 2),
    );
    let waited = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the wait ends once the rollout is done")
        .expect("the wait did not panic");
    waited.expect("rollout completes");
}

#[tokio::test]
async fn rollout_wait_times_out_saying_how_many_replicas_are_ready_and_the_last_warning() {
    let fake = K8sFake::start().await;
    put_gateway(&fake, 1, deployment_status(1, 2, 1, 1));
    fake.put(json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "otel-gateway-7d9c-x1.1", "namespace": NS},
        "involvedObject": {"kind": "Pod", "name": "otel-gateway-7d9c-x1", "namespace": NS},
        "type": "Warning", "reason": "Failed", "message": "Error: ImagePullBackOff",
        "lastTimestamp": "2025-01-01T00:05:00Z"}));
    fake.put(json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "grafana-1.1", "namespace": NS},
        "involvedObject": {"kind": "Pod", "name": "grafana-1", "namespace": NS},
        "type": "Warning", "reason": "Unrelated", "message": "not ours", "lastTimestamp": "2025-01-01T00:09:00Z"}));
    let err = fake
        .k8s()
        .wait_rollout(&gateway(), in_secs(0.5))
        .await
        .expect_err("must time out");
    assert!(err.is_timeout());
    let K8sError::Timeout { waited, .. } = &err else {
        unreachable!()
    };
    assert!(
        *waited >= Duration::from_millis(450) && *waited < Duration::from_secs(3),
        "{waited:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("deployment observability-hub/otel-gateway: 1/2 replicas ready (1/2 available) after "),
        "{text}"
    );
    assert!(
        text.ends_with("; last event: Failed: Error: ImagePullBackOff (otel-gateway-7d9c-x1)"),
        "{text}"
    );
}

#[tokio::test]
async fn rollout_wait_for_a_missing_workload_says_not_found() {
    let fake = K8sFake::start().await;
    let err = fake
        .k8s()
        .wait_rollout(&gateway(), in_secs(0.3))
        .await
        .expect_err("nothing to wait for");
    assert!(
        err.to_string()
            .starts_with("deployment observability-hub/otel-gateway: not found after "),
        "{err}"
    );
}

#[tokio::test]
async fn statefulset_and_daemonset_rollouts_complete_when_counts_and_revisions_match() {
    let fake = K8sFake::start().await;
    fake.put(json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "prometheus", "namespace": "monitoring", "generation": 1}, "spec": {"replicas": 1},
        "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1,
                   "currentRevision": "prometheus-a", "updateRevision": "prometheus-b"}}));
    fake.put(json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "otel-agent", "namespace": "observability", "generation": 3},
        "status": {"observedGeneration": 3, "desiredNumberScheduled": 2, "currentNumberScheduled": 2,
                   "numberMisscheduled": 0, "numberReady": 2, "updatedNumberScheduled": 2, "numberAvailable": 2}}));
    let workloads = [
        Workload {
            kind: WorkloadKind::StatefulSet,
            namespace: "monitoring".into(),
            name: "prometheus".into(),
        },
        Workload {
            kind: WorkloadKind::DaemonSet,
            namespace: "observability".into(),
            name: "otel-agent".into(),
        },
    ];
    let k8s = fake.k8s();
    let waiting = tokio::spawn(async move { k8s.wait_rollouts(&workloads, in_secs(10.0)).await });
    watching(&fake, "/apis/apps/v1/namespaces/monitoring/statefulsets", &waiting).await;
    assert!(!waiting.is_finished(), "done before the revisions matched");
    fake.set_status(
        "apps/v1",
        "StatefulSet",
        Some("monitoring"),
        "prometheus",
        json!({"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1,
               "currentRevision": "prometheus-b", "updateRevision": "prometheus-b"}),
    );
    let done = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the wait ends once the revisions match")
        .expect("the wait did not panic");
    done.expect("both roll out");
}

fn put_lb_service(fake: &K8sFake) {
    fake.put(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "otel-gateway-external", "namespace": NS},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 4317}]}}));
}

#[tokio::test]
async fn load_balancer_wait_returns_the_ingress_ip_once_the_controller_sets_it() {
    let fake = K8sFake::start().await;
    put_lb_service(&fake);
    let k8s = fake.k8s();
    let waiting = tokio::spawn(async move { k8s.wait_load_balancer(NS, "otel-gateway-external", in_secs(10.0)).await });
    watching(&fake, "/api/v1/namespaces/observability-hub/services", &waiting).await;
    assert!(!waiting.is_finished(), "an address before the controller set one");
    fake.set_status(
        "v1",
        "Service",
        Some(NS),
        "otel-gateway-external",
        json!({"loadBalancer": {"ingress": [{"ip": "2600:3c00::f03c:1"}, {"ip": "172.236.10.20"}]}}),
    );
    let address = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the wait ends once the address is set")
        .expect("the wait did not panic");
    assert_eq!(address.expect("address"), "172.236.10.20");
}

#[tokio::test]
async fn load_balancer_wait_times_out_naming_the_service_and_its_last_warning() {
    let fake = K8sFake::start().await;
    put_lb_service(&fake);
    fake.put(json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "otel-gateway-external.1", "namespace": NS},
        "involvedObject": {"kind": "Service", "name": "otel-gateway-external", "namespace": NS},
        "type": "Warning", "reason": "SyncLoadBalancerFailed", "message": "NodeBalancer quota exceeded",
        "lastTimestamp": "2025-01-01T00:05:00Z"}));
    let err = fake
        .k8s()
        .wait_load_balancer(NS, "otel-gateway-external", in_secs(0.4))
        .await
        .expect_err("no address");
    let text = err.to_string();
    assert!(
        text.starts_with("service observability-hub/otel-gateway-external: no LoadBalancer address after "),
        "{text}"
    );
    assert!(
        text.ends_with("; last event: SyncLoadBalancerFailed: NodeBalancer quota exceeded (otel-gateway-external)"),
        "{text}"
    );
}

fn node(name: &str, ready: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
        "status": {"conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" },
                                   "reason": if ready { "KubeletReady" } else { "KubeletNotReady" }, "message": "PLEG is not healthy"}]}})
}

#[tokio::test]
async fn nodes_wait_needs_the_expected_count_all_ready() {
    let fake = K8sFake::start().await;
    fake.put(node("lke1-a", true));
    fake.put(node("lke1-b", false));
    let k8s = fake.k8s();
    let waiting = {
        let k8s = k8s.clone();
        tokio::spawn(async move { k8s.wait_nodes_ready(3, in_secs(10.0)).await })
    };
    watching(&fake, "/api/v1/nodes", &waiting).await;
    assert!(!waiting.is_finished(), "done with 1 of 3 nodes Ready");
    // Both Ready, but 3 expected: still not done, and a wait on this state alone runs out.
    fake.put(node("lke1-b", true));
    let err = k8s
        .wait_nodes_ready(3, in_secs(0.3))
        .await
        .expect_err("two nodes where three are expected");
    assert!(err.is_timeout(), "{err}");
    assert!(!waiting.is_finished(), "done with 2 of 3 nodes");
    fake.put(node("lke1-c", true));
    let ready = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the wait ends once 3 nodes are Ready")
        .expect("the wait did not panic");
    assert_eq!(ready.expect("nodes ready"), 3);

    fake.put(node("lke1-c", false));
    let err = k8s
        .wait_nodes_ready(3, in_secs(0.3))
        .await
        .expect_err("one is not ready");
    assert!(
        err.to_string()
            .starts_with("nodes: 2/3 nodes Ready (not ready: lke1-c: KubeletNotReady: PLEG is not healthy) after "),
        "{err}"
    );
}
