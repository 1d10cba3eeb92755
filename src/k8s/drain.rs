//! Taking a node out of service the way `kubectl drain` does, for node replacement during upgrades: what
//! each Node says about itself (its Linode, its kubelet's version, Ready, cordoned), the cordon, and the
//! eviction of its pods through the Eviction API (PodDisruptionBudgets honoured; DaemonSet and mirror pods
//! stay, as they would be recreated on the node).

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{EvictParams, ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use tokio::time::{Instant, sleep};

use super::client::K8s;
use super::error::{K8sError, Result};
use super::wait::nodes::node_ready;

/// The label LKE puts on every node: its pool's id.
pub const POOL_LABEL: &str = "lke.linode.com/pool-id";

/// What a Node says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub name: String,
    /// The Linode behind it (`spec.providerID: linode://<id>`).
    pub linode_id: Option<u64>,
    /// Its LKE pool (label `lke.linode.com/pool-id`).
    pub pool_id: Option<u64>,
    /// The kubelet's `major.minor` (`status.nodeInfo.kubeletVersion`, e.g. `v1.33.4`).
    pub version: Option<(u32, u32)>,
    pub ready: bool,
    /// Cordoned (`spec.unschedulable`).
    pub cordoned: bool,
}

/// `v1.33.4`, `1.33`, `v1.34.1+lke2` → (1, 33).
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts.next()?.chars().take_while(char::is_ascii_digit).collect();
    Some((major, minor.parse().ok()?))
}

impl NodeInfo {
    pub fn of(n: &Node) -> NodeInfo {
        NodeInfo {
            name: n.name_any(),
            linode_id: n
                .spec
                .as_ref()
                .and_then(|s| s.provider_id.as_deref())
                .and_then(|p| p.strip_prefix("linode://"))
                .and_then(|id| id.parse().ok()),
            pool_id: n.labels().get(POOL_LABEL).and_then(|p| p.parse().ok()),
            version: n
                .status
                .as_ref()
                .and_then(|s| s.node_info.as_ref())
                .and_then(|i| major_minor(&i.kubelet_version)),
            ready: node_ready(n),
            cordoned: n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false),
        }
    }
}

/// Pods a drain leaves alone: DaemonSet pods (recreated on the node at once) and static (mirror) pods.
fn stays(p: &Pod) -> bool {
    let daemon = p
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "DaemonSet" && o.controller == Some(true));
    let mirror = p.annotations().contains_key("kubernetes.io/config.mirror");
    daemon || mirror
}

/// How long a blocked eviction (429: a PodDisruptionBudget) waits before it is tried again.
const EVICTION_RETRY: Duration = Duration::from_secs(5);

impl K8s {
    /// Every node, as it describes itself.
    pub async fn node_infos(&self) -> Result<Vec<NodeInfo>> {
        let api: Api<Node> = Api::all(self.client().clone());
        let nodes = api
            .list(&ListParams::default())
            .await
            .map_err(|e| K8sError::api("list nodes", e))?;
        Ok(nodes.items.iter().map(NodeInfo::of).collect())
    }

    /// Marks a node unschedulable (`kubectl cordon`).
    pub async fn cordon(&self, node: &str) -> Result<()> {
        let api: Api<Node> = Api::all(self.client().clone());
        let patch = serde_json::json!({"spec": {"unschedulable": true}});
        api.patch(node, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(|e| K8sError::api(format!("cordon node {node}"), e))?;
        Ok(())
    }

    /// The pods a drain of `node` must move.
    async fn movable_pods(&self, node: &str) -> Result<Vec<Pod>> {
        let api: Api<Pod> = Api::all(self.client().clone());
        let pods = api
            .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
            .await
            .map_err(|e| K8sError::api(format!("list the pods of node {node}"), e))?;
        Ok(pods
            .items
            .into_iter()
            .filter(|p| !stays(p) && p.metadata.deletion_timestamp.is_none())
            .collect())
    }

    /// Evicts every pod of `node` but DaemonSet and mirror pods, retrying evictions a disruption budget
    /// blocks, until none is left on the node; returns how many were evicted.
    pub async fn drain(&self, node: &str, deadline: Instant) -> Result<usize> {
        let start = Instant::now();
        let mut evicted = 0;
        loop {
            let pods = self.movable_pods(node).await?;
            if pods.is_empty() {
                return Ok(evicted);
            }
            let mut blocked = Vec::new();
            for p in &pods {
                let ns = p.namespace().unwrap_or_default();
                let api: Api<Pod> = Api::namespaced(self.client().clone(), &ns);
                match api.evict(&p.name_any(), &EvictParams::default()).await {
                    Ok(_) => evicted += 1,
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(kube::Error::Api(s)) if s.code == 429 => blocked.push(format!("{ns}/{}", p.name_any())),
                    Err(e) => {
                        return Err(K8sError::api(
                            format!("evict pod {ns}/{} from node {node}", p.name_any()),
                            e,
                        ));
                    }
                }
            }
            if Instant::now() + EVICTION_RETRY > deadline {
                return Err(K8sError::Timeout {
                    what: format!("the drain of node {node}"),
                    state: format!("{} pod(s) still on it", pods.len()),
                    waited: start.elapsed(),
                    hint: if blocked.is_empty() {
                        String::new()
                    } else {
                        format!("; a disruption budget blocks the eviction of {}", blocked.join(", "))
                    },
                });
            }
            // Evicted pods take their grace period to go; blocked ones are tried again.
            sleep(if blocked.is_empty() {
                Duration::from_millis(250)
            } else {
                EVICTION_RETRY
            })
            .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubelet_versions_read_as_major_minor() {
        assert_eq!(major_minor("v1.33.4"), Some((1, 33)));
        assert_eq!(major_minor("1.34"), Some((1, 34)));
        assert_eq!(major_minor("v1.34.1+lke2"), Some((1, 34)));
        assert_eq!(major_minor("v1"), None);
        assert_eq!(major_minor("latest"), None);
    }

    #[test]
    fn a_node_says_its_linode_version_and_cordon() {
        let n: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "lke1-2-ab", "labels": {"lke.linode.com/pool-id": "2"}},
            "spec": {"providerID": "linode://77", "unschedulable": true},
            "status": {"nodeInfo": {"kubeletVersion": "v1.33.4", "machineID": "", "systemUUID": "", "bootID": "",
                "kernelVersion": "", "osImage": "", "containerRuntimeVersion": "", "kubeProxyVersion": "",
                "operatingSystem": "linux", "architecture": "amd64"},
                "conditions": [{"type": "Ready", "status": "True"}]}
        }))
        .unwrap();
        assert_eq!(
            NodeInfo::of(&n),
            NodeInfo {
                name: "lke1-2-ab".into(),
                linode_id: Some(77),
                pool_id: Some(2),
                version: Some((1, 33)),
                ready: true,
                cordoned: true,
            }
        );
    }
}
