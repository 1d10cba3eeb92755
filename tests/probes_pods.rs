//! The `pods` probe against the fake Kubernetes API: a workload whose pods are not Ready is reported with
//! why (their containers' waiting reasons, or the scheduler's), as the DCGM exporter on a GPU node without
//! the NVIDIA runtime would be.

use crate::support;

use lkeobs::fleet::Role;
use lkeobs::k8s::{Workload, WorkloadKind};
use lkeobs::probes::{Target, Verdict, pods};
use serde_json::{Value, json};
use support::k8s_fake::K8sFake;

const NS: &str = "observability";

fn dcgm() -> Workload {
    Workload {
        kind: WorkloadKind::DaemonSet,
        namespace: NS.into(),
        name: "dcgm-exporter".into(),
    }
}

/// The DCGM exporter DaemonSet with `ready` of `desired` pods Ready.
fn daemonset(ready: u32, desired: u32) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "dcgm-exporter", "namespace": NS, "generation": 1},
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "dcgm-exporter"}}},
        "status": {"observedGeneration": 1, "desiredNumberScheduled": desired, "currentNumberScheduled": desired,
            "numberMisscheduled": 0, "numberReady": ready, "updatedNumberScheduled": desired,
            "numberAvailable": ready}})
}

/// A pod of the exporter (or of `app` when another workload's) whose container waits for `reason`.
fn waiting_pod(name: &str, app: &str, reason: &str, message: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app.kubernetes.io/name": app}},
        "spec": {"nodeName": "lke1-gpu", "containers": [{"name": app, "image": "x"}]},
        "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [{"name": app, "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": reason, "message": message}}}]}})
}

fn target(fake: &K8sFake) -> Target {
    Target {
        name: "gpu-edge".into(),
        role: Role::Edge,
        k8s: fake.k8s(),
    }
}

#[tokio::test]
async fn a_dcgm_pod_without_the_nvidia_runtime_is_reported_with_its_waiting_reason() {
    let fake = K8sFake::start().await;
    fake.put(daemonset(0, 2));
    let no_runtime = r#"failed to get sandbox runtime: no runtime for "nvidia" is configured"#;
    fake.put(waiting_pod(
        "dcgm-exporter-a1",
        "dcgm-exporter",
        "CreateContainerError",
        no_runtime,
    ));
    fake.put(waiting_pod(
        "dcgm-exporter-b2",
        "dcgm-exporter",
        "CreateContainerError",
        no_runtime,
    ));
    // Another workload's pod in the namespace is not the exporter's business.
    fake.put(waiting_pod(
        "otel-agent-x",
        "otel-agent",
        "ImagePullBackOff",
        "Back-off pulling image",
    ));

    let outcome = pods::stack(&target(&fake), &[dcgm()]).await;
    assert_eq!(outcome.outcome, Verdict::Fail, "{outcome:?}");
    assert_eq!(
        outcome.detail,
        format!(
            "1 of 1 workloads not ready: daemonset observability/dcgm-exporter: 0/2 pods ready (0/2 available); \
             pods: CreateContainerError: {no_runtime} (dcgm-exporter-a1, dcgm-exporter-b2)"
        )
    );
}

#[tokio::test]
async fn crash_loops_and_unschedulable_pods_say_so_and_ready_workloads_pass() {
    let fake = K8sFake::start().await;
    fake.put(daemonset(0, 2));
    fake.put(waiting_pod(
        "dcgm-exporter-a1",
        "dcgm-exporter",
        "CrashLoopBackOff",
        "back-off 5m0s restarting failed container=dcgm-exporter",
    ));
    fake.put(json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "dcgm-exporter-b2", "namespace": NS, "labels": {"app.kubernetes.io/name": "dcgm-exporter"}},
        "spec": {"containers": [{"name": "dcgm-exporter", "image": "x"}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
            "reason": "Unschedulable", "message": "0/3 nodes are available: 3 node(s) had untolerated taint"}]}}));
    let outcome = pods::stack(&target(&fake), &[dcgm()]).await;
    assert_eq!(outcome.outcome, Verdict::Fail);
    assert!(
        outcome.detail.contains(
            "pods: CrashLoopBackOff: back-off 5m0s restarting failed container=dcgm-exporter (dcgm-exporter-a1); \
             Unschedulable: 0/3 nodes are available: 3 node(s) had untolerated taint (dcgm-exporter-b2)"
        ),
        "{}",
        outcome.detail
    );

    fake.put(daemonset(2, 2));
    let outcome = pods::stack(&target(&fake), &[dcgm()]).await;
    assert_eq!(outcome.outcome, Verdict::Pass, "{outcome:?}");
}
