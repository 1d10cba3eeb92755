//! Kubernetes probes of one cluster: every stack workload `up` applies there has rolled out with its
//! pods Ready (and when not, why its pods are not: their containers' waiting reasons), and the agent
//! DaemonSet has a Ready pod on every node.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::ListParams;
use kube::{Api, ResourceExt};

use super::Target;
use super::outcome::Outcome;
use crate::fleet::Fleet;
use crate::k8s::wait::nodes::node_ready;
use crate::k8s::wait::rollout::{Rollout, daemonset_rollout, deployment_rollout, statefulset_rollout};
use crate::k8s::{K8s, Manifests, Workload, WorkloadKind};
use crate::objects::{AGENT, MetricsApi};
use crate::stack::{Inputs, Renderer};

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
    let manifests = Manifests::parse(rendered.documents()).map_err(|e| format!("reading its stack: {e}"))?;
    Ok(manifests.workloads())
}

/// The workload's rollout and its pod selector (`matchLabels`, as `key=value,…`).
async fn rollout(k8s: &K8s, w: &Workload) -> Result<Option<(Rollout, String)>, String> {
    let client = k8s.client().clone();
    let fail = |e: kube::Error| format!("get {w}: {e}");
    Ok(match w.kind {
        WorkloadKind::Deployment => Api::<Deployment>::namespaced(client, &w.namespace)
            .get_opt(&w.name)
            .await
            .map_err(fail)?
            .map(|d| (deployment_rollout(&d), selector(d.spec.map(|s| s.selector)))),
        WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client, &w.namespace)
            .get_opt(&w.name)
            .await
            .map_err(fail)?
            .map(|s| (statefulset_rollout(&s), selector(s.spec.map(|s| s.selector)))),
        WorkloadKind::DaemonSet => Api::<DaemonSet>::namespaced(client, &w.namespace)
            .get_opt(&w.name)
            .await
            .map_err(fail)?
            .map(|d| (daemonset_rollout(&d), selector(d.spec.map(|s| s.selector)))),
    })
}

fn selector(s: Option<LabelSelector>) -> String {
    let labels = s.and_then(|s| s.match_labels).unwrap_or_default();
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Longest waiting message quoted.
const MAX_MESSAGE: usize = 160;
/// Pods named per reason.
const MAX_PODS: usize = 3;

/// Why a pod is not Ready, as the kubelet and scheduler say it: the first waiting container's reason and
/// message (`CrashLoopBackOff`, `CreateContainerError: … no runtime for "nvidia" is configured`), else the
/// scheduler's (`Unschedulable: 0/3 nodes are available …`), else `None` (Ready, or nothing said yet).
pub fn not_ready_reason(p: &Pod) -> Option<String> {
    if pod_ready(p) {
        return None;
    }
    let status = p.status.as_ref()?;
    let containers = status.init_container_statuses.iter().flatten();
    let waiting = containers
        .chain(status.container_statuses.iter().flatten())
        .filter(|c| !c.ready)
        .find_map(|c| c.state.as_ref()?.waiting.as_ref());
    let (reason, message) = match waiting {
        Some(w) => (w.reason.clone()?, w.message.clone()),
        None => {
            let c = status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == "PodScheduled" && c.status == "False")?;
            (c.reason.clone()?, c.message.clone())
        }
    };
    Some(match message.map(|m| m.trim().to_string()).filter(|m| !m.is_empty()) {
        Some(m) if m.chars().count() > MAX_MESSAGE => {
            format!("{reason}: {}…", m.chars().take(MAX_MESSAGE).collect::<String>())
        }
        Some(m) => format!("{reason}: {m}"),
        None => reason,
    })
}

/// The distinct reasons `pods` are not Ready, each with the pods it holds back:
/// `CrashLoopBackOff (dcgm-exporter-a, dcgm-exporter-b)`.
pub fn not_ready_reasons(pods: &[Pod]) -> Vec<String> {
    let mut by_reason: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in pods {
        if let Some(r) = not_ready_reason(p) {
            by_reason.entry(r).or_default().push(p.name_any());
        }
    }
    by_reason
        .into_iter()
        .map(|(reason, mut names)| {
            names.sort();
            let more = names.len().saturating_sub(MAX_PODS);
            names.truncate(MAX_PODS);
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!("{reason} ({}{more})", names.join(", "))
        })
        .collect()
}

/// "; pods: CrashLoopBackOff (…)" for a workload that is not ready, or "" when its pods say nothing.
async fn pod_hint(k8s: &K8s, w: &Workload, selector: &str) -> String {
    if selector.is_empty() {
        return String::new();
    }
    let api: Api<Pod> = Api::namespaced(k8s.client().clone(), &w.namespace);
    match api.list(&ListParams::default().labels(selector)).await {
        Ok(list) => {
            let reasons = not_ready_reasons(&list.items);
            if reasons.is_empty() {
                String::new()
            } else {
                format!("; pods: {}", reasons.join("; "))
            }
        }
        Err(e) => format!("; cannot list its pods: {e}"),
    }
}

/// `pods`: each stack workload exists, has observed its current spec and has all its pods Ready; for one
/// that is not, why its pods are not (their waiting reason).
pub async fn stack(target: &Target, workloads: &[Workload]) -> Outcome {
    const NAME: &str = "pods";
    let checks = workloads.iter().map(|w| async move {
        match rollout(&target.k8s, w).await {
            Err(e) => Some(e),
            Ok(None) => Some(format!("{w}: not found")),
            Ok(Some((r, _))) if r.done => None,
            Ok(Some((r, sel))) => Some(format!("{w}: {}{}", r.summary, pod_hint(&target.k8s, w, &sel).await)),
        }
    });
    let problems: Vec<String> = futures::future::join_all(checks).await.into_iter().flatten().collect();
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
    let selector = format!("app.kubernetes.io/name={}", AGENT.name);
    let pods = match Api::<Pod>::namespaced(client, AGENT.namespace)
        .list(&ListParams::default().labels(&selector))
        .await
    {
        Ok(p) => p.items,
        Err(e) => return Outcome::fail(NAME, &target.name, format!("list {} pods: {e}", AGENT.name)),
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
            format!("{} Ready on all {} node(s)", AGENT.name, nodes.len()),
        )
    } else {
        Outcome::fail(
            NAME,
            &target.name,
            format!(
                "daemonset {}/{} not Ready on {} of {} node(s): {}",
                AGENT.namespace,
                AGENT.name,
                missing.len(),
                nodes.len(),
                missing.join(", ")
            ),
        )
    }
}
