//! The rollout controllers of Deployments, StatefulSets and DaemonSets: each keeps its pods (and a
//! StatefulSet its claims) and writes its rollout status from what its pods do. Scheduling, starting
//! and stopping pods are the scheduler's and the kubelets' ([`super::scheduler`], [`super::kubelet`]).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::kube::KubeApi;
use super::kubelet::terminate;
use super::world::{Latencies, Memory, short_hash};

pub(crate) fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

pub(crate) fn uid(obj: &Value) -> String {
    s(&obj["metadata"]["uid"]).to_string()
}

/// Whether a graceful delete has begun (`metadata.deletionTimestamp`).
pub(crate) fn deleting(obj: &Value) -> bool {
    !obj["metadata"]["deletionTimestamp"].is_null()
}

/// Whether an object's `Ready` condition (a pod's or a node's) is True.
pub(crate) fn is_ready(obj: &Value) -> bool {
    obj["status"]["conditions"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

/// Rollout controller for Deployments, StatefulSets and DaemonSets. Keeps one pod per replica: a
/// Deployment a new one (next free `<name>-<n>`) as soon as one starts terminating; a StatefulSet
/// `<name>-<ordinal>` again only once the old one is gone, with its claims as volumes; a DaemonSet one
/// bound to each eligible Ready node (cordoned ones too). New pods are Pending until the scheduler and
/// a kubelet run them. Live pods follow the template in place. `rollout` after a workload's status
/// would change (new generation, pods Ready or gone), it is written from the pods. StatefulSets first
/// get their `volumeClaimTemplates` claims and make pods only once those are Bound. Pods of workloads
/// that are gone are deleted. With a Linode cluster behind the label, nothing rolls out before a node
/// is Ready.
pub(crate) fn workloads(label: &str, k8s: &KubeApi, has_lke: bool, mem: &mut Memory, latencies: &Latencies) {
    let nodes = k8s.list("v1", "Node");
    let ready: Vec<&Value> = nodes.iter().filter(|n| is_ready(n)).collect();
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
                .copied()
                .filter(|n| selector.iter().all(|(k, v)| n["metadata"]["labels"][k] == *v))
                .collect();
            let pods = k8s.list("v1", "Pod");
            let owned: Vec<&Value> = pods.iter().filter(|p| owner(p) == Some(uid(&w))).collect();
            match kind {
                "Deployment" => deployment_pods(k8s, &w, &pods, &owned),
                "StatefulSet" => stateful_pods(k8s, &w, &owned),
                _ => daemon_pods(k8s, &w, &pods, &owned, &eligible, &nodes),
            }
            let owned: Vec<Value> = k8s
                .list("v1", "Pod")
                .into_iter()
                .filter(|p| owner(p) == Some(uid(&w)))
                .collect();
            let target = target_status(kind, &w, eligible.len(), &owned);
            if w["status"] == target || !mem.after(format!("rollout/{label}/{}/{target}", uid(&w)), latencies.rollout) {
                continue;
            }
            let (ns, name) = (s(&w["metadata"]["namespace"]), s(&w["metadata"]["name"]));
            let generation = w["metadata"]["generation"].clone();
            k8s.update("apps/v1", kind, Some(ns), name, |obj| {
                let same = obj["metadata"]["generation"] == generation && uid(obj) == uid(&w);
                obj["status"] = target.clone();
                same
            });
        }
    }
    for p in k8s
        .list("v1", "Pod")
        .iter()
        .filter(|p| owner(p).is_some_and(|o| !live.contains(&o)))
    {
        k8s.delete(
            "v1",
            "Pod",
            p["metadata"]["namespace"].as_str(),
            s(&p["metadata"]["name"]),
        );
    }
}

/// The ordinal of `<name>-<n>`.
fn ordinal(workload: &str, pod: &str) -> Option<usize> {
    pod.strip_prefix(workload)?.strip_prefix('-')?.parse().ok()
}

/// The first name its controller would give the workload's next pod (`pod_names`) that no pod of the
/// namespace has.
fn free_name(w: &Value, pods: &[Value], taken: &mut BTreeSet<String>) -> String {
    let ns = &w["metadata"]["namespace"];
    let kind = s(&w["kind"]);
    let used = |candidate: &str| {
        taken.contains(candidate)
            || pods
                .iter()
                .any(|p| p["metadata"]["namespace"] == *ns && p["metadata"]["name"] == candidate)
    };
    let fresh = (0..)
        .map(|n| super::pod_names::pod_name(kind, w, n))
        .find(|c| !used(c))
        .unwrap_or_default();
    taken.insert(fresh.clone());
    fresh
}

/// The live pods follow the template (their node and status stay); surplus ones are stopped.
fn keep(k8s: &KubeApi, kind: &str, w: &Value, active: &[&Value], surplus: &[&Value]) {
    for p in active {
        let name = s(&p["metadata"]["name"]).to_string();
        let fresh = pod(kind, w, &name);
        k8s.update("v1", "Pod", p["metadata"]["namespace"].as_str(), &name, |o| {
            if deleting(o) || uid(o) != uid(p) {
                return false;
            }
            let mut new = fresh;
            new["spec"]["nodeName"] = o["spec"]["nodeName"].clone();
            if new["spec"]["nodeName"].is_null() {
                new["spec"].as_object_mut().map(|m| m.remove("nodeName"));
            }
            new["status"] = o["status"].clone();
            new["metadata"]["uid"] = o["metadata"]["uid"].clone();
            let changed = new != *o;
            *o = new;
            changed
        });
    }
    for p in surplus {
        terminate(k8s, p);
    }
}

fn active<'a>(owned: &[&'a Value]) -> Vec<&'a Value> {
    owned.iter().copied().filter(|p| !deleting(p)).collect()
}

/// A Deployment's pods: as many live ones as replicas; a terminating pod is replaced at once.
fn deployment_pods(k8s: &KubeApi, w: &Value, pods: &[Value], owned: &[&Value]) {
    let want = replicas(w);
    let mut live = active(owned);
    // Scale-in stops the pods that are not Ready first, then the newest.
    live.sort_by_key(|p| {
        (
            !is_ready(p),
            ordinal(s(&w["metadata"]["name"]), s(&p["metadata"]["name"])),
        )
    });
    let surplus = live.split_off(want.min(live.len()));
    keep(k8s, "Deployment", w, &live, &surplus);
    let mut taken = BTreeSet::new();
    for _ in live.len()..want {
        let name = free_name(w, pods, &mut taken);
        k8s.put(pod("Deployment", w, &name));
    }
}

/// A StatefulSet's pods `<name>-0…`: an ordinal comes back only once its old pod is gone.
fn stateful_pods(k8s: &KubeApi, w: &Value, owned: &[&Value]) {
    let want = replicas(w);
    let name = s(&w["metadata"]["name"]);
    let live = active(owned);
    let (kept, surplus): (Vec<&Value>, Vec<&Value>) = live
        .iter()
        .partition(|p| ordinal(name, s(&p["metadata"]["name"])).is_some_and(|n| n < want));
    keep(k8s, "StatefulSet", w, &kept, &surplus);
    for n in 0..want {
        let pod_name = format!("{name}-{n}");
        if !owned.iter().any(|p| p["metadata"]["name"] == pod_name.as_str()) {
            k8s.put(pod("StatefulSet", w, &pod_name));
        }
    }
}

/// A DaemonSet's pods: one bound to each eligible node; pods on nodes that no longer match stop.
fn daemon_pods(k8s: &KubeApi, w: &Value, pods: &[Value], owned: &[&Value], eligible: &[&Value], nodes: &[Value]) {
    let live = active(owned);
    let node_of = |p: &Value| s(&p["spec"]["nodeName"]).to_string();
    let selector = w["spec"]["template"]["spec"]["nodeSelector"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    // A pod whose node is NotReady stays; one whose node no longer matches stops.
    let (kept, surplus): (Vec<&Value>, Vec<&Value>) = live.iter().partition(|p| {
        nodes.iter().any(|n| {
            n["metadata"]["name"] == node_of(p).as_str()
                && selector.iter().all(|(k, v)| n["metadata"]["labels"][k] == *v)
        })
    });
    keep(k8s, "DaemonSet", w, &kept, &surplus);
    let mut taken = BTreeSet::new();
    for node in eligible {
        let node_name = s(&node["metadata"]["name"]);
        if !kept.iter().any(|p| node_of(p) == node_name) {
            let mut fresh = pod("DaemonSet", w, &free_name(w, pods, &mut taken));
            fresh["spec"]["nodeName"] = json!(node_name);
            k8s.put(fresh);
        }
    }
}

fn replicas(w: &Value) -> usize {
    w["spec"]["replicas"].as_u64().map_or(1, |r| r as usize)
}

/// The uid of the workload that controls a pod.
fn owner(pod: &Value) -> Option<String> {
    pod["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"] == true && matches!(s(&o["kind"]), "Deployment" | "StatefulSet" | "DaemonSet"))
        .map(|o| s(&o["uid"]).to_string())
}

fn target_status(kind: &str, w: &Value, eligible: usize, owned: &[Value]) -> Value {
    let generation = w["metadata"]["generation"].as_i64().unwrap_or(1);
    let live: Vec<&Value> = owned.iter().filter(|p| !deleting(p)).collect();
    let (total, ready) = (live.len(), live.iter().filter(|p| is_ready(p)).count());
    match kind {
        "Deployment" => {
            let available = if ready >= replicas(w) {
                json!({"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"})
            } else {
                json!({"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"})
            };
            json!({"observedGeneration": generation, "replicas": total, "updatedReplicas": total,
                "readyReplicas": ready, "availableReplicas": ready, "conditions": [available,
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]})
        }
        "StatefulSet" => {
            let revision = format!(
                "{}-{}",
                s(&w["metadata"]["name"]),
                short_hash("", &generation.to_string())
            );
            json!({"observedGeneration": generation, "replicas": total, "readyReplicas": ready, "currentReplicas": total,
                "updatedReplicas": total, "availableReplicas": ready, "currentRevision": revision, "updateRevision": revision})
        }
        _ => json!({"observedGeneration": generation, "desiredNumberScheduled": eligible,
            "currentNumberScheduled": total, "updatedNumberScheduled": total, "numberReady": ready,
            "numberAvailable": ready, "numberMisscheduled": 0}),
    }
}

/// A new pod of workload `w` as its controller makes it: Pending, not yet scheduled; a StatefulSet's
/// carries its claims (`<template>-<sts>-<ordinal>`) as volumes.
fn pod(kind: &str, w: &Value, name: &str) -> Value {
    let template = &w["spec"]["template"];
    let mut spec = template["spec"].clone();
    if !spec.is_object() {
        spec = json!({});
    }
    if kind == "StatefulSet" {
        let sts = s(&w["metadata"]["name"]);
        let n = ordinal(sts, name).unwrap_or_default();
        let mut volumes = spec["volumes"].as_array().cloned().unwrap_or_default();
        for t in w["spec"]["volumeClaimTemplates"].as_array().into_iter().flatten() {
            let claim = s(&t["metadata"]["name"]);
            volumes.push(json!({"name": claim, "persistentVolumeClaim": {"claimName": format!("{claim}-{sts}-{n}")}}));
        }
        if !volumes.is_empty() {
            spec["volumes"] = json!(volumes);
        }
    }
    let mut metadata = json!({"name": name, "namespace": w["metadata"]["namespace"], "ownerReferences": [{
        "apiVersion": "apps/v1", "kind": kind, "name": w["metadata"]["name"], "uid": uid(w), "controller": true}]});
    for key in ["labels", "annotations"] {
        if template["metadata"][key].is_object() {
            metadata[key] = template["metadata"][key].clone();
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": {"phase": "Pending"}})
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
