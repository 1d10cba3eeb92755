//! The world's Kubernetes-side controllers: workload rollouts (status, pods, StatefulSet claims), the
//! Linode cloud controller's NodeBalancers and the CSI driver's volumes. One pass per call.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::{Value, json};

use super::kube::KubeApi;
use super::linode::State;
use super::world::{Latencies, Lke, Memory, Owned, comma_list, gib, lock, short_hash};

const TAGS: &str = "service.beta.kubernetes.io/linode-loadbalancer-tags";
const FIREWALL_ID: &str = "service.beta.kubernetes.io/linode-loadbalancer-firewall-id";
const FIREWALL_ACL: &str = "service.beta.kubernetes.io/linode-loadbalancer-firewall-acl";
const VOLUME_TAGS: &str = "linodebs.csi.linode.com/volumeTags";

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn uid(obj: &Value) -> String {
    s(&obj["metadata"]["uid"]).to_string()
}

fn deleting(obj: &Value) -> bool {
    !obj["metadata"]["deletionTimestamp"].is_null()
}

/// Rollout controller for Deployments, StatefulSets and DaemonSets: `rollout` after a workload's
/// wanted status changes (new generation, replica count, eligible node count), writes a finished
/// rollout status and keeps one Running, Ready pod per replica (per eligible Ready node for a
/// DaemonSet). StatefulSets first get their `volumeClaimTemplates` claims and finish only once
/// those are Bound. Pods of workloads that are gone are deleted. With a Linode cluster behind the
/// label, nothing rolls out before a node is Ready.
pub(crate) fn workloads(label: &str, k8s: &KubeApi, has_lke: bool, mem: &mut Memory, latencies: &Latencies) {
    let nodes = k8s.list("v1", "Node");
    let ready: Vec<Value> = nodes
        .iter()
        .filter(|n| {
            n["status"]["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        })
        .cloned()
        .collect();
    // A cordoned node (`spec.unschedulable`) takes no new pods; DaemonSets tolerate it.
    let schedulable: Vec<&Value> = ready.iter().filter(|n| n["spec"]["unschedulable"] != true).collect();
    let pods = k8s.list("v1", "Pod");
    let mut live = BTreeSet::new();
    for kind in ["Deployment", "StatefulSet", "DaemonSet"] {
        for w in k8s.list("apps/v1", kind) {
            if deleting(&w) {
                continue;
            }
            live.insert(uid(&w));
            if (kind == "StatefulSet" && !claims_bound(k8s, &w)) || (has_lke && ready.is_empty()) {
                continue;
            }
            let selector = w["spec"]["template"]["spec"]["nodeSelector"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let eligible: Vec<&Value> = ready
                .iter()
                .filter(|n| selector.iter().all(|(k, v)| n["metadata"]["labels"][k] == *v))
                .collect();
            let target = target_status(kind, &w, eligible.len());
            let (ns, name) = (s(&w["metadata"]["namespace"]), s(&w["metadata"]["name"]));
            if w["status"] != target {
                if !mem.after(format!("rollout/{label}/{}/{target}", uid(&w)), latencies.rollout) {
                    continue;
                }
                let generation = w["metadata"]["generation"].clone();
                let stored = k8s.update("apps/v1", kind, Some(ns), name, |obj| {
                    let same = obj["metadata"]["generation"] == generation && uid(obj) == uid(&w);
                    obj["status"] = target.clone();
                    same
                });
                if !stored {
                    continue;
                }
            }
            let count = if kind == "DaemonSet" {
                eligible.len()
            } else {
                replicas(&w)
            };
            let wanted: Vec<String> = (0..count).map(|n| super::pod_names::pod_name(kind, &w, n)).collect();
            for (n, pod_name) in wanted.iter().enumerate() {
                let node = if kind == "DaemonSet" {
                    eligible.get(n).copied()
                } else {
                    // A pod stays on its node while that node exists (only an eviction or the node's end
                    // moves it); a new one goes to a schedulable Ready node.
                    let bound = pods
                        .iter()
                        .find(|p| p["metadata"]["namespace"] == ns && p["metadata"]["name"] == pod_name.as_str())
                        .and_then(|p| p["spec"]["nodeName"].as_str())
                        .and_then(|bound| nodes.iter().find(|n| n["metadata"]["name"] == bound));
                    bound.or_else(|| schedulable.get(n % schedulable.len().max(1)).copied())
                };
                k8s.put(pod(kind, &w, pod_name, node));
            }
            for p in pods.iter().filter(|p| owner(p) == Some(uid(&w))) {
                let pod_name = s(&p["metadata"]["name"]);
                if !wanted.iter().any(|w| w == pod_name) {
                    k8s.delete("v1", "Pod", Some(ns), pod_name);
                }
            }
        }
    }
    for p in pods.iter().filter(|p| owner(p).is_some_and(|o| !live.contains(&o))) {
        k8s.delete(
            "v1",
            "Pod",
            p["metadata"]["namespace"].as_str(),
            s(&p["metadata"]["name"]),
        );
    }
}

fn replicas(w: &Value) -> usize {
    w["spec"]["replicas"].as_u64().map_or(1, |r| r as usize)
}

fn target_status(kind: &str, w: &Value, eligible: usize) -> Value {
    let generation = w["metadata"]["generation"].as_i64().unwrap_or(1);
    let n = replicas(w);
    match kind {
        "Deployment" => json!({"observedGeneration": generation, "replicas": n, "updatedReplicas": n,
            "readyReplicas": n, "availableReplicas": n, "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}),
        "StatefulSet" => {
            let revision = format!(
                "{}-{}",
                s(&w["metadata"]["name"]),
                short_hash("", &generation.to_string())
            );
            json!({"observedGeneration": generation, "replicas": n, "readyReplicas": n, "currentReplicas": n,
                "updatedReplicas": n, "availableReplicas": n, "currentRevision": revision, "updateRevision": revision})
        }
        _ => json!({"observedGeneration": generation, "desiredNumberScheduled": eligible,
            "currentNumberScheduled": eligible, "updatedNumberScheduled": eligible, "numberReady": eligible,
            "numberAvailable": eligible, "numberMisscheduled": 0}),
    }
}

/// The uid of the workload that controls a pod.
fn owner(pod: &Value) -> Option<String> {
    pod["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"] == true && matches!(s(&o["kind"]), "Deployment" | "StatefulSet" | "DaemonSet"))
        .map(|o| s(&o["uid"]).to_string())
}

fn pod(kind: &str, w: &Value, name: &str, node: Option<&Value>) -> Value {
    let template = &w["spec"]["template"];
    let mut spec = template["spec"].clone();
    if !spec.is_object() {
        spec = json!({});
    }
    if let Some(node) = node {
        spec["nodeName"] = node["metadata"]["name"].clone();
    }
    let containers: Vec<Value> = spec["containers"]
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
    let mut metadata = json!({"name": name, "namespace": w["metadata"]["namespace"], "ownerReferences": [{
        "apiVersion": "apps/v1", "kind": kind, "name": w["metadata"]["name"], "uid": uid(w), "controller": true}]});
    for key in ["labels", "annotations"] {
        if template["metadata"][key].is_object() {
            metadata[key] = template["metadata"][key].clone();
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": {
        "phase": "Running", "containerStatuses": containers,
        "conditions": conditions}})
}

/// Creates the StatefulSet's missing claims `<template>-<sts>-<n>` (template labels and spec; they
/// outlive the StatefulSet, as with the default retention policy); whether all are Bound.
fn claims_bound(k8s: &KubeApi, sts: &Value) -> bool {
    let (ns, name) = (s(&sts["metadata"]["namespace"]), s(&sts["metadata"]["name"]));
    let mut bound = true;
    for template in sts["spec"]["volumeClaimTemplates"].as_array().into_iter().flatten() {
        for n in 0..replicas(sts) {
            let claim = format!("{}-{name}-{n}", s(&template["metadata"]["name"]));
            match k8s.get("v1", "PersistentVolumeClaim", Some(ns), &claim) {
                Some(pvc) => bound &= pvc["status"]["phase"] == "Bound",
                None => {
                    let mut metadata = json!({"name": claim, "namespace": ns});
                    for key in ["labels", "annotations"] {
                        if template["metadata"][key].is_object() {
                            metadata[key] = template["metadata"][key].clone();
                        }
                    }
                    k8s.put(
                        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata,
                        "spec": template["spec"], "status": {"phase": "Pending"}}),
                    );
                    bound = false;
                }
            }
        }
    }
    bound
}

/// Cloud controller: `load_balancer` after a LoadBalancer Service without address appears, a
/// NodeBalancer (cluster region, `lke_cluster`, tags from the tags annotation) and the Service's
/// ingress IP. Every pass it re-syncs the NodeBalancer's tags and firewall: the firewall-id
/// annotation's firewall attached (moved when the id changes), any other firewall detached (unless
/// the firewall-acl annotation is set, which is not modelled); with neither annotation a detached
/// firewall nothing else uses is deleted, as the real controller does. A NodeBalancer deleted behind its
/// back is re-created. `load_balancer` after the Service is gone (or stops being a LoadBalancer) its
/// NodeBalancer is deleted, unless the Linode cluster is gone: then it is left, as on the platform.
pub(crate) fn load_balancers(
    label: &str,
    k8s: &KubeApi,
    lke: Option<&Lke>,
    linode: &Mutex<State>,
    mem: &mut Memory,
    latencies: &Latencies,
) {
    let mut live = BTreeSet::new();
    for svc in k8s.list("v1", "Service") {
        if svc["spec"]["type"] != "LoadBalancer" || deleting(&svc) {
            continue;
        }
        let uid = uid(&svc);
        live.insert(uid.clone());
        let Some(lke) = lke else { continue };
        let key = (label.to_string(), uid.clone());
        let (ns, name) = (s(&svc["metadata"]["namespace"]), s(&svc["metadata"]["name"]));
        let annotations = &svc["metadata"]["annotations"];
        let tags = comma_list(&annotations[TAGS]);
        let nb = match mem.nodebalancers.0.get(&key) {
            Some(o) if o.cluster == lke.id => o.id,
            Some(_) => {
                mem.nodebalancers.0.remove(&key);
                continue;
            }
            None => {
                let nb_label = format!("ccm-{}", short_hash(label, &uid));
                // Like the real controller, which keeps no memory, it finds its NodeBalancer by name (a
                // simulator restarted from its state file adopts what it made before).
                let made = lock(linode)
                    .nodebalancers
                    .values()
                    .find(|n| n["label"] == nb_label.as_str() && n["lke_cluster"]["id"] == lke.id)
                    .and_then(|n| n["id"].as_u64());
                let has_address = svc["status"]["loadBalancer"]["ingress"]
                    .as_array()
                    .is_some_and(|i| !i.is_empty());
                if made.is_none() && (has_address || !mem.after(format!("lb/{label}/{uid}"), latencies.load_balancer)) {
                    continue;
                }
                let id = match made {
                    Some(id) => id,
                    None => lock(linode).create_nodebalancer(&nb_label, &lke.region, Some((lke.id, &lke.label)), &tags),
                };
                let owned = Owned {
                    namespace: ns.into(),
                    name: name.into(),
                    cluster: lke.id,
                    id,
                    pv: None,
                };
                mem.nodebalancers.0.insert(key.clone(), owned);
                id
            }
        };
        let mut st = lock(linode);
        let Some(address) = st.nodebalancers.get_mut(&nb).map(|n| {
            n["tags"] = json!(tags);
            n["ipv4"].clone()
        }) else {
            drop(st);
            mem.nodebalancers.0.remove(&key);
            k8s.update("v1", "Service", Some(ns), name, |o| {
                o["status"] = json!({"loadBalancer": {}});
                true
            });
            continue;
        };
        if annotations.get(FIREWALL_ACL).is_none() {
            let wanted = s(&annotations[FIREWALL_ID])
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|f| st.firewalls.contains_key(f));
            let attached = |d: &Value| d["entity"]["id"] == nb && d["entity"]["type"] == "nodebalancer";
            let detached: Vec<u64> = st
                .devices
                .values()
                .filter(|d| attached(d) && d["firewall_id"].as_u64() != wanted)
                .filter_map(|d| d["firewall_id"].as_u64())
                .collect();
            st.devices
                .retain(|_, d| !attached(d) || Some(d["firewall_id"].as_u64().unwrap_or(0)) == wanted);
            // With neither firewall annotation the real controller also deletes the firewall it
            // detached when nothing else uses it (services/firewalls.go).
            if annotations.get(FIREWALL_ID).is_none() {
                for fw in detached {
                    if !st.devices.values().any(|d| d["firewall_id"] == fw) {
                        st.firewalls.remove(&fw);
                    }
                }
            }
            if let Some(fw) = wanted
                && !st.devices.values().any(attached)
            {
                st.attach_device(fw, "nodebalancer", nb);
            }
        }
        drop(st);
        let status = json!({"loadBalancer": {"ingress": [{"ip": address}]}});
        if svc["status"] != status {
            k8s.update("v1", "Service", Some(ns), name, |o| {
                o["status"] = status;
                uid == self::uid(o)
            });
        }
    }
    let Memory {
        clocks, nodebalancers, ..
    } = mem;
    for owned in nodebalancers.released(clocks, label, &live, lke, latencies.load_balancer) {
        lock(linode).delete_nodebalancer(owned.id);
    }
}

/// CSI driver: `volume` after an unbound claim appears, a Linode volume (`pvc-<hex>`, the claim's
/// size in GiB rounded up, at least 10, cluster region, unattached, tags from its StorageClass's
/// `volumeTags`), a PersistentVolume of that name (the class's reclaim policy, Delete by default)
/// and the claim Bound to it. `volume` after the claim is gone: with Delete, the volume and the
/// PersistentVolume are deleted, else the PersistentVolume is Released; unless the Linode cluster is
/// gone: then the volume is left, as on the platform.
pub(crate) fn volumes(
    label: &str,
    k8s: &KubeApi,
    lke: Option<&Lke>,
    linode: &Mutex<State>,
    mem: &mut Memory,
    latencies: &Latencies,
) {
    let mut live = BTreeSet::new();
    for pvc in k8s.list("v1", "PersistentVolumeClaim") {
        if deleting(&pvc) {
            continue;
        }
        let uid = uid(&pvc);
        live.insert(uid.clone());
        let Some(lke) = lke else { continue };
        let key = (label.to_string(), uid.clone());
        if let Some(owned) = mem.volumes.0.get(&key) {
            if owned.cluster != lke.id {
                mem.volumes.0.remove(&key);
            }
            continue;
        }
        if let Some(owned) = adopted_volume(k8s, linode, label, &pvc, lke.id) {
            mem.volumes.0.insert(key, owned);
            continue;
        }
        if pvc["status"]["phase"] == "Bound" || !mem.after(format!("pvc/{label}/{uid}"), latencies.volume) {
            continue;
        }
        let (ns, name) = (s(&pvc["metadata"]["namespace"]), s(&pvc["metadata"]["name"]));
        let class = pvc["spec"]["storageClassName"].as_str();
        let sc = class.and_then(|c| k8s.get("storage.k8s.io/v1", "StorageClass", None, c));
        let sc = sc.unwrap_or_default();
        let tags = comma_list(&sc["parameters"][VOLUME_TAGS]);
        let reclaim = sc["reclaimPolicy"].as_str().unwrap_or("Delete").to_string();
        let size = gib(s(&pvc["spec"]["resources"]["requests"]["storage"])).max(10);
        let pv = format!("pvc-{}", short_hash(label, &uid));
        let id = lock(linode).create_volume(&pv, size, &lke.region, &tags);
        let modes = pvc["spec"]["accessModes"].clone();
        let capacity = json!({"storage": format!("{size}Gi")});
        k8s.put(json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": pv,
            "annotations": {"pv.kubernetes.io/provisioned-by": "linodebs.csi.linode.com"}},
            "spec": {"capacity": capacity, "accessModes": modes, "persistentVolumeReclaimPolicy": reclaim,
                "storageClassName": class, "csi": {"driver": "linodebs.csi.linode.com", "volumeHandle": format!("{id}-{pv}")},
                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": ns, "name": name, "uid": uid}},
            "status": {"phase": "Bound"}}));
        k8s.update("v1", "PersistentVolumeClaim", Some(ns), name, |o| {
            o["spec"]["volumeName"] = json!(pv);
            o["status"] = json!({"phase": "Bound", "accessModes": modes, "capacity": capacity});
            true
        });
        let owned = Owned {
            namespace: ns.into(),
            name: name.into(),
            cluster: lke.id,
            id,
            pv: Some((pv, reclaim == "Delete")),
        };
        mem.volumes.0.insert(key, owned);
    }
    let Memory { clocks, volumes, .. } = mem;
    for owned in volumes.released(clocks, label, &live, lke, latencies.volume) {
        match &owned.pv {
            Some((pv, true)) => {
                lock(linode).volumes.remove(&owned.id);
                k8s.delete("v1", "PersistentVolume", None, pv);
            }
            Some((pv, false)) => {
                k8s.update("v1", "PersistentVolume", None, pv, |o| {
                    o["status"] = json!({"phase": "Released"});
                    true
                });
            }
            None => {}
        }
    }
}

/// The volume the CSI driver made for a claim before a restart, found by name as the driver finds it.
fn adopted_volume(k8s: &KubeApi, linode: &Mutex<State>, label: &str, pvc: &Value, cluster: u64) -> Option<Owned> {
    let pv = format!("pvc-{}", short_hash(label, &uid(pvc)));
    let id = lock(linode)
        .volumes
        .values()
        .find(|v| v["label"] == pv.as_str())
        .and_then(|v| v["id"].as_u64())?;
    let reclaim = k8s
        .get("v1", "PersistentVolume", None, &pv)
        .map(|p| p["spec"]["persistentVolumeReclaimPolicy"] == "Delete")
        .unwrap_or(true);
    Some(Owned {
        namespace: s(&pvc["metadata"]["namespace"]).into(),
        name: s(&pvc["metadata"]["name"]).into(),
        cluster,
        id,
        pv: Some((pv, reclaim)),
    })
}
