//! The scheduler: binds each Pending, unbound pod to a Ready, schedulable node its `nodeSelector`
//! matches (never a cordoned one), spreading a workload's pods; with no such node the pod stays
//! Pending, `PodScheduled` False (`Unschedulable`) saying why, as `kubectl describe` shows it.

use serde_json::{Value, json};

use super::controllers::{deleting, is_ready, s};
use super::kube::KubeApi;

/// The controller that owns a pod (its uid), for spreading.
fn owner_uid(p: &Value) -> Option<&str> {
    p["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"] == true)?["uid"]
        .as_str()
}

/// Why no node fits, in the scheduler's words.
fn unschedulable(total: usize, cordoned: usize, not_ready: usize, mismatched: usize) -> String {
    let mut why = Vec::new();
    if cordoned > 0 {
        why.push(format!("{cordoned} node(s) were unschedulable"));
    }
    if not_ready > 0 {
        why.push(format!(
            "{not_ready} node(s) had untolerated taint {{node.kubernetes.io/not-ready: }}"
        ));
    }
    if mismatched > 0 {
        why.push(format!(
            "{mismatched} node(s) didn't match Pod's node affinity/selector"
        ));
    }
    let mut message = format!("0/{total} nodes are available");
    if !why.is_empty() {
        message.push_str(&format!(": {}", why.join(", ")));
    }
    message.push('.');
    message
}

/// One scheduling pass over the cluster's pods. An API server without Nodes (no Linode cluster behind
/// it) schedules nothing: its pods run unbound.
pub(crate) fn schedule(k8s: &KubeApi, has_lke: bool) {
    if !has_lke {
        return;
    }
    let nodes = k8s.list("v1", "Node");
    let mut pods = k8s.list("v1", "Pod");
    let waiting: Vec<Value> = pods
        .iter()
        .filter(|p| p["status"]["phase"] == "Pending" && p["spec"]["nodeName"].is_null() && !deleting(p))
        .cloned()
        .collect();
    for p in waiting {
        let selector = p["spec"]["nodeSelector"].as_object().cloned().unwrap_or_default();
        let (mut cordoned, mut not_ready, mut mismatched) = (0, 0, 0);
        let mut fits: Vec<&Value> = Vec::new();
        for n in &nodes {
            if !selector.iter().all(|(k, v)| n["metadata"]["labels"][k] == *v) {
                mismatched += 1;
            } else if n["spec"]["unschedulable"] == true {
                cordoned += 1;
            } else if !is_ready(n) {
                not_ready += 1;
            } else {
                fits.push(n);
            }
        }
        let on = |n: &Value, same_owner: bool| {
            pods.iter()
                .filter(|q| q["spec"]["nodeName"] == n["metadata"]["name"] && !deleting(q))
                .filter(|q| !same_owner || owner_uid(q) == owner_uid(&p))
                .count()
        };
        let best = fits
            .iter()
            .min_by_key(|n| (on(n, true), on(n, false), s(&n["metadata"]["name"]).to_string()))
            .map(|n| s(&n["metadata"]["name"]).to_string());
        let (ns, name) = (p["metadata"]["namespace"].as_str(), s(&p["metadata"]["name"]));
        let pod_uid = p["metadata"]["uid"].clone();
        let message = unschedulable(nodes.len(), cordoned, not_ready, mismatched);
        let stored = k8s.update("v1", "Pod", ns, name, |o| {
            if o["metadata"]["uid"] != pod_uid || !o["spec"]["nodeName"].is_null() || deleting(o) {
                return false;
            }
            match &best {
                Some(node) => {
                    o["spec"]["nodeName"] = json!(node);
                    o["status"]["conditions"] = json!([{"type": "PodScheduled", "status": "True"}]);
                }
                None => {
                    let condition = json!([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                        "message": message}]);
                    if o["status"]["conditions"] == condition {
                        return false;
                    }
                    o["status"]["conditions"] = condition;
                }
            }
            true
        });
        if let (true, Some(node)) = (stored, best)
            && let Some(bound) = pods.iter_mut().find(|q| q["metadata"]["uid"] == p["metadata"]["uid"])
        {
            bound["spec"]["nodeName"] = json!(node);
        }
    }
}
