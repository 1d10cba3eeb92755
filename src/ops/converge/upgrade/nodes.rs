//! Replacing a cluster's nodes that run an older Kubernetes version than its control plane, one at a time,
//! with the workloads moved off each before it goes: in a fixed-size pool a node of the new version is
//! added and Ready before an old one is drained and deleted (the pool keeps its size); in an autoscaled
//! pool (whose size is the autoscaler's) the old node is drained and LKE recycles it. What is old is read
//! from the Nodes' kubelet versions each time, so a re-run picks up where a stopped one ended.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures::future::try_join_all;
use k8s_openapi::api::core::v1::Node;
use tokio::time::Instant;

use super::StoreDowntime;
use crate::Error;
use crate::k8s::K8s;
use crate::k8s::drain::{Evicted, NodeInfo};
use crate::linode::{Client, NodePool};

/// What the replacement did.
#[derive(Debug, Clone, Default)]
pub struct Replaced {
    pub count: usize,
    /// Nodes whose kubelet version cannot be read: neither replaced nor counted as upgraded.
    pub unreadable: Vec<String>,
}

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
    /// StatefulSet → (seconds down, moves), as its pods moved.
    pub downtime: Mutex<BTreeMap<String, (f64, usize)>>,
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

    /// Cordons and drains one node; then waits for the StatefulSet pods it moved to be Ready elsewhere
    /// (a single-replica store is down until then: its volume detaches from the old node first), and
    /// notes for how long each was down.
    async fn take_out(&self, node: &NodeInfo) -> Result<(), Error> {
        self.k8s.cordon(&node.name).await?;
        let moved = self.k8s.drain(&node.name, self.deadline, self.say).await?;
        (self.say)(format!("{}: cordoned, {} pod(s) moved off", node.name, moved.len()));
        let stores: Vec<(&Evicted, String)> = moved
            .iter()
            .filter_map(|e| match &e.owner {
                Some((kind, name)) if kind == "StatefulSet" => Some((e, format!("{}/{name}", e.namespace))),
                _ => None,
            })
            .collect();
        let back = try_join_all(
            stores
                .iter()
                .map(|(e, _)| self.k8s.wait_pod_back(&e.namespace, &e.name, &e.uid, self.deadline)),
        )
        .await?;
        for ((e, store), at) in stores.iter().zip(back) {
            let down = at.saturating_duration_since(e.at).as_secs_f64();
            (self.say)(format!(
                "{store}: down {down:.1}s while pod {} moved (its volume detached, then attached on the new node)",
                e.name
            ));
            let mut downtime = self.downtime.lock().unwrap_or_else(|p| p.into_inner());
            let entry = downtime.entry(store.clone()).or_default();
            entry.0 += down;
            entry.1 += 1;
        }
        Ok(())
    }

    /// How long each StatefulSet was down so far.
    pub(super) fn downtimes(&self) -> Vec<StoreDowntime> {
        let downtime = self.downtime.lock().unwrap_or_else(|p| p.into_inner());
        downtime
            .iter()
            .map(|(store, (seconds, moves))| StoreDowntime {
                store: store.clone(),
                seconds: *seconds,
                moves: *moves,
            })
            .collect()
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
            // Nodes whose version cannot be read stay as they are: not counted as new ones either.
            let unknown = of_pool(&infos, pool_id).filter(|n| n.version.is_none()).count();
            if autoscaled || size >= 100 {
                // The autoscaler owns the size (and 100 is the most a pool holds): out first, then LKE
                // puts a new node in its place.
                (self.say)(format!(
                    "pool {pool_id}: {} of {left} old node(s) out, then recycled",
                    victim.name
                ));
                self.take_out(victim).await?;
                self.client.recycle_lke_node(self.cluster_id, lke_id).await?;
                let want = (pool.nodes.len() + 1).saturating_sub(left + unknown);
                self.wait_new_ready(pool_id, want, Some(&victim.name)).await?;
                self.changed().await?;
            } else {
                // One more node of the new version, Ready, before an old one goes.
                let surge = size + 1;
                if pool.count < surge {
                    let req = crate::plan::upgrade_surge(surge);
                    self.client.update_node_pool(self.cluster_id, pool_id, &req).await?;
                }
                (self.say)(format!(
                    "pool {pool_id}: a new node before {} ({left} old left)",
                    victim.name
                ));
                let want = (surge as usize).saturating_sub(left + unknown);
                self.wait_new_ready(pool_id, want, None).await?;
                self.changed().await?;
                self.take_out(victim).await?;
                self.client.delete_lke_node(self.cluster_id, lke_id).await?;
                // Gone from Kubernetes too before the next one (the probes compare the node list with
                // the metrics of every node).
                self.wait_new_ready(pool_id, want, Some(&victim.name)).await?;
            }
            replaced += 1;
        }
    }

    /// Replaces every node of every pool that runs an older version; says how many were replaced and
    /// which nodes' versions cannot be read.
    pub(super) async fn all(&self) -> Result<Replaced, Error> {
        let pools = self.client.list_node_pools(self.cluster_id).await?;
        let mut replaced = Replaced::default();
        for p in &pools {
            replaced.count += self.pool(p.id).await?;
        }
        replaced.unreadable = self
            .k8s
            .node_infos()
            .await?
            .into_iter()
            .filter(|n| n.version.is_none())
            .map(|n| n.name)
            .collect();
        Ok(replaced)
    }
}
