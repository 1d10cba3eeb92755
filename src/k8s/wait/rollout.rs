//! Rollout waits for Deployments, StatefulSets and DaemonSets, judged by our own conditions.
//!
//! kube-rs' `is_deployment_completed` ignores `observedGeneration`, so right after an apply it can
//! report the previous rollout as done. Here a rollout is done only once the controller has
//! observed the current generation AND the counts match the desired count.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::Api;
use serde::Serialize;
use tokio::time::Instant;

use super::events::warning_hint;
use super::{Expired, wait_object};
use crate::k8s::client::K8s;
use crate::k8s::error::{K8sError, Result};
use crate::k8s::manifest::Manifests;

/// A kind whose rollout we wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

/// One workload to wait for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for Workload {
    /// `deployment observability-hub/otel-gateway`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            WorkloadKind::Deployment => "deployment",
            WorkloadKind::StatefulSet => "statefulset",
            WorkloadKind::DaemonSet => "daemonset",
        };
        write!(f, "{kind} {}/{}", self.namespace, self.name)
    }
}

/// Where a rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub done: bool,
    /// e.g. "1/2 replicas ready (1/2 updated)".
    pub summary: String,
}

/// Counts as `(what, have)` pairs compared with `desired`; `ready` leads the summary.
fn judge(generation: Option<i64>, observed: Option<i64>, desired: i32, unit: &str, counts: &[(&str, i32)]) -> Rollout {
    let ready = counts.iter().find(|(what, _)| *what == "ready").map_or(0, |c| c.1);
    let mut summary = format!("{ready}/{desired} {unit} ready");
    let lagging: Vec<String> = counts
        .iter()
        .filter(|(what, have)| *what != "ready" && *have != desired)
        .map(|(what, have)| format!("{have}/{desired} {what}"))
        .collect();
    if !lagging.is_empty() {
        summary.push_str(&format!(" ({})", lagging.join(", ")));
    }
    let observed_current = match (generation, observed) {
        (Some(g), Some(o)) => o >= g,
        (None, Some(_)) => true,
        (_, None) => false,
    };
    if !observed_current {
        let g = generation.map_or_else(|| "?".into(), |g| g.to_string());
        summary.push_str(&format!(", generation {g} not yet observed by the controller"));
    }
    let done = observed_current && counts.iter().all(|(_, have)| *have == desired);
    Rollout { done, summary }
}

/// Done when observedGeneration ≥ generation and updated, ready, available and total replicas all
/// equal the desired count: `spec.replicas`, else `status.replicas` (when an HPA owns the count
/// and the object leaves it unset), else 1.
pub fn deployment_rollout(d: &Deployment) -> Rollout {
    let status = d.status.clone().unwrap_or_default();
    let desired = d
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .or(status.replicas.filter(|r| *r > 0))
        .unwrap_or(1);
    let mut r = judge(
        d.metadata.generation,
        status.observed_generation,
        desired,
        "replicas",
        &[
            ("ready", status.ready_replicas.unwrap_or(0)),
            ("updated", status.updated_replicas.unwrap_or(0)),
            ("available", status.available_replicas.unwrap_or(0)),
            ("total", status.replicas.unwrap_or(0)),
        ],
    );
    let stalled = status.conditions.iter().flatten().find(|c| {
        c.type_ == "Progressing" && c.status == "False" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if stalled.is_some() {
        r.summary.push_str(", progress deadline exceeded");
    }
    r
}

/// Done when observedGeneration ≥ generation, ready and updated replicas equal the desired count
/// (as for Deployments) and currentRevision == updateRevision.
pub fn statefulset_rollout(s: &StatefulSet) -> Rollout {
    let status = s.status.clone().unwrap_or_default();
    let desired = s
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .or(Some(status.replicas).filter(|r| *r > 0))
        .unwrap_or(1);
    let mut r = judge(
        s.metadata.generation,
        status.observed_generation,
        desired,
        "replicas",
        &[
            ("ready", status.ready_replicas.unwrap_or(0)),
            ("updated", status.updated_replicas.unwrap_or(0)),
        ],
    );
    if status.current_revision != status.update_revision {
        r.done = false;
        r.summary.push_str(&format!(
            ", revision {} → {} in progress",
            status.current_revision.as_deref().unwrap_or("?"),
            status.update_revision.as_deref().unwrap_or("?")
        ));
    }
    r
}

/// Done when observedGeneration ≥ generation and updated, ready and available pods equal
/// desiredNumberScheduled.
pub fn daemonset_rollout(d: &DaemonSet) -> Rollout {
    let status = d.status.clone().unwrap_or_default();
    judge(
        d.metadata.generation,
        status.observed_generation,
        status.desired_number_scheduled,
        "pods",
        &[
            ("ready", status.number_ready),
            ("updated", status.updated_number_scheduled.unwrap_or(0)),
            ("available", status.number_available.unwrap_or(0)),
        ],
    )
}

impl Manifests {
    /// The Deployments, StatefulSets and DaemonSets among the objects, in apply order.
    pub fn workloads(&self) -> Vec<Workload> {
        self.iter()
            .filter(|m| m.group() == "apps")
            .filter_map(|m| {
                let kind = match m.kind() {
                    "Deployment" => WorkloadKind::Deployment,
                    "StatefulSet" => WorkloadKind::StatefulSet,
                    "DaemonSet" => WorkloadKind::DaemonSet,
                    _ => return None,
                };
                Some(Workload {
                    kind,
                    namespace: m.object.metadata.namespace.clone()?,
                    name: m.object.metadata.name.clone()?,
                })
            })
            .collect()
    }
}

impl K8s {
    /// Waits until `w` has rolled out (see the `*_rollout` conditions) or `deadline` passes; the
    /// timeout error reads like `deployment ns/x: 1/2 replicas ready after 10m; last event: …`.
    pub async fn wait_rollout(&self, w: &Workload, deadline: Instant) -> Result<()> {
        let client = self.client().clone();
        let state = match w.kind {
            WorkloadKind::Deployment => {
                let api: Api<Deployment> = Api::namespaced(client, &w.namespace);
                let r = wait_object(api, &w.name, deadline, |d| {
                    d.is_some_and(|d| deployment_rollout(d).done)
                })
                .await;
                r.map(drop).map_err(|e| describe(e, deployment_rollout))
            }
            WorkloadKind::StatefulSet => {
                let api: Api<StatefulSet> = Api::namespaced(client, &w.namespace);
                let r = wait_object(api, &w.name, deadline, |s| {
                    s.is_some_and(|s| statefulset_rollout(s).done)
                })
                .await;
                r.map(drop).map_err(|e| describe(e, statefulset_rollout))
            }
            WorkloadKind::DaemonSet => {
                let api: Api<DaemonSet> = Api::namespaced(client, &w.namespace);
                let r = wait_object(api, &w.name, deadline, |d| d.is_some_and(|d| daemonset_rollout(d).done)).await;
                r.map(drop).map_err(|e| describe(e, daemonset_rollout))
            }
        };
        let Err((state, waited, error_hint)) = state else {
            return Ok(());
        };
        let kind = format!("{:?}", w.kind);
        let mut hint = warning_hint(self.client(), &w.namespace, &kind, &w.name).await;
        hint.push_str(&error_hint);
        Err(K8sError::Timeout {
            what: w.to_string(),
            state,
            waited,
            hint,
        })
    }

    /// Waits for every workload at once; all run to completion or the deadline, then the first
    /// failure (in input order) is returned.
    pub async fn wait_rollouts(&self, workloads: &[Workload], deadline: Instant) -> Result<()> {
        let waits = workloads.iter().map(|w| self.wait_rollout(w, deadline));
        futures::future::join_all(waits).await.into_iter().collect()
    }
}

/// The last state seen, the time waited and the watch-error hint of an expired wait.
fn describe<K>(e: Expired<K>, rollout: fn(&K) -> Rollout) -> (String, std::time::Duration, String) {
    let state = match &e.last {
        Some(Some(obj)) => rollout(obj).summary,
        Some(None) => "not found".to_string(),
        None => "no answer from the API server".to_string(),
    };
    (state, e.waited, e.error_hint())
}

#[cfg(test)]
mod tests;
