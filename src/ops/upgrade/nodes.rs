//! Replacing a cluster's nodes that run an older Kubernetes version than its control plane, one at a time,
//! with the workloads moved off each before it goes: in a fixed-size pool a node of the new version is
//! added and Ready before an old one is drained and deleted (the pool keeps its size); in an autoscaled
//! pool (whose size is the autoscaler's) the old node is drained and LKE recycles it. What is old is read
//! from the Nodes' kubelet versions each time, so a re-run picks up where a stopped one ended.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;
use tokio::time::Instant;

use crate::Error;
use crate::k8s::K8s;
use crate::k8s::drain::NodeInfo;
use crate::linode::{Client, NodePool, UpdateNodePool};

/// Where the replacement happens and how it says what it does.
pub(super) struct Replace<'a> {
    pub client: &'a Client,
    pub k8s: &'a K8s,
    pub cluster_id: u64,
    /// The control plane's `major.minor`.
    pub target: (u32, u32),
    pub deadline: Instant,
    /// Progress: one line per step.
    pub say: &'a (dyn Fn(String) + Sync),
    /// Told each time a node of the new version is Ready, before an old one goes.
    pub nodes_changed: Option<super::NodesChanged<'a>>,
}

/// The pool's nodes as Kubernetes lists them.
fn of_pool(nodes: &[NodeInfo], pool: u64) -> impl Iterator<Item = &NodeInfo> {
    nodes.iter().filter(move |n| n.pool_id == Some(pool))
}

impl Replace<'_> {
    fn is_old(&self, n: &NodeInfo) -> bool {
        n.version.is_some_and(|v| v < self.target)
    }

    /// The pool's nodes still on an older version, with their LKE node ids.
    fn old_nodes(&self, pool: &NodePool, infos: &[NodeInfo]) -> Vec<(String, NodeInfo)> {
        pool.nodes
            .iter()
            .filter_map(|n| {
                let info = infos
                    .iter()
                    .find(|i| i.linode_id.is_some() && i.linode_id == n.instance_id)?;
                self.is_old(info).then(|| (n.id.clone(), info.clone()))
            })
            .collect()
    }

    /// Waits until the pool has at least `want` Ready nodes of the new version (and `gone`, if given, is
    /// no longer a Node).
    async fn wait_new_ready(&self, pool: u64, want: usize, gone: Option<&str>) -> Result<(), Error> {
        let target = self.target;
        let fresh = move |nodes: &[Arc<Node>]| {
            let infos: Vec<NodeInfo> = nodes.iter().map(|n| NodeInfo::of(n)).collect();
            let ready = of_pool(&infos, pool)
                .filter(|n| n.ready && n.version.is_some_and(|v| v >= target))
                .count();
            (ready, infos.iter().any(|n| Some(n.name.as_str()) == gone))
        };
        let what = format!("new nodes of pool {pool}");
        self.k8s
            .wait_nodes(
                &what,
                self.deadline,
                |nodes| {
                    let (ready, still) = fresh(nodes);
                    (ready >= want && !still).then_some(())
                },
                |nodes| {
                    let (ready, still) = fresh(nodes);
                    let mut s = format!("{ready}/{want} Ready on {}.{}", target.0, target.1);
                    if let (true, Some(g)) = (still, gone) {
                        s.push_str(&format!("; {g} is still there"));
                    }
                    s
                },
            )
            .await
            .map_err(Error::from)
    }

    async fn changed(&self) -> Result<(), Error> {
        match self.nodes_changed {
            Some(changed) => changed().await,
            None => Ok(()),
        }
    }

    /// Cordons and drains one node.
    async fn take_out(&self, node: &NodeInfo) -> Result<(), Error> {
        self.k8s.cordon(&node.name).await?;
        let moved = self.k8s.drain(&node.name, self.deadline).await?;
        (self.say)(format!("{}: cordoned, {moved} pod(s) moved off", node.name));
        Ok(())
    }

    /// Replaces every old node of one pool; returns how many were replaced.
    async fn pool(&self, pool_id: u64) -> Result<usize, Error> {
        let first = self.client.get_node_pool(self.cluster_id, pool_id).await?;
        let size = first.count;
        let autoscaled = first.autoscaler.as_ref().is_some_and(|a| a.enabled);
        let mut replaced = 0;
        loop {
            let pool = self.client.get_node_pool(self.cluster_id, pool_id).await?;
            let infos = self.k8s.node_infos().await?;
            let old = self.old_nodes(&pool, &infos);
            let Some((lke_id, victim)) = old.first() else {
                return Ok(replaced);
            };
            let left = old.len();
            if autoscaled || size >= 100 {
                // The autoscaler owns the size (and 100 is the most a pool holds): out first, then LKE
                // puts a new node in its place.
                (self.say)(format!(
                    "pool {pool_id}: {} of {left} old node(s) out, then recycled",
                    victim.name
                ));
                self.take_out(victim).await?;
                self.client.recycle_lke_node(self.cluster_id, lke_id).await?;
                let want = pool.nodes.len() - left + 1;
                self.wait_new_ready(pool_id, want, Some(&victim.name)).await?;
                self.changed().await?;
            } else {
                // One more node of the new version, Ready, before an old one goes.
                let surge = size + 1;
                if pool.count < surge {
                    let req = UpdateNodePool {
                        count: Some(surge),
                        ..UpdateNodePool::default()
                    };
                    self.client.update_node_pool(self.cluster_id, pool_id, &req).await?;
                }
                (self.say)(format!(
                    "pool {pool_id}: a new node before {} ({left} old left)",
                    victim.name
                ));
                self.wait_new_ready(pool_id, surge as usize - left, None).await?;
                self.changed().await?;
                self.take_out(victim).await?;
                self.client.delete_lke_node(self.cluster_id, lke_id).await?;
                // Gone from Kubernetes too before the next one (the probes compare the node list with
                // the metrics of every node).
                self.wait_new_ready(pool_id, surge as usize - left, Some(&victim.name))
                    .await?;
            }
            replaced += 1;
        }
    }

    /// Replaces every node of every pool that runs an older version; returns how many were replaced.
    pub(super) async fn all(&self) -> Result<usize, Error> {
        let pools = self.client.list_node_pools(self.cluster_id).await?;
        let mut replaced = 0;
        for p in &pools {
            replaced += self.pool(p.id).await?;
        }
        Ok(replaced)
    }
}
