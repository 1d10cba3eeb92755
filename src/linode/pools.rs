//! LKE node pools (create, get, list, update, delete) and their nodes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::error::Result;
use super::request::ApiPath;

/// Pool autoscaler settings; `min` and `max` go together (1–100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autoscaler {
    /// Whether the autoscaler runs.
    pub enabled: bool,
    /// Fewest nodes.
    #[serde(default)]
    pub min: u32,
    /// Most nodes.
    #[serde(default)]
    pub max: u32,
}

/// The effect of a node taint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaintEffect {
    /// `NoSchedule`.
    NoSchedule,
    /// `PreferNoSchedule`.
    PreferNoSchedule,
    /// `NoExecute`.
    NoExecute,
}

/// A Kubernetes taint put on every node of a pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taint {
    /// Taint key.
    pub key: String,
    /// Taint value.
    pub value: String,
    /// Taint effect.
    pub effect: TaintEffect,
}

/// A pool to create: an item of a cluster create's `node_pools`, or `POST …/pools`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodePoolSpec {
    /// Linode type id, e.g. `g6-standard-2`.
    #[serde(rename = "type")]
    pub linode_type: String,
    /// Node count, 1–100.
    pub count: u32,
    /// Autoscaler.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<Autoscaler>,
    /// Tags on the pool's Linodes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Kubernetes node labels.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Kubernetes node taints (the API needs at least one when the field is sent).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    /// Pool label. Newer API (not in spec 4.189); `None` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Firewall for the pool's nodes. Newer API, LKE Enterprise only; `None` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall_id: Option<u64>,
    /// Pool Kubernetes version. Newer API, LKE Enterprise only; `None` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s_version: Option<String>,
    /// `rolling_update` or `on_recycle`. Newer API, LKE Enterprise only; `None` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<String>,
}

impl NodePoolSpec {
    /// A pool of `count` nodes of `linode_type`, nothing else set.
    pub fn new(linode_type: impl Into<String>, count: u32) -> Self {
        Self {
            linode_type: linode_type.into(),
            count,
            autoscaler: None,
            tags: Vec::new(),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            label: None,
            firewall_id: None,
            k8s_version: None,
            update_strategy: None,
        }
    }
}

/// `PUT …/pools/{id}` body; `None` fields are left unchanged. Leave `count` out while the
/// autoscaler is on, or the update undoes its work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UpdateNodePool {
    /// New node count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// New autoscaler settings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<Autoscaler>,
    /// Replaces the node labels (applied without a recycle).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Replaces the node taints (applied without a recycle).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taints: Option<Vec<Taint>>,
    /// Replaces the pool tags. Newer API (not in spec 4.189); `None` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Firewall for the pool's nodes. Newer API, LKE Enterprise only; `None` by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall_id: Option<u64>,
}

/// A node pool as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePool {
    /// Pool id.
    pub id: u64,
    /// Linode type id.
    #[serde(rename = "type")]
    pub linode_type: String,
    /// Node count.
    pub count: u32,
    /// Autoscaler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<Autoscaler>,
    /// The pool's nodes.
    #[serde(default)]
    pub nodes: Vec<LkeNode>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Kubernetes node labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Kubernetes node taints.
    #[serde(default)]
    pub taints: Vec<Taint>,
    /// Pool label (newer API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Pool firewall (newer API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall_id: Option<u64>,
}

/// A node of a pool. `status` is its creation status, not Kubernetes readiness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LkeNode {
    /// Node id, e.g. `12345-6aa78910bc`.
    pub id: String,
    /// The Linode behind the node; `None` until provisioned.
    #[serde(default)]
    pub instance_id: Option<u64>,
    /// `ready` or `not_ready`.
    pub status: String,
    /// The pool (newer answers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<u64>,
}

impl LkeNode {
    /// The Linode exists and runs the Kubernetes software.
    pub fn is_ready(&self) -> bool {
        self.status == "ready"
    }
}

impl Client {
    /// Every pool of a cluster, with their nodes.
    pub async fn list_node_pools(&self, cluster_id: u64) -> Result<Vec<NodePool>> {
        self.list(&ApiPath::new("/lke/clusters/{id}/pools", &[&cluster_id]), None)
            .await
    }

    /// One pool.
    pub async fn get_node_pool(&self, cluster_id: u64, pool_id: u64) -> Result<NodePool> {
        let path = ApiPath::new("/lke/clusters/{id}/pools/{id}", &[&cluster_id, &pool_id]);
        self.get(&path).await
    }

    /// Adds a pool to a cluster (not repeated when the answer is lost).
    pub async fn create_node_pool(&self, cluster_id: u64, spec: &NodePoolSpec) -> Result<NodePool> {
        let path = ApiPath::new("/lke/clusters/{id}/pools", &[&cluster_id]);
        self.create(&path, spec).await
    }

    /// Updates a pool.
    pub async fn update_node_pool(&self, cluster_id: u64, pool_id: u64, request: &UpdateNodePool) -> Result<NodePool> {
        let path = ApiPath::new("/lke/clusters/{id}/pools/{id}", &[&cluster_id, &pool_id]);
        self.put(&path, request).await
    }

    /// Deletes a pool and its Linodes (already gone counts as done).
    pub async fn delete_node_pool(&self, cluster_id: u64, pool_id: u64) -> Result<()> {
        let path = ApiPath::new("/lke/clusters/{id}/pools/{id}", &[&cluster_id, &pool_id]);
        self.delete(&path).await
    }

    /// Replaces one node with a new Linode (LKE deletes the old one first; the pool keeps its count). The
    /// new node runs the control plane's Kubernetes version.
    pub async fn recycle_lke_node(&self, cluster_id: u64, node_id: &str) -> Result<()> {
        let path = ApiPath::new("/lke/clusters/{id}/nodes/{id}/recycle", &[&cluster_id, &node_id]);
        self.action(&path).await
    }

    /// Deletes one node; its pool shrinks by one (already gone counts as done).
    pub async fn delete_lke_node(&self, cluster_id: u64, node_id: &str) -> Result<()> {
        let path = ApiPath::new("/lke/clusters/{id}/nodes/{id}", &[&cluster_id, &node_id]);
        self.delete(&path).await
    }

    /// One node.
    pub async fn get_lke_node(&self, cluster_id: u64, node_id: &str) -> Result<LkeNode> {
        let path = ApiPath::new("/lke/clusters/{id}/nodes/{id}", &[&cluster_id, &node_id]);
        self.get(&path).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_without_count_leaves_it_out() {
        let req = UpdateNodePool {
            autoscaler: Some(Autoscaler {
                enabled: true,
                min: 1,
                max: 5,
            }),
            ..UpdateNodePool::default()
        };
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"autoscaler": {"enabled": true, "min": 1, "max": 5}})
        );
    }

    #[test]
    fn pool_answers_read_nodes_and_null_instance_ids() {
        let p: NodePool = serde_json::from_str(
            r#"{"id":5,"type":"g6-standard-1","count":2,"disk_encryption":"enabled",
                "nodes":[{"id":"1-a","instance_id":null,"status":"not_ready"},
                         {"id":"1-b","instance_id":77,"status":"ready"}]}"#,
        )
        .unwrap();
        assert_eq!(p.nodes[1].instance_id, Some(77));
        assert!(!p.nodes[0].is_ready() && p.nodes[1].is_ready());
    }
}
