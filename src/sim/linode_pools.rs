//! The simulated LKE node pools: making, resizing (node Linodes made and removed), updating and
//! deleting them, and the checks of a pool's Kubernetes `labels` and `taints` as the API refuses them
//! (spec 4.189 `node_pools[]`): labels a map of qualified-name keys to strings of at most 63
//! characters; taints a list of `{key, value, effect}` with effect `NoSchedule`, `PreferNoSchedule`
//! or `NoExecute`. Written apart from lkeobs' own validation so the two cannot agree by construction.

use serde_json::{Value, json};

use super::http::Reply;
use super::linode::State;
use super::linode_firewalls::detach_entity;
use super::linode_routes::{err, not_found, ok};

/// A 400 on one field: (field, reason).
pub(crate) struct Invalid(pub(crate) &'static str, pub(crate) &'static str);

const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most `max` characters.
fn segment(s: &str, max: usize) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    !s.is_empty()
        && s.len() <= max
        && s.chars().all(ok_char)
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A Kubernetes qualified name: `[prefix/]name`, the prefix a DNS subdomain of at most 253 characters.
fn qualified(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => {
            prefix.len() <= 253
                && prefix
                    .split('.')
                    .all(|l| segment(l, 63) && !l.contains(['_', '.']) && l.chars().all(|c| !c.is_ascii_uppercase()))
                && segment(name, 63)
        }
        None => segment(key, 63),
    }
}

fn value_ok(v: &str) -> bool {
    v.is_empty() || segment(v, 63)
}

/// Checks the `labels` and `taints` of a pool create or update body (absent fields pass).
pub(crate) fn check(spec: &Value) -> Result<(), Invalid> {
    match &spec["labels"] {
        Value::Null => {}
        Value::Object(map) => {
            for (k, v) in map {
                if !qualified(k) {
                    return Err(Invalid("labels", "Label keys must be valid Kubernetes label keys"));
                }
                if !v.as_str().is_some_and(value_ok) {
                    return Err(Invalid(
                        "labels",
                        "Label values must be strings of at most 63 alphanumeric characters, '-', '_' or '.'",
                    ));
                }
            }
        }
        _ => return Err(Invalid("labels", "Must be an object")),
    }
    match &spec["taints"] {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for t in items {
                let Some(obj) = t.as_object() else {
                    return Err(Invalid("taints", "Each taint must be an object"));
                };
                if obj.keys().any(|k| !matches!(k.as_str(), "key" | "value" | "effect")) {
                    return Err(Invalid("taints", "Taints take only key, value and effect"));
                }
                // The spec gives the whole key at most 63 characters.
                if !t["key"].as_str().is_some_and(|k| k.len() <= 63 && qualified(k)) {
                    return Err(Invalid("taints.key", "Taint keys must be valid Kubernetes taint keys"));
                }
                if !t["value"].as_str().is_some_and(value_ok) {
                    return Err(Invalid(
                        "taints.value",
                        "Taint values must be valid Kubernetes taint values",
                    ));
                }
                if !t["effect"].as_str().is_some_and(|e| EFFECTS.contains(&e)) {
                    return Err(Invalid(
                        "taints.effect",
                        "Must be one of NoSchedule, PreferNoSchedule, NoExecute",
                    ));
                }
            }
            Ok(())
        }
        _ => Err(Invalid("taints", "Must be an array")),
    }
}

pub(crate) fn pool_view(pool: &Value) -> Value {
    let mut pool = pool.clone();
    if let Some(map) = pool.as_object_mut() {
        map.remove("cluster_id");
        map.remove("region");
    }
    pool
}

pub(crate) fn pools_of(state: &State, cluster: u64) -> Vec<Value> {
    state
        .pools
        .values()
        .filter(|p| p["cluster_id"] == cluster)
        .map(pool_view)
        .collect()
}

pub(crate) fn make_pool(state: &mut State, cluster: u64, region: &str, spec: &Value) -> Result<Value, Invalid> {
    let ty = spec["type"].as_str().unwrap_or_default().to_string();
    if !state.types.iter().any(|t| t["id"] == ty.as_str()) {
        return Err(Invalid("type", "Invalid Linode type"));
    }
    if !state.sells(region, &ty) {
        return Err(Invalid("type", "This Linode type is not available in this region"));
    }
    let count = spec["count"].as_u64().unwrap_or(0);
    if !(1..=100).contains(&count) {
        return Err(Invalid("count", "count must be between 1 and 100"));
    }
    check(spec)?;
    let id = state.id();
    let autoscaler = if spec["autoscaler"].is_object() {
        spec["autoscaler"].clone()
    } else {
        json!({"enabled": false, "min": count, "max": count})
    };
    let mut pool = json!({"id": id, "cluster_id": cluster, "region": region, "type": ty, "count": 0,
        "autoscaler": autoscaler, "nodes": [], "tags": spec["tags"].as_array().cloned().unwrap_or_default(),
        "labels": spec["labels"].as_object().cloned().unwrap_or_default(),
        "taints": spec["taints"].as_array().cloned().unwrap_or_default(), "disk_encryption": "enabled"});
    if let Some(label) = spec["label"].as_str() {
        pool["label"] = json!(label);
    }
    resize_pool(state, &mut pool, count);
    state.pools.insert(id, pool.clone());
    Ok(pool_view(&pool))
}

pub(crate) fn resize_pool(state: &mut State, pool: &mut Value, count: u64) {
    let (cluster, pid) = (
        pool["cluster_id"].as_u64().unwrap_or(0),
        pool["id"].as_u64().unwrap_or(0),
    );
    let mut nodes = pool["nodes"].as_array().cloned().unwrap_or_default();
    while (nodes.len() as u64) > count {
        if let Some(node) = nodes.pop() {
            remove_instance(state, node["instance_id"].as_u64().unwrap_or(0));
        }
    }
    let version = state
        .clusters
        .get(&cluster)
        .and_then(|c| c["k8s_version"].as_str())
        .unwrap_or_default()
        .to_string();
    while (nodes.len() as u64) < count {
        let iid = state.id();
        state.node_versions.insert(iid, version.clone());
        let hex = format!("{:x}", iid * 2654435761 % 0xffff_ffff);
        let octet = iid % 250;
        state.instances.insert(
            iid,
            json!({"id": iid, "label": format!("lke{cluster}-{pid}-{hex}"),
            "region": pool["region"], "type": pool["type"], "status": "running", "tags": pool["tags"],
            "ipv4": [format!("203.0.113.{octet}"), format!("192.168.128.{octet}")], "lke_cluster_id": cluster}),
        );
        nodes.push(json!({"id": format!("{pid}-{hex}"), "instance_id": iid, "status": "ready"}));
    }
    pool["count"] = json!(count);
    pool["nodes"] = json!(nodes);
}

pub(crate) fn update_pool(state: &mut State, id: u64, body: &Value) -> Reply {
    let Some(mut pool) = state.pools.get(&id).cloned() else {
        return not_found();
    };
    if let Err(Invalid(field, reason)) = check(body) {
        return err(400, Some(field), reason);
    }
    for key in ["autoscaler", "labels", "taints", "tags"] {
        if !body[key].is_null() {
            pool[key] = body[key].clone();
        }
    }
    if let Some(count) = body["count"].as_u64() {
        resize_pool(state, &mut pool, count);
    }
    state.pools.insert(id, pool.clone());
    ok(pool_view(&pool))
}

pub(crate) fn delete_pool(state: &mut State, id: u64) {
    if let Some(pool) = state.pools.remove(&id) {
        for node in pool["nodes"].as_array().cloned().unwrap_or_default() {
            remove_instance(state, node["instance_id"].as_u64().unwrap_or(0));
        }
    }
}

pub(crate) fn remove_instance(state: &mut State, id: u64) {
    state.instances.remove(&id);
    state.node_versions.remove(&id);
    detach_entity(state, id, "linode");
}
