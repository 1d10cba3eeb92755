//! The node controller: a Kubernetes Node per node Linode of the cluster, with LKE's labels,
//! addresses and kubelet version, Ready once the node has had time to boot.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::kube::KubeApi;
use super::world::{Instance, Latencies, Lke, Memory};

/// Node controller: a Node per node Linode (Ready after `node_ready`); Nodes with a `linode://`
/// provider id whose Linode is no longer in the cluster are removed (all of them once it is gone).
pub(crate) fn nodes(k8s: &KubeApi, lke: Option<&Lke>, mem: &mut Memory, latencies: &Latencies) {
    let mut keep = BTreeSet::new();
    for (lke, i) in lke.iter().flat_map(|c| c.nodes.iter().map(move |i| (c, i))) {
        let ready = mem.after(format!("node/{}", i.id), latencies.node_ready);
        let mut fresh = node(lke, i, ready);
        // A cordon (`spec.unschedulable`) is the cluster's own state: the kubelet keeps it.
        if let Some(was) = k8s.get("v1", "Node", None, &i.label)
            && was["spec"]["unschedulable"] == true
        {
            fresh["spec"]["unschedulable"] = json!(true);
        }
        k8s.put(fresh);
        keep.insert(format!("linode://{}", i.id));
    }
    for node in k8s.list("v1", "Node") {
        let provider = node["spec"]["providerID"].as_str().unwrap_or_default();
        if provider.starts_with("linode://") && !keep.contains(provider) {
            k8s.delete(
                "v1",
                "Node",
                None,
                node["metadata"]["name"].as_str().unwrap_or_default(),
            );
        }
    }
}

fn node(lke: &Lke, i: &Instance, ready: bool) -> Value {
    let mut labels = i.labels.clone();
    for (k, v) in [
        ("lke.linode.com/pool-id", i.pool.to_string()),
        ("kubernetes.io/hostname", i.label.clone()),
        ("kubernetes.io/os", "linux".into()),
        ("node.kubernetes.io/instance-type", i.linode_type.clone()),
        ("topology.kubernetes.io/region", lke.region.clone()),
    ] {
        labels.insert(k.into(), json!(v));
    }
    let mut spec = json!({"providerID": format!("linode://{}", i.id)});
    if !i.taints.is_empty() {
        spec["taints"] = json!(i.taints);
    }
    let mut addresses = vec![json!({"type": "Hostname", "address": i.label})];
    if let Some(public) = i.ipv4.first() {
        addresses.push(json!({"type": "ExternalIP", "address": public}));
    }
    if let Some(private) = i.ipv4.get(1) {
        addresses.push(json!({"type": "InternalIP", "address": private}));
    }
    let condition = if ready {
        json!({"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"})
    } else {
        json!({"type": "Ready", "status": "False", "reason": "KubeletNotReady",
               "message": "container runtime network not ready: cni plugin not initialized"})
    };
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": i.label, "labels": labels},
        "spec": spec, "status": {"addresses": addresses, "conditions": [condition],
        "nodeInfo": {"kubeletVersion": format!("v{}.4", i.version), "operatingSystem": "linux", "architecture": "amd64"}}})
}
