//! The simulated Cloud Firewalls (rules with version and fingerprint, devices) and account tags.

use serde_json::{Value, json};

use super::http::{Reply, Request};
use super::linode::State;
use super::linode_routes::{WHEN, err, list, not_found, ok};

pub(crate) fn create_tag(state: &mut State, body: &Value) -> Reply {
    let label = body["label"].as_str().unwrap_or_default().to_string();
    if !(3..=50).contains(&label.len()) {
        return err(400, Some("label"), "Length must be 3-50 characters");
    }
    state.tags.insert(label.clone());
    let tag = |objects: &mut std::collections::BTreeMap<u64, Value>, key: &str| {
        for oid in body[key].as_array().cloned().unwrap_or_default() {
            let object = oid.as_u64().and_then(|oid| objects.get_mut(&oid));
            if let Some(tags) = object.and_then(|o| o["tags"].as_array_mut())
                && !tags.contains(&json!(label))
            {
                tags.push(json!(label));
            }
        }
    };
    tag(&mut state.instances, "linodes");
    tag(&mut state.nodebalancers, "nodebalancers");
    tag(&mut state.volumes, "volumes");
    ok(json!({"label": label}))
}

pub(crate) fn delete_tag(state: &mut State, label: &str) -> Reply {
    if !state.tags.remove(label) {
        return not_found();
    }
    let all = [
        &mut state.clusters,
        &mut state.instances,
        &mut state.nodebalancers,
        &mut state.volumes,
        &mut state.firewalls,
    ];
    for objects in all {
        for o in objects.values_mut() {
            if let Some(tags) = o["tags"].as_array_mut() {
                tags.retain(|t| t != label);
            }
        }
    }
    ok(json!({}))
}

fn fingerprint(rules: &Value) -> String {
    let hash = rules
        .to_string()
        .bytes()
        .fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("{hash:08x}")
}

fn set_rules(fw: &mut Value, rules: &Value) {
    let version = fw["rules"]["version"].as_u64().unwrap_or(0) + 1;
    let mut rules = json!({
        "inbound": rules["inbound"].as_array().cloned().unwrap_or_default(),
        "inbound_policy": rules["inbound_policy"], "outbound_policy": rules["outbound_policy"],
        "outbound": rules["outbound"].as_array().cloned().unwrap_or_default(),
    });
    rules["fingerprint"] = json!(fingerprint(&rules));
    rules["version"] = json!(version);
    fw["rules"] = rules;
}

pub(crate) fn firewalls(state: &mut State, req: &Request, method: &str, segs: &[&str], body: &Value) -> Reply {
    let fid = segs.get(2).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    if segs.len() > 2 && !state.firewalls.contains_key(&fid) {
        return not_found();
    }
    match (method, &segs[2..]) {
        ("GET", []) => list(req, state.firewalls.values().cloned().collect()),
        ("POST", []) => {
            let label = body["label"].as_str().unwrap_or_default().to_string();
            if !(3..=32).contains(&label.len()) {
                return err(400, Some("label"), "Length must be 3-32 characters");
            }
            if state.firewalls.values().any(|f| f["label"] == label.as_str()) {
                return err(400, Some("label"), "Label must be unique among your Cloud Firewalls");
            }
            if !body["rules"]["inbound_policy"].is_string() || !body["rules"]["outbound_policy"].is_string() {
                return err(400, Some("rules"), "inbound_policy and outbound_policy are required");
            }
            let id = state.id();
            let mut fw = json!({"id": id, "label": label, "status": "enabled", "created": WHEN, "updated": WHEN,
                "tags": body["tags"].as_array().cloned().unwrap_or_default()});
            set_rules(&mut fw, &body["rules"]);
            state.firewalls.insert(id, fw.clone());
            ok(fw)
        }
        ("GET", [_]) => ok(state.firewalls[&fid].clone()),
        ("PUT", [_]) => {
            let fw = state.firewalls.get_mut(&fid).map(|fw| {
                for key in ["label", "status", "tags"] {
                    if !body[key].is_null() {
                        fw[key] = body[key].clone();
                    }
                }
                fw.clone()
            });
            fw.map_or_else(not_found, ok)
        }
        ("DELETE", [_]) => {
            state.firewalls.remove(&fid);
            state.devices.retain(|_, d| d["firewall_id"] != fid);
            ok(json!({}))
        }
        ("GET", [_, "rules"]) => ok(state.firewalls[&fid]["rules"].clone()),
        ("PUT", [_, "rules"]) => {
            let fw = state.firewalls.get_mut(&fid).map(|fw| {
                set_rules(fw, body);
                fw["rules"].clone()
            });
            fw.map_or_else(not_found, ok)
        }
        ("GET", [_, "devices"]) => {
            let devices = state
                .devices
                .values()
                .filter(|d| d["firewall_id"] == fid)
                .map(device_view)
                .collect();
            list(req, devices)
        }
        ("POST", [_, "devices"]) => {
            let (eid, kind) = (
                body["id"].as_u64().unwrap_or(0),
                body["type"].as_str().unwrap_or_default(),
            );
            let entity = match kind {
                "linode" => state.instances.get(&eid),
                "nodebalancer" => state.nodebalancers.get(&eid),
                _ => return err(400, Some("type"), "Must be linode or nodebalancer"),
            };
            let Some(entity) = entity.cloned() else {
                return err(400, Some("id"), "Not found");
            };
            if state
                .devices
                .values()
                .any(|d| d["entity"]["id"] == eid && d["entity"]["type"] == kind)
            {
                return err(400, None, "This entity already has a firewall assigned");
            }
            let did = state.id();
            let device = json!({"id": did, "firewall_id": fid, "created": WHEN, "updated": WHEN,
                "entity": {"id": eid, "type": kind, "label": entity["label"], "url": format!("/v4/{kind}s/{eid}")}});
            state.devices.insert(did, device.clone());
            ok(device_view(&device))
        }
        (_, [_, "devices", d]) => {
            let did = d.parse::<u64>().unwrap_or(0);
            match state.devices.get(&did).filter(|dev| dev["firewall_id"] == fid).cloned() {
                None => not_found(),
                Some(dev) if method == "GET" => ok(device_view(&dev)),
                Some(_) if method == "DELETE" => {
                    state.devices.remove(&did);
                    ok(json!({}))
                }
                Some(_) => err(405, None, "Method not allowed"),
            }
        }
        _ => not_found(),
    }
}

fn device_view(device: &Value) -> Value {
    let mut device = device.clone();
    if let Some(map) = device.as_object_mut() {
        map.remove("firewall_id");
    }
    device
}

/// Removes the firewall devices of an entity that is gone.
pub(crate) fn detach_entity(state: &mut State, id: u64, kind: &str) {
    state
        .devices
        .retain(|_, d| !(d["entity"]["id"] == id && d["entity"]["type"] == kind));
}
