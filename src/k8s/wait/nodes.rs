//! Waiting until every node of a cluster is Ready in Kubernetes (not only running at Linode).

use std::pin::pin;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, ResourceExt};
use tokio::time::{Instant, timeout_at};

use crate::k8s::client::K8s;
use crate::k8s::error::{K8sError, Result};

/// Whether a node's `Ready` condition is `True`.
pub fn node_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

/// "2/3 nodes Ready (not ready: lke1-a: KubeletNotReady: …)".
fn summary(nodes: &[Arc<Node>], min_nodes: usize) -> String {
    let ready = nodes.iter().filter(|n| node_ready(n)).count();
    let expected = nodes.len().max(min_nodes);
    let mut out = format!("{ready}/{expected} nodes Ready");
    let not_ready: Vec<String> = nodes
        .iter()
        .filter(|n| !node_ready(n))
        .map(|n| {
            let why = n
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                .map(|c| {
                    format!(
                        "{}: {}",
                        c.reason.as_deref().unwrap_or("?"),
                        c.message.as_deref().unwrap_or("")
                    )
                })
                .unwrap_or_else(|| "no Ready condition yet".into());
            format!("{}: {why}", n.name_any())
        })
        .collect();
    if !not_ready.is_empty() {
        out.push_str(&format!(" (not ready: {})", not_ready.join("; ")));
    }
    if nodes.len() < min_nodes {
        out.push_str(&format!(", {} registered of {min_nodes} expected", nodes.len()));
    }
    out
}

impl K8s {
    /// Waits until at least `min_nodes` nodes are registered and every node is Ready; returns
    /// how many there are.
    pub async fn wait_nodes_ready(&self, min_nodes: usize, deadline: Instant) -> Result<usize> {
        self.wait_nodes(
            "nodes",
            deadline,
            |nodes| (nodes.len() >= min_nodes && nodes.iter().all(|n| node_ready(n))).then_some(nodes.len()),
            |nodes| summary(nodes, min_nodes),
        )
        .await
    }

    /// Waits until `done` says the node list is as wanted and returns what it says; `state` describes the
    /// list when the deadline passes. Watches the nodes (a reflector), restarting with backoff on errors.
    pub async fn wait_nodes<T>(
        &self,
        what: &str,
        deadline: Instant,
        done: impl Fn(&[Arc<Node>]) -> Option<T>,
        state: impl Fn(&[Arc<Node>]) -> String,
    ) -> Result<T> {
        let start = Instant::now();
        let api: Api<Node> = Api::all(self.client().clone());
        let (store, writer) = reflector::store();
        let mut last_error = None;
        let events = reflector(writer, watcher(api, watcher::Config::default())).default_backoff();
        let mut events = pin!(events);
        let watch = async {
            while let Some(event) = events.next().await {
                match event {
                    Ok(watcher::Event::InitDone | watcher::Event::Apply(_) | watcher::Event::Delete(_)) => {
                        if let Some(found) = done(&store.state()) {
                            return Some(found);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "node watch failed; restarting");
                        last_error = Some(e.to_string());
                    }
                }
            }
            None
        };
        match timeout_at(deadline, watch).await {
            Ok(Some(found)) => Ok(found),
            _ => Err(K8sError::Timeout {
                what: what.into(),
                state: state(&store.state()),
                waited: start.elapsed(),
                hint: last_error.map(|e| format!("; last API error: {e}")).unwrap_or_default(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn node(name: &str, ready: &str) -> Arc<Node> {
        Arc::new(Node {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            spec: None,
            status: Some(NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: ready.into(),
                    reason: Some("KubeletNotReady".into()),
                    message: Some("container runtime is down".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        })
    }

    #[test]
    fn summary_names_the_nodes_that_are_not_ready() {
        let nodes = [node("a", "True"), node("b", "False")];
        assert!(node_ready(&nodes[0]) && !node_ready(&nodes[1]));
        assert_eq!(
            summary(&nodes, 3),
            "1/3 nodes Ready (not ready: b: KubeletNotReady: container runtime is down), 2 registered of 3 expected"
        );
    }
}
