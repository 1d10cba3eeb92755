//! The kubelets and the pod garbage collector: a pod bound to a Ready node starts (`pod_start`) once its
//! volumes are attached there; a terminating pod goes once its node's kubelet has stopped it; pods bound to a Node
//! that no longer exists are deleted.

use std::sync::Mutex;

use serde_json::{Value, json};

use super::controllers::{deleting, is_ready, s, uid};
use super::kube::KubeApi;
use super::linode::State;
use super::volumes_attach;
use super::world::{Latencies, Memory};

/// The grace period a pod gets when nothing says otherwise (`terminationGracePeriodSeconds`).
const DEFAULT_GRACE_SECONDS: u64 = 30;

/// Begins a pod's graceful delete, as the API server does for a DELETE or an eviction: it stays,
/// Terminating (`deletionTimestamp`), until the kubelet on its node has stopped it.
pub(crate) fn terminate(k8s: &KubeApi, p: &Value) {
    let name = s(&p["metadata"]["name"]).to_string();
    k8s.update("v1", "Pod", p["metadata"]["namespace"].as_str(), &name, |o| {
        if deleting(o) || uid(o) != uid(p) {
            return false;
        }
        mark_terminating(o);
        true
    });
}

/// Sets a pod's `deletionTimestamp` and `deletionGracePeriodSeconds` (its spec's grace, else 30 s).
pub(crate) fn mark_terminating(pod: &mut Value) {
    let grace = pod["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .unwrap_or(DEFAULT_GRACE_SECONDS);
    pod["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
    pod["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
}

/// The node a pod is bound to, if that Node exists.
fn node_of<'a>(p: &Value, nodes: &'a [Value]) -> Option<&'a Value> {
    let bound = p["spec"]["nodeName"].as_str()?;
    nodes.iter().find(|n| n["metadata"]["name"] == bound)
}

/// The status of a pod whose containers run: Running, every container and the pod Ready.
fn running(p: &Value) -> Value {
    let containers: Vec<Value> = p["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "ready": true, "started": true,
            "restartCount": 0, "state": {"running": {"startedAt": "2025-01-01T00:00:00Z"}}})
        })
        .collect();
    let conditions =
        ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map(|t| json!({"type": t, "status": "True"}));
    let ip = pod_ip(p);
    json!({"phase": "Running", "containerStatuses": containers, "conditions": conditions,
        "podIP": ip, "podIPs": [{"ip": ip}]})
}

/// The address the CNI gives a pod: stable for its uid, in LKE's pod network (10.2.0.0/16).
fn pod_ip(p: &Value) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(uid(p).as_bytes());
    format!("10.2.{}.{}", d[0], 2 + d[1] % 252)
}

/// A scheduled pod whose containers cannot start yet (`why`: a volume still attached elsewhere).
fn creating(p: &Value, why: &str) -> Value {
    let containers: Vec<Value> = p["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "ready": false, "started": false,
            "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}})
        })
        .collect();
    json!({"phase": "Pending", "containerStatuses": containers, "conditions": [
        {"type": "PodScheduled", "status": "True"},
        {"type": "Initialized", "status": "True"},
        {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady", "message": why},
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": why}]})
}

/// One pass of every node's kubelet and of pod GC. Without a Linode cluster (an API server with no
/// Nodes of its own) pods run unbound, as the simulator always let them.
pub(crate) fn kubelets(
    label: &str,
    k8s: &KubeApi,
    has_lke: bool,
    linode: &Mutex<State>,
    mem: &mut Memory,
    latencies: &Latencies,
) {
    let nodes = k8s.list("v1", "Node");
    for p in k8s.list("v1", "Pod") {
        let (ns, name) = (p["metadata"]["namespace"].as_str(), s(&p["metadata"]["name"]));
        let bound = p["spec"]["nodeName"].as_str().is_some();
        let node = node_of(&p, &nodes);
        if deleting(&p) {
            let stopped = match node {
                None => true,
                // A NotReady node's kubelet stops nothing: the pod stays Terminating until its Node goes.
                Some(n) => {
                    is_ready(n) && mem.after(format!("terminate/{label}/{}", uid(&p)), latencies.pod_termination)
                }
            };
            if stopped {
                k8s.delete("v1", "Pod", ns, name);
            }
            continue;
        }
        if has_lke && bound && node.is_none() {
            // Pod GC: its node is gone, so is it.
            k8s.delete("v1", "Pod", ns, name);
            continue;
        }
        if p["status"]["phase"] != "Pending" {
            continue;
        }
        let status = match node {
            None if has_lke || bound => continue,
            None => running(&p),
            Some(n) if !is_ready(n) => continue,
            Some(n) => match volumes_attach::attached(label, k8s, &p, n, linode, mem, latencies) {
                Ok(()) if mem.after(format!("start/{label}/{}", uid(&p)), latencies.pod_start) => running(&p),
                Ok(()) => creating(&p, "containers starting"),
                Err(why) => creating(&p, &why),
            },
        };
        if p["status"] != status {
            let pod_uid = uid(&p);
            k8s.update("v1", "Pod", ns, name, |o| {
                let same = uid(o) == pod_uid && !deleting(o) && o["spec"]["nodeName"] == p["spec"]["nodeName"];
                o["status"] = status;
                same
            });
        }
    }
}
