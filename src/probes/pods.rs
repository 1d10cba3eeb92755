//! Kubernetes probes of one cluster: every stack workload `up` applies there has rolled out with its
//! pods Ready, and the agent DaemonSet has a Ready pod on every node.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::ListParams;
use kube::{Api, ResourceExt};

use super::Target;
use super::outcome::Outcome;
use crate::fleet::Fleet;
use crate::k8s::wait::nodes::node_ready;
use crate::k8s::wait::rollout::{Rollout, daemonset_rollout, deployment_rollout, statefulset_rollout};
use crate::k8s::{K8s, Manifests, Workload, WorkloadKind};
use crate::stack::context::MetricsApi;
use crate::stack::{Inputs, Renderer};

/// The agent DaemonSet, in every cluster.
pub const AGENT: (&str, &str) = ("observability", "otel-agent");

/// The workloads `up` applies to `cluster` (Deployments, StatefulSets, DaemonSets), from its rendered stack.
pub fn workloads(renderer: &Renderer, fleet: &Fleet, cluster: &str) -> Result<Vec<Workload>, String> {
    let c = fleet
        .cluster(cluster)
        .ok_or_else(|| format!("{cluster} is not in the fleet file"))?;
    // metrics-server is no stack component: `up` deploys it only where no other metrics API serves
    // the cluster, so the probe leaves it out (rendered as if another one did).
    let inputs = Inputs {
        metrics_api: MetricsApi::Foreign,
        ..Inputs::default()
    };
    let rendered = renderer
        .render(fleet, c, &inputs)
        .map_err(|e| format!("rendering its stack: {e}"))?;
    let manifests = Manifests::from_rendered(&rendered).map_err(|e| format!("reading its stack: {e}"))?;
    Ok(manifests.workloads())
}

async fn rollout(k8s: &K8s, w: &Workload) -> Result<Option<Rollout>, String> {
    let client = k8s.client().clone();
    let fail = |e: kube::Error| format!("get {w}: {e}");
    Ok(match w.kind {
        WorkloadKind::Deployment => Api::<Deployment>::namespaced(client, &w.namespace)
            .get_opt(&w.name)
            .await
            .map_err(fail)?
            .map(|d| deployment_rollout(&d)),
        WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client, &w.namespace)
            .get_opt(&w.name)
            .await
            .map_err(fail)?
            .map(|s| statefulset_rollout(&s)),
        WorkloadKind::DaemonSet => Api::<DaemonSet>::namespaced(client, &w.namespace)
            .get_opt(&w.name)
            .await
            .map_err(fail)?
            .map(|d| daemonset_rollout(&d)),
    })
}

/// `pods`: each stack workload exists, has observed its current spec and has all its pods Ready.
pub async fn stack(target: &Target, workloads: &[Workload]) -> Outcome {
    const NAME: &str = "pods";
    let checks = workloads.iter().map(|w| rollout(&target.k8s, w));
    let results = futures::future::join_all(checks).await;
    let mut problems = Vec::new();
    for (w, r) in workloads.iter().zip(results) {
        match r {
            Err(e) => problems.push(e),
            Ok(None) => problems.push(format!("{w}: not found")),
            Ok(Some(r)) if !r.done => problems.push(format!("{w}: {}", r.summary)),
            Ok(Some(_)) => {}
        }
    }
    if problems.is_empty() {
        let names: Vec<&str> = workloads.iter().map(|w| w.name.as_str()).collect();
        Outcome::pass(
            NAME,
            &target.name,
            format!("{} workloads ready: {}", workloads.len(), names.join(", ")),
        )
    } else {
        Outcome::fail(
            NAME,
            &target.name,
            format!(
                "{} of {} workloads not ready: {}",
                problems.len(),
                workloads.len(),
                problems.join("; ")
            ),
        )
    }
}

/// The names of the cluster's nodes.
pub async fn node_names(k8s: &K8s) -> Result<Vec<String>, String> {
    let nodes = Api::<Node>::all(k8s.client().clone())
        .list(&ListParams::default())
        .await
        .map_err(|e| format!("list nodes: {e}"))?;
    Ok(nodes.items.iter().map(|n| n.name_any()).collect())
}

fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// `agent`: a Ready `otel-agent` pod on every node of the cluster.
pub async fn agent(target: &Target) -> Outcome {
    const NAME: &str = "agent";
    let client = target.k8s.client().clone();
    let nodes = match Api::<Node>::all(client.clone()).list(&ListParams::default()).await {
        Ok(n) => n.items,
        Err(e) => return Outcome::fail(NAME, &target.name, format!("list nodes: {e}")),
    };
    let selector = format!("app.kubernetes.io/name={}", AGENT.1);
    let pods = match Api::<Pod>::namespaced(client, AGENT.0)
        .list(&ListParams::default().labels(&selector))
        .await
    {
        Ok(p) => p.items,
        Err(e) => return Outcome::fail(NAME, &target.name, format!("list {} pods: {e}", AGENT.1)),
    };
    if nodes.is_empty() {
        return Outcome::fail(NAME, &target.name, "the cluster has no nodes");
    }
    let mut by_node: BTreeMap<String, Vec<&Pod>> = BTreeMap::new();
    for p in &pods {
        if let Some(node) = p.spec.as_ref().and_then(|s| s.node_name.clone()) {
            by_node.entry(node).or_default().push(p);
        }
    }
    let mut missing = Vec::new();
    for n in &nodes {
        let name = n.name_any();
        let on_node = by_node.get(&name).map(Vec::as_slice).unwrap_or_default();
        if on_node.iter().any(|p| pod_ready(p)) {
            continue;
        }
        let why = match on_node.first() {
            None => "no agent pod".to_string(),
            Some(p) => format!("pod {} not Ready", p.name_any()),
        };
        let node_state = if node_ready(n) { "" } else { ", node NotReady" };
        missing.push(format!("{name} ({why}{node_state})"));
    }
    if missing.is_empty() {
        Outcome::pass(
            NAME,
            &target.name,
            format!("{} Ready on all {} node(s)", AGENT.1, nodes.len()),
        )
    } else {
        Outcome::fail(
            NAME,
            &target.name,
            format!(
                "daemonset {}/{} not Ready on {} of {} node(s): {}",
                AGENT.0,
                AGENT.1,
                missing.len(),
                nodes.len(),
                missing.join(", ")
            ),
        )
    }
}
