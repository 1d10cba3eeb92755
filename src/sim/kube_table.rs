//! Server-side printing as kube-apiserver does it for `kubectl get`: a `meta.k8s.io/v1 Table` when the
//! `Accept` header asks for `as=Table`, with the columns of its printers (`pkg/printers/internalversion`)
//! for pods, nodes, services, deployments, statefulsets, daemonsets, namespaces, configmaps, secrets and
//! claims, and NAME and AGE for any other kind.

use serde_json::{Value, json};

use super::kube_clock::age;
use super::kube_kinds::Kind;

/// Whether an `Accept` header asks for a Table (`application/json;as=Table;v=v1;g=meta.k8s.io`).
pub(crate) fn wants_table(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',')
            .any(|t| t.split(';').any(|p| p.trim() == "as=Table") && t.contains("g=meta.k8s.io"))
    })
}

/// A column: name, type, priority (1: only with `-o wide`).
type Column = (&'static str, &'static str, u8);

const NAME: Column = ("Name", "string", 0);
const AGE: Column = ("Age", "string", 0);

fn columns(kind: &str) -> Vec<Column> {
    match kind {
        "Pod" => vec![
            NAME,
            ("Ready", "string", 0),
            ("Status", "string", 0),
            ("Restarts", "string", 0),
            AGE,
            ("IP", "string", 1),
            ("Node", "string", 1),
            ("Nominated Node", "string", 1),
            ("Readiness Gates", "string", 1),
        ],
        "Node" => vec![
            NAME,
            ("Status", "string", 0),
            ("Roles", "string", 0),
            AGE,
            ("Version", "string", 0),
            ("Internal-IP", "string", 1),
            ("External-IP", "string", 1),
            ("OS-Image", "string", 1),
            ("Kernel-Version", "string", 1),
            ("Container-Runtime", "string", 1),
        ],
        "Service" => vec![
            NAME,
            ("Type", "string", 0),
            ("Cluster-IP", "string", 0),
            ("External-IP", "string", 0),
            ("Port(s)", "string", 0),
            AGE,
            ("Selector", "string", 1),
        ],
        "Deployment" => vec![
            NAME,
            ("Ready", "string", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        "StatefulSet" => vec![
            NAME,
            ("Ready", "string", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
        ],
        "DaemonSet" => vec![
            NAME,
            ("Desired", "integer", 0),
            ("Current", "integer", 0),
            ("Ready", "integer", 0),
            ("Up-to-date", "integer", 0),
            ("Available", "integer", 0),
            ("Node Selector", "string", 0),
            AGE,
            ("Containers", "string", 1),
            ("Images", "string", 1),
            ("Selector", "string", 1),
        ],
        "Namespace" => vec![NAME, ("Status", "string", 0), AGE],
        "ConfigMap" => vec![NAME, ("Data", "integer", 0), AGE],
        "Secret" => vec![NAME, ("Type", "string", 0), ("Data", "integer", 0), AGE],
        "PersistentVolumeClaim" => vec![
            NAME,
            ("Status", "string", 0),
            ("Volume", "string", 0),
            ("Capacity", "string", 0),
            ("Access Modes", "string", 0),
            ("StorageClass", "string", 0),
            AGE,
        ],
        _ => vec![NAME, AGE],
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// `a,b` of a list of strings, or `none`.
fn joined(items: impl Iterator<Item = String>, none: &str) -> String {
    let items: Vec<String> = items.filter(|i| !i.is_empty()).collect();
    if items.is_empty() {
        none.to_string()
    } else {
        items.join(",")
    }
}

/// `k=v,k2=v2` of a map, or `none`.
fn pairs(map: &Value, none: &str) -> String {
    joined(
        map.as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", s(v))),
        none,
    )
}

fn containers(spec: &Value) -> (String, String) {
    let list = spec["containers"].as_array().cloned().unwrap_or_default();
    (
        joined(list.iter().map(|c| s(&c["name"]).to_string()), "<none>"),
        joined(list.iter().map(|c| s(&c["image"]).to_string()), "<none>"),
    )
}

fn ready_condition(obj: &Value) -> Option<&Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
}

/// The cells after NAME, in [`columns`] order.
fn cells(kind: &str, obj: &Value) -> Vec<Value> {
    let (meta, spec, status) = (&obj["metadata"], &obj["spec"], &obj["status"]);
    let created = age(meta["creationTimestamp"].as_str());
    match kind {
        "Pod" => pod_cells(obj, created),
        "Node" => {
            let mut state = match ready_condition(obj).map(|c| s(&c["status"])) {
                Some("True") => "Ready".to_string(),
                Some("False") => "NotReady".to_string(),
                _ => "Unknown".to_string(),
            };
            if spec["unschedulable"] == true {
                state.push_str(",SchedulingDisabled");
            }
            let roles = joined(
                meta["labels"].as_object().into_iter().flatten().filter_map(|(k, v)| {
                    k.strip_prefix("node-role.kubernetes.io/")
                        .map(str::to_string)
                        .or_else(|| (k == "kubernetes.io/role").then(|| s(v).to_string()))
                }),
                "<none>",
            );
            let address = |t: &str| {
                joined(
                    status["addresses"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|a| a["type"] == t)
                        .map(|a| s(&a["address"]).to_string()),
                    "<none>",
                )
            };
            let info = &status["nodeInfo"];
            let or_unknown = |v: &Value| Some(s(v)).filter(|v| !v.is_empty()).unwrap_or("<unknown>").to_string();
            vec![
                json!(state),
                json!(roles),
                json!(created),
                json!(s(&info["kubeletVersion"])),
                json!(address("InternalIP")),
                json!(address("ExternalIP")),
                json!(or_unknown(&info["osImage"])),
                json!(or_unknown(&info["kernelVersion"])),
                json!(or_unknown(&info["containerRuntimeVersion"])),
            ]
        }
        "Service" => {
            let kind = Some(s(&spec["type"])).filter(|t| !t.is_empty()).unwrap_or("ClusterIP");
            let cluster_ip = Some(s(&spec["clusterIP"]))
                .filter(|t| !t.is_empty())
                .unwrap_or("<none>");
            let ingress = joined(
                status["loadBalancer"]["ingress"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|i| s(&i["ip"]).to_string()),
                "",
            );
            let external = match (kind, ingress.as_str()) {
                ("LoadBalancer", "") => "<pending>".to_string(),
                ("ExternalName", _) => s(&spec["externalName"]).to_string(),
                (_, "") => "<none>".to_string(),
                (_, ips) => ips.to_string(),
            };
            let ports = joined(
                spec["ports"].as_array().into_iter().flatten().map(|p| {
                    let proto = Some(s(&p["protocol"])).filter(|t| !t.is_empty()).unwrap_or("TCP");
                    match p["nodePort"].as_i64() {
                        Some(node) => format!("{}:{node}/{proto}", int(&p["port"])),
                        None => format!("{}/{proto}", int(&p["port"])),
                    }
                }),
                "<none>",
            );
            vec![
                json!(kind),
                json!(cluster_ip),
                json!(external),
                json!(ports),
                json!(created),
                json!(pairs(&spec["selector"], "<none>")),
            ]
        }
        "Deployment" => {
            let (names, images) = containers(&spec["template"]["spec"]);
            vec![
                json!(format!(
                    "{}/{}",
                    int(&status["readyReplicas"]),
                    spec["replicas"].as_i64().unwrap_or(1)
                )),
                json!(int(&status["updatedReplicas"])),
                json!(int(&status["availableReplicas"])),
                json!(created),
                json!(names),
                json!(images),
                json!(pairs(&spec["selector"]["matchLabels"], "<none>")),
            ]
        }
        "StatefulSet" => {
            let (names, images) = containers(&spec["template"]["spec"]);
            vec![
                json!(format!(
                    "{}/{}",
                    int(&status["readyReplicas"]),
                    spec["replicas"].as_i64().unwrap_or(1)
                )),
                json!(created),
                json!(names),
                json!(images),
            ]
        }
        "DaemonSet" => {
            let (names, images) = containers(&spec["template"]["spec"]);
            vec![
                json!(int(&status["desiredNumberScheduled"])),
                json!(int(&status["currentNumberScheduled"])),
                json!(int(&status["numberReady"])),
                json!(int(&status["updatedNumberScheduled"])),
                json!(int(&status["numberAvailable"])),
                json!(pairs(&spec["template"]["spec"]["nodeSelector"], "<none>")),
                json!(created),
                json!(names),
                json!(images),
                json!(pairs(&spec["selector"]["matchLabels"], "<none>")),
            ]
        }
        "Namespace" => {
            let phase = match s(&status["phase"]) {
                "" if meta["deletionTimestamp"].is_null() => "Active",
                "" => "Terminating",
                phase => phase,
            };
            vec![json!(phase), json!(created)]
        }
        "ConfigMap" => {
            let count = |k: &str| obj[k].as_object().map_or(0, |m| m.len());
            vec![json!(count("data") + count("binaryData")), json!(created)]
        }
        "Secret" => {
            let t = Some(s(&obj["type"])).filter(|t| !t.is_empty()).unwrap_or("Opaque");
            let count = obj["data"].as_object().map_or(0, |m| m.len());
            vec![json!(t), json!(count), json!(created)]
        }
        "PersistentVolumeClaim" => {
            let modes = joined(
                status["accessModes"].as_array().into_iter().flatten().map(|m| {
                    match s(m) {
                        "ReadWriteOnce" => "RWO",
                        "ReadOnlyMany" => "ROX",
                        "ReadWriteMany" => "RWX",
                        "ReadWriteOncePod" => "RWOP",
                        other => other,
                    }
                    .to_string()
                }),
                "",
            );
            vec![
                json!(s(&status["phase"])),
                json!(s(&spec["volumeName"])),
                json!(s(&status["capacity"]["storage"])),
                json!(modes),
                json!(s(&spec["storageClassName"])),
                json!(created),
            ]
        }
        _ => vec![json!(created)],
    }
}

/// READY, STATUS, RESTARTS, AGE, IP, NODE, NOMINATED NODE, READINESS GATES of a pod.
fn pod_cells(pod: &Value, created: String) -> Vec<Value> {
    let (spec, status) = (&pod["spec"], &pod["status"]);
    let total = spec["containers"].as_array().map_or(0, Vec::len);
    let statuses = status["containerStatuses"].as_array().cloned().unwrap_or_default();
    let ready = statuses.iter().filter(|c| c["ready"] == true).count();
    let restarts: i64 = statuses.iter().map(|c| int(&c["restartCount"])).sum();
    let mut reason = Some(s(&status["reason"]))
        .filter(|r| !r.is_empty())
        .or(Some(s(&status["phase"])).filter(|p| !p.is_empty()))
        .unwrap_or("Pending")
        .to_string();
    if let Some(waiting) = statuses.iter().find_map(|c| c["state"]["waiting"]["reason"].as_str()) {
        reason = waiting.to_string();
    }
    if !pod["metadata"]["deletionTimestamp"].is_null() {
        reason = "Terminating".into();
    }
    let ip = Some(s(&status["podIP"])).filter(|i| !i.is_empty()).unwrap_or("<none>");
    let node = Some(s(&spec["nodeName"])).filter(|n| !n.is_empty()).unwrap_or("<none>");
    let nominated = Some(s(&status["nominatedNodeName"]))
        .filter(|n| !n.is_empty())
        .unwrap_or("<none>");
    vec![
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts.to_string()),
        json!(created),
        json!(ip),
        json!(node),
        json!(nominated),
        json!("<none>"),
    ]
}

/// The Table of `objects` of kind `k`; `include` is the `includeObject` parameter (`None`, `Metadata`
/// (the default) or `Object`); `rv` the list's resourceVersion.
pub(crate) fn table(k: &Kind, objects: &[&Value], include: Option<&str>, rv: Option<String>) -> Value {
    let definitions: Vec<Value> = columns(&k.kind)
        .iter()
        .map(|(name, t, priority)| {
            let mut c = json!({"name": name, "type": t, "format": "", "description": "", "priority": priority});
            if *name == "Name" {
                c["format"] = json!("name");
            }
            c
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let mut row = vec![obj["metadata"]["name"].clone()];
            row.extend(cells(&k.kind, obj));
            let object = match include {
                Some("None") => Value::Null,
                Some("Object") => (*obj).clone(),
                _ => json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj["metadata"]}),
            };
            json!({"cells": row, "object": object})
        })
        .collect();
    let mut metadata = json!({});
    if let Some(rv) = rv {
        metadata["resourceVersion"] = json!(rv);
    }
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": metadata,
        "columnDefinitions": definitions, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_table_accept_header_asks_for_a_table() {
        assert!(wants_table(Some(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        )));
        assert!(!wants_table(Some("application/json")));
        assert!(!wants_table(None));
    }

    #[test]
    fn every_row_has_a_cell_per_column() {
        let pod = json!({"metadata": {"name": "p", "creationTimestamp": super::super::kube_clock::now_rfc3339()},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
            "status": {"phase": "Running", "containerStatuses": [{"ready": true, "restartCount": 2}, {"ready": false}]}});
        for kind in [
            "Pod",
            "Node",
            "Service",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "Namespace",
            "ConfigMap",
            "Secret",
            "PersistentVolumeClaim",
            "Role",
        ] {
            assert_eq!(cells(kind, &pod).len() + 1, columns(kind).len(), "{kind}");
        }
        let cells = cells("Pod", &pod);
        assert_eq!(cells[0], "1/2");
        assert_eq!(cells[1], "Running");
        assert_eq!(cells[2], "2");
        assert_eq!(cells[3], "0s");
        assert_eq!(cells[5], "n1");
    }
}
