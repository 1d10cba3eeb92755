//! Taking a node out of service the way `kubectl drain` does, for node replacement during upgrades: what
//! each Node says about itself (its Linode, its kubelet's version, Ready, cordoned), the cordon, and the
//! eviction of its pods through the Eviction API (PodDisruptionBudgets honoured; DaemonSet and mirror pods
//! stay, as they would be recreated on the node).

use crate::poll::Step;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{EvictParams, ListParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use tokio::time::{Instant, sleep};

use super::budgets::Budget;
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

/// How long a blocked eviction (429: a PodDisruptionBudget) waits before it is tried again (as `kubectl
/// drain` does).
const EVICTION_RETRY: Duration = Duration::from_secs(5);

/// A pod a drain evicted.
#[derive(Debug, Clone)]
pub struct Evicted {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// Its controller's kind and name (`StatefulSet`, `prometheus`).
    pub owner: Option<(String, String)>,
    /// When the eviction was accepted: from then on the pod terminates.
    pub at: Instant,
}

impl Evicted {
    fn of(p: &Pod) -> Evicted {
        let owner = p
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| (o.kind.clone(), o.name.clone()));
        Evicted {
            namespace: p.namespace().unwrap_or_default(),
            name: p.name_any(),
            uid: p.uid().unwrap_or_default(),
            owner,
            at: Instant::now(),
        }
    }
}

/// Whether a pod's `Ready` condition is True.
fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// `ns/name`.
fn pod_name(p: &Pod) -> String {
    format!("{}/{}", p.namespace().unwrap_or_default(), p.name_any())
}

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

    /// The pods a drain of `node` must see gone (terminating ones included).
    async fn movable_pods(&self, node: &str) -> Result<Vec<Pod>> {
        let api: Api<Pod> = Api::all(self.client().clone());
        let pods = api
            .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
            .await
            .map_err(|e| K8sError::api(format!("list the pods of node {node}"), e))?;
        Ok(pods.items.into_iter().filter(|p| !stays(p)).collect())
    }

    /// The budgets that refused the eviction of `blocked`, each with the pods it holds.
    async fn blocking(&self, blocked: &[Pod]) -> Result<Vec<(Budget, Vec<String>)>> {
        let mut out: Vec<(Budget, Vec<String>)> = Vec::new();
        for p in blocked {
            let Some(budget) = self.budget_of(p).await? else {
                continue;
            };
            match out.iter_mut().find(|(b, _)| b.name == budget.name) {
                Some((_, pods)) => pods.push(pod_name(p)),
                None => out.push((budget, vec![pod_name(p)])),
            }
        }
        Ok(out)
    }

    /// Evicts every pod of `node` but DaemonSet and mirror pods, retrying evictions a disruption budget
    /// refuses, until none is left on the node (a terminating pod counts until its kubelet has stopped
    /// it); returns the pods evicted. A refused eviction is said (`say`) naming the budget and how many
    /// pods it lets go, again whenever that changes; at the deadline the error names the budgets and
    /// their pods.
    pub async fn drain(&self, node: &str, deadline: Instant, say: &(dyn Fn(String) + Sync)) -> Result<Vec<Evicted>> {
        let start = Instant::now();
        let mut evicted = Vec::new();
        let mut said = String::new();
        loop {
            let pods = self.movable_pods(node).await?;
            if pods.is_empty() {
                return Ok(evicted);
            }
            let mut blocked = Vec::new();
            for p in pods.iter().filter(|p| p.metadata.deletion_timestamp.is_none()) {
                let ns = p.namespace().unwrap_or_default();
                let api: Api<Pod> = Api::namespaced(self.eviction_client().clone(), &ns);
                match api.evict(&p.name_any(), &EvictParams::default()).await {
                    Ok(_) => evicted.push(Evicted::of(p)),
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(kube::Error::Api(s)) if s.code == 429 => blocked.push(p.clone()),
                    Err(e) => {
                        return Err(K8sError::api(format!("evict pod {} from node {node}", pod_name(p)), e));
                    }
                }
            }
            let budgets = if blocked.is_empty() {
                Vec::new()
            } else {
                self.blocking(&blocked).await?
            };
            let blocks: Vec<String> = budgets
                .iter()
                .map(|(b, pods)| format!("{}; holds {}", b.describe(), pods.join(", ")))
                .collect();
            let unexplained: Vec<String> = blocked
                .iter()
                .map(pod_name)
                .filter(|p| !budgets.iter().any(|(_, pods)| pods.contains(p)))
                .collect();
            let mut why = blocks.join("; ");
            if !unexplained.is_empty() {
                if !why.is_empty() {
                    why.push_str("; ");
                }
                why.push_str(&format!("eviction refused (429) for {}", unexplained.join(", ")));
            }
            if !why.is_empty() && why != said {
                say(format!("{node}: drain waits: {why}"));
                said = why.clone();
            }
            if Instant::now() + EVICTION_RETRY > deadline {
                return Err(K8sError::Timeout {
                    what: format!("the drain of node {node}"),
                    state: format!("{} pod(s) still on it", pods.len()),
                    waited: start.elapsed(),
                    hint: if why.is_empty() {
                        String::new()
                    } else {
                        format!("; {why}")
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

    /// Waits until pod `namespace/name` is back (a new pod of that name, not `old_uid`) and Ready, as a
    /// StatefulSet's pod comes back on another node; returns when it was seen Ready.
    pub async fn wait_pod_back(
        &self,
        namespace: &str,
        name: &str,
        old_uid: &str,
        deadline: Instant,
    ) -> Result<Instant> {
        let api: Api<Pod> = Api::namespaced(self.client().clone(), namespace);
        // The pace of the polling: the pod's state decides.
        let polled = crate::poll::until(Duration::from_millis(100), deadline, || async {
            let pod = api
                .get_opt(name)
                .await
                .map_err(|e| K8sError::api(format!("get pod {namespace}/{name}"), e))?;
            Ok(Step::Pending(match &pod {
                None => "gone, not yet re-created".to_string(),
                Some(p) if p.uid().as_deref() == Some(old_uid) => "the old pod is still terminating".into(),
                Some(p) if pod_ready(p) && p.metadata.deletion_timestamp.is_none() => {
                    return Ok(Step::Done(Instant::now()));
                }
                Some(p) => format!(
                    "re-created{}, not Ready yet",
                    p.spec
                        .as_ref()
                        .and_then(|s| s.node_name.as_deref())
                        .map(|n| format!(" on {n}"))
                        .unwrap_or_default()
                ),
            }))
        })
        .await?;
        polled.map_err(|t| K8sError::Timeout {
            what: format!("pod {namespace}/{name} back after its move"),
            state: t.last,
            waited: t.waited,
            hint: String::new(),
        })
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
