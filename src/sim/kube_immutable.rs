//! The simulated Kubernetes API's update validation for fields that cannot change in place, answered as the
//! real kube-apiserver answers: HTTP 422, a `Status` with reason `Invalid`, `details.causes[].field`,
//! and the messages of its validation code (`pkg/apis/*/validation`), for a real write and a dry run
//! alike. Also the garbage collector's part of an orphan delete (dependents lose their owner reference).
//!
//! Covered: StorageClass `parameters`, `provisioner`, `reclaimPolicy`, `volumeBindingMode`; Deployment
//! and DaemonSet `spec.selector`; StatefulSet `spec` outside the fields it lets change; Service
//! `spec.clusterIPs[0]` once set; ConfigMap and Secret data (and `immutable`, Secret `type`) once
//! `immutable: true`.

use super::http::Reply;
use serde_json::{Value, json};

use super::kube::{Key, State};
use super::kube_kinds::Kind;

/// One `details.causes[]` entry: `FieldValueForbidden` or `FieldValueInvalid`.
struct Cause {
    reason: &'static str,
    field: String,
    /// After the field, e.g. `Forbidden: updates to parameters are forbidden.`
    message: String,
}

fn forbidden(field: &str, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueForbidden",
        field: field.into(),
        message: format!("Forbidden: {detail}"),
    }
}

fn invalid(field: &str, value: &Value, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        field: field.into(),
        message: format!("Invalid value: {value}: {detail}"),
    }
}

/// `field is immutable`, as `apivalidation.ValidateImmutableField` words it.
const IMMUTABLE: &str = "field is immutable";

/// A map field where absent and empty are the same (the server stores neither).
fn map_or_empty(v: &Value) -> Value {
    if v.is_null() { json!({}) } else { v.clone() }
}

/// What the StatefulSet update validation lets change (everything else of `spec` is forbidden).
const STATEFULSET_MUTABLE: &[&str] = &[
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

fn without(spec: &Value, keys: &[&str]) -> Value {
    let mut spec = map_or_empty(spec);
    if let Some(o) = spec.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
    spec
}

fn causes(k: &Kind, old: &Value, new: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    match (k.group.as_str(), k.kind.as_str()) {
        ("storage.k8s.io", "StorageClass") => {
            if map_or_empty(&old["parameters"]) != map_or_empty(&new["parameters"]) {
                out.push(forbidden("parameters", "updates to parameters are forbidden."));
            }
            if old["provisioner"] != new["provisioner"] {
                out.push(forbidden("provisioner", "updates to provisioner are forbidden."));
            }
            let or = |v: &Value, default: &str| v.as_str().unwrap_or(default).to_string();
            if or(&old["reclaimPolicy"], "Delete") != or(&new["reclaimPolicy"], "Delete") {
                out.push(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."));
            }
            let (a, b) = (
                or(&old["volumeBindingMode"], "Immediate"),
                or(&new["volumeBindingMode"], "Immediate"),
            );
            if a != b {
                out.push(invalid("volumeBindingMode", &json!(b), IMMUTABLE));
            }
        }
        ("apps", "Deployment" | "DaemonSet") => {
            let selector = &new["spec"]["selector"];
            if old["spec"]["selector"] != *selector {
                out.push(invalid("spec.selector", selector, IMMUTABLE));
            }
        }
        ("apps", "StatefulSet")
            if without(&old["spec"], STATEFULSET_MUTABLE) != without(&new["spec"], STATEFULSET_MUTABLE) =>
        {
            out.push(forbidden(
                "spec",
                "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', \
                 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
            ));
        }
        ("", "Service") => {
            // Once allocated the cluster IP stays; an apply that does not name one keeps it (on the real
            // server by merging; the simulator never allocates one, so only a named change is refused).
            let ip = |v: &Value| {
                v["spec"]["clusterIPs"][0]
                    .as_str()
                    .or(v["spec"]["clusterIP"].as_str())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            if let (Some(a), Some(b)) = (ip(old), ip(new))
                && a != b
            {
                out.push(invalid("spec.clusterIPs[0]", &json!([b]), "may not change once set"));
            }
        }
        ("", "ConfigMap" | "Secret") if old["immutable"] == true => {
            const WHEN_SET: &str = "field is immutable when `immutable` is set";
            if new["immutable"] != true {
                out.push(forbidden("immutable", WHEN_SET));
            }
            for field in ["data", "binaryData", "stringData"] {
                if map_or_empty(&old[field]) != map_or_empty(&new[field]) {
                    out.push(forbidden(field, WHEN_SET));
                }
            }
        }
        _ => {}
    }
    if k.kind == "Secret" && old["type"] != new["type"] && !new["type"].is_null() {
        out.push(invalid("type", &new["type"], IMMUTABLE));
    }
    out
}

/// The 422 the real server answers when `new` changes a field of `old` that cannot change, or `None`.
pub(crate) fn check(k: &Kind, old: &Value, new: &Value) -> Option<Reply> {
    let causes = causes(k, old, new);
    if causes.is_empty() {
        return None;
    }
    let name = new["metadata"]["name"].as_str().unwrap_or_default();
    let qualified = if k.group.is_empty() {
        k.kind.clone()
    } else {
        format!("{}.{}", k.kind, k.group)
    };
    let each: Vec<String> = causes.iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
    let listed = if each.len() == 1 {
        each[0].clone()
    } else {
        format!("[{}]", each.join(", "))
    };
    let message = format!("{qualified} \"{name}\" is invalid: {listed}");
    let causes: Vec<Value> = causes
        .iter()
        .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
        .collect();
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": "Invalid", "code": 422,
        "details": {"name": name, "group": k.group, "kind": k.kind, "causes": causes}});
    Some(Reply::new(422).set_body_json(body))
}

/// The garbage collector's answer to `propagationPolicy: Orphan`: every object the deleted one
/// controlled loses its owner reference to it (and stays).
pub(crate) fn orphan_dependents(st: &mut State, owner_uid: &Value) {
    let owned: Vec<Key> = st
        .objects
        .iter()
        .filter(|(_, o)| {
            o["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == *owner_uid))
        })
        .map(|(k, _)| k.clone())
        .collect();
    for key in owned {
        let Some(mut obj) = st.objects.get(&key).cloned() else {
            continue;
        };
        if let Some(refs) = obj["metadata"]["ownerReferences"].as_array_mut() {
            refs.retain(|r| r["uid"] != *owner_uid);
        }
        st.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(st.rv.to_string());
        st.objects.insert(key.clone(), obj.clone());
        st.record("MODIFIED", key, obj);
    }
}

/// Whether a DELETE asked to orphan dependents (`DeleteOptions` body or the query parameter).
pub(crate) fn orphans(body: &[u8], query_policy: Option<&String>) -> bool {
    let from_body = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|b| b["propagationPolicy"].as_str().map(str::to_string));
    from_body.as_deref().or(query_policy.map(String::as_str)) == Some("Orphan")
}
