//! Request handlers of the Linode fake: one function per resource family, over `State`.

use base64::Engine as _;
use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

use super::linode_fake::{Logged, State, api_error, paginate};

#[path = "linode_fake_pools.rs"]
mod pools;

#[path = "linode_fake_nodes.rs"]
mod nodes;

type Reply = (u16, ResponseTemplate);

/// A 400 on one field: (field, reason).
struct Invalid(&'static str, &'static str);

const WHEN: &str = "2026-01-01T00:00:00";

fn ok(v: Value) -> Reply {
    (200, ResponseTemplate::new(200).set_body_json(v))
}

fn err(status: u16, field: Option<&str>, reason: &str) -> Reply {
    (status, api_error(status, field, reason))
}

fn not_found() -> Reply {
    err(404, None, "Not found")
}

fn list(request: &Request, items: Vec<Value>) -> Reply {
    (200, paginate(request, items))
}

/// Spreads `percent`% of request numbers evenly and deterministically.
fn hit(n: u64, percent: u32) -> bool {
    let p = u64::from(percent.min(100));
    (n + 1) * p / 100 != n * p / 100
}

/// Handles one request: log, auth, fault injection, then the resource handlers.
pub(super) fn handle(state: &mut State, request: &Request) -> ResponseTemplate {
    let path = request.url.path();
    let path = path.strip_prefix("/v4").unwrap_or(path).to_string();
    let method = request.method.as_str().to_string();
    let body: Option<Value> = serde_json::from_slice(&request.body).ok();
    let filter = request
        .headers
        .get("x-filter")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let n = state.seq;
    state.seq += 1;
    let mut logged = Logged {
        method: method.clone(),
        path: path.clone(),
        filter,
        body: body.clone(),
        injected: None,
    };

    let bearer = format!("Bearer {}", state.token);
    if request.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str()) {
        state.log.push(Logged {
            path: format!("{path} (401)"),
            ..logged
        });
        return api_error(401, None, "Invalid Token");
    }
    let faults = state.faults.clone();
    if hit(n, faults.rate_limit_percent) {
        logged.injected = Some(429);
        state.log.push(logged);
        return api_error(429, None, "Too Many Requests")
            .insert_header("Retry-After", faults.retry_after_secs.to_string().as_str())
            .insert_header("X-RateLimit-Limit", "1600")
            .insert_header("X-RateLimit-Remaining", "0");
    }
    if hit(n + 3, faults.server_error_percent) {
        logged.injected = Some(faults.server_error_status);
        state.log.push(logged);
        return api_error(faults.server_error_status, None, "Please try again");
    }
    state.log.push(logged);
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let body = body.unwrap_or(Value::Null);
    let (status, reply) = route(state, request, &method, &segs, &body);
    if method == "POST" && (200..300).contains(&status) && state.faults.lose_next_post_answers > 0 {
        state.faults.lose_next_post_answers -= 1;
        return reply.set_delay(faults.lost_answer_delay);
    }
    reply
}

fn route(state: &mut State, req: &Request, method: &str, segs: &[&str], body: &Value) -> Reply {
    let id = |i: usize| segs.get(i).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    match (method, segs) {
        ("GET", ["regions"]) => list(req, state.regions.clone()),
        ("GET", ["regions", "availability"]) => list(req, state.availability.clone()),
        ("GET", ["regions", r]) => find(&state.regions, |v| v["id"] == *r),
        // A plain array, not a page, as the API answers it.
        ("GET", ["regions", r, "availability"]) if state.regions.iter().any(|v| v["id"] == *r) => ok(Value::Array(
            state
                .availability
                .iter()
                .filter(|a| a["region"] == *r)
                .cloned()
                .collect(),
        )),
        ("GET", ["account"]) => ok(json!({"capabilities": state.account_capabilities, "company": "",
            "email": "owner@example.invalid", "euuid": "E1A4F1C2-0000-0000-0000-000000000000"})),
        ("GET", ["linode", "types"]) => list(req, state.types.clone()),
        ("GET", ["linode", "types", t]) => find(&state.types, |v| v["id"] == *t),
        ("GET", ["lke", "types"]) => list(req, state.lke_types.clone()),
        ("GET", ["nodebalancers", "types"]) => list(req, state.nodebalancer_types.clone()),
        ("GET", ["volumes", "types"]) => list(req, state.volume_types.clone()),
        ("GET", ["lke", "versions"]) => list(req, state.versions.iter().map(|v| json!({"id": v})).collect()),
        ("GET", ["lke", "clusters"]) => list(req, state.clusters.values().cloned().collect()),
        ("POST", ["lke", "clusters"]) => create_cluster(state, body),
        (_, ["lke", "clusters", _, ..]) if !state.clusters.contains_key(&id(2)) => not_found(),
        ("GET", ["lke", "clusters", _]) => ok(state.clusters[&id(2)].clone()),
        ("PUT", ["lke", "clusters", _]) => update_cluster(state, id(2), body),
        ("DELETE", ["lke", "clusters", _]) => delete_cluster(state, id(2)),
        ("GET", ["lke", "clusters", _, "kubeconfig"]) => kubeconfig(state, id(2)),
        ("GET", ["lke", "clusters", _, "control_plane_acl"]) => ok(json!({"acl": state
            .acls
            .get(&id(2))
            .cloned()
            .unwrap_or_else(|| json!({"enabled": false, "addresses": {"ipv4": [], "ipv6": []}}))})),
        ("PUT", ["lke", "clusters", _, "control_plane_acl"]) => {
            if !state
                .account_capabilities
                .iter()
                .any(|c| c == "LKE Network Access Control List (IP ACL)")
            {
                return err(
                    400,
                    Some("acl"),
                    "Control plane ACLs are not available for this account",
                );
            }
            state.acls.insert(id(2), body["acl"].clone());
            ok(json!({"acl": body["acl"]}))
        }
        ("GET", ["lke", "clusters", c, "api-endpoints"]) => list(
            req,
            vec![json!({"endpoint": format!("https://{c}.lke.fake.invalid:443")})],
        ),
        ("GET", ["lke", "clusters", _, "pools"]) => list(req, pools_of(state, id(2))),
        ("POST", ["lke", "clusters", _, "pools"]) => {
            let region = state.clusters[&id(2)]["region"].as_str().unwrap_or("").to_string();
            match make_pool(state, id(2), &region, body) {
                Ok(pool) => ok(pool),
                Err(Invalid(field, reason)) => err(400, Some(field), reason),
            }
        }
        (_, ["lke", "clusters", _, "pools", _]) if state.pools.get(&id(4)).is_none_or(|p| p["cluster_id"] != id(2)) => {
            not_found()
        }
        ("GET", ["lke", "clusters", _, "pools", _]) => ok(pool_view(&state.pools[&id(4)])),
        ("PUT", ["lke", "clusters", _, "pools", _]) => update_pool(state, id(4), body),
        ("DELETE", ["lke", "clusters", _, "pools", _]) => {
            delete_pool(state, id(4));
            ok(json!({}))
        }
        ("POST", ["lke", "clusters", _, "recycle"]) => nodes::recycle(state, id(2), None, None),
        ("POST", ["lke", "clusters", _, "pools", _, "recycle"]) => nodes::recycle(state, id(2), Some(id(4)), None),
        ("POST", ["lke", "clusters", _, "nodes", node, "recycle"]) => nodes::recycle(state, id(2), None, Some(node)),
        ("DELETE", ["lke", "clusters", _, "nodes", node]) => nodes::delete_node(state, id(2), node),
        ("GET", ["lke", "clusters", _, "nodes", node]) => state
            .pools
            .values()
            .flat_map(|p| p["nodes"].as_array().cloned().unwrap_or_default())
            .find(|n| n["id"] == *node)
            .map_or_else(not_found, ok),
        ("GET", ["linode", "instances"]) => list(req, state.instances.values().cloned().collect()),
        ("GET", ["linode", "instances", _]) => state.instances.get(&id(2)).cloned().map_or_else(not_found, ok),
        ("GET", ["linode", "instances", _, "ips"]) => match state.instances.get(&id(2)) {
            Some(i) => ok(json!({
                "ipv4": {
                    "public": [{"address": i["ipv4"][0], "prefix": 24, "public": true, "type": "ipv4"}],
                    "private": [{"address": i["ipv4"][1], "prefix": 17, "public": false, "type": "ipv4"}],
                    "shared": [], "reserved": [], "vpc": []
                },
                "ipv6": {"slaac": null, "link_local": null, "global": []}
            })),
            None => not_found(),
        },
        ("GET", ["nodebalancers"]) => list(req, state.nodebalancers.values().cloned().collect()),
        ("GET", ["nodebalancers", _]) => state.nodebalancers.get(&id(1)).cloned().map_or_else(not_found, ok),
        ("DELETE", ["nodebalancers", _]) => match state.nodebalancers.remove(&id(1)) {
            Some(_) => {
                detach_entity(state, id(1), "nodebalancer");
                ok(json!({}))
            }
            None => not_found(),
        },
        ("GET", ["volumes"]) => list(req, state.volumes.values().cloned().collect()),
        ("DELETE", ["volumes", _]) => state.volumes.remove(&id(1)).map_or_else(not_found, |_| ok(json!({}))),
        ("GET", ["tags"]) => list(req, state.tags.iter().map(|t| json!({"label": t})).collect()),
        ("POST", ["tags"]) => create_tag(state, body),
        ("DELETE", ["tags", label]) => delete_tag(state, label),
        (_, ["networking", "firewalls", ..]) => firewalls(state, req, method, segs, body),
        _ => err(404, None, "Not found"),
    }
}

fn find(items: &[Value], pred: impl Fn(&Value) -> bool) -> Reply {
    items.iter().find(|v| pred(v)).cloned().map_or_else(not_found, ok)
}

fn create_cluster(state: &mut State, body: &Value) -> Reply {
    let label = body["label"].as_str().unwrap_or_default().to_string();
    let region = body["region"].as_str().unwrap_or_default().to_string();
    let version = body["k8s_version"].as_str().unwrap_or_default().to_string();
    if label.is_empty() {
        return err(400, Some("label"), "label is required");
    }
    if state.clusters.values().any(|c| c["label"] == label.as_str()) {
        return err(400, Some("label"), "Label must be unique");
    }
    let region_ok = state.regions.iter().any(|r| {
        r["id"] == region.as_str()
            && r["capabilities"]
                .as_array()
                .is_some_and(|c| c.contains(&json!("Kubernetes")))
    });
    if !region_ok {
        return err(400, Some("region"), "Kubernetes is not available in this region");
    }
    if !state.versions.contains(&version) {
        return err(400, Some("k8s_version"), "Invalid Kubernetes version");
    }
    let pools = body["node_pools"].as_array().cloned().unwrap_or_default();
    if pools.is_empty() {
        return err(400, Some("node_pools"), "At least one node pool is required");
    }
    if let Some(refused) = control_plane_refused(state, body) {
        return refused;
    }
    let id = state.id();
    let ha = body["control_plane"]["high_availability"].as_bool().unwrap_or(false);
    let cluster = json!({"id": id, "label": label, "region": region, "k8s_version": version,
        "tags": body["tags"].as_array().cloned().unwrap_or_default(), "status": "ready",
        "control_plane": {"high_availability": ha}, "created": WHEN, "updated": WHEN, "tier": "standard"});
    state.clusters.insert(id, cluster.clone());
    if body["control_plane"]["acl"].is_object() {
        state.acls.insert(id, body["control_plane"]["acl"].clone());
    }
    state.kubeconfig_pending.insert(id, state.kubeconfig_not_ready_polls);
    for spec in &pools {
        if let Err(Invalid(field, reason)) = make_pool(state, id, &region, spec) {
            delete_cluster(state, id);
            return err(400, Some(&format!("node_pools.{field}")), reason);
        }
    }
    ok(cluster)
}

/// The API refuses an HA control plane or a control-plane ACL when the account lacks the capability
/// (they are account capabilities; regions never list them).
fn control_plane_refused(state: &State, body: &Value) -> Option<Reply> {
    let has = |cap: &str| state.account_capabilities.iter().any(|c| c == cap);
    if body["control_plane"]["high_availability"] == json!(true) && !has("LKE HA Control Planes") {
        return Some(err(
            400,
            Some("control_plane.high_availability"),
            "HA control planes are not available for this account",
        ));
    }
    if body["control_plane"]["acl"].is_object() && !has("LKE Network Access Control List (IP ACL)") {
        return Some(err(
            400,
            Some("control_plane.acl"),
            "Control plane ACLs are not available for this account",
        ));
    }
    None
}

fn update_cluster(state: &mut State, id: u64, body: &Value) -> Reply {
    if let Some(refused) = control_plane_refused(state, body) {
        return refused;
    }
    let Some(have) = state
        .clusters
        .get(&id)
        .map(|c| c["k8s_version"].as_str().unwrap_or_default().to_string())
    else {
        return not_found();
    };
    if let Some(want) = body["k8s_version"].as_str()
        && have != want
        && let Some(why) = nodes::refused_upgrade(state, &have, want)
    {
        return err(400, Some("k8s_version"), why);
    }
    let Some(cluster) = state.clusters.get_mut(&id) else {
        return not_found();
    };
    for key in ["label", "tags", "k8s_version"] {
        if !body[key].is_null() {
            cluster[key] = body[key].clone();
        }
    }
    if let Some(ha) = body["control_plane"]["high_availability"].as_bool() {
        cluster["control_plane"]["high_availability"] = json!(ha);
    }
    ok(cluster.clone())
}

fn delete_cluster(state: &mut State, id: u64) -> Reply {
    state.clusters.remove(&id);
    state.acls.remove(&id);
    state.kubeconfig_pending.remove(&id);
    let pool_ids: Vec<u64> = state
        .pools
        .iter()
        .filter(|(_, p)| p["cluster_id"] == id)
        .map(|(k, _)| *k)
        .collect();
    for pool in pool_ids {
        delete_pool(state, pool);
    }
    if state.cluster_delete_removes_nodebalancers {
        let owned: Vec<u64> = state
            .nodebalancers
            .iter()
            .filter(|(_, nb)| nb["lke_cluster"]["id"] == id)
            .map(|(k, _)| *k)
            .collect();
        for nb in owned {
            state.nodebalancers.remove(&nb);
            detach_entity(state, nb, "nodebalancer");
        }
    }
    ok(json!({}))
}

fn kubeconfig(state: &mut State, id: u64) -> Reply {
    let pending = state.kubeconfig_pending.entry(id).or_insert(0);
    if *pending > 0 {
        *pending -= 1;
        let retry = state.kubeconfig_retry_after_secs.to_string();
        let (status, reply) = err(
            503,
            None,
            "Cluster kubeconfig is not yet available. Please try again later.",
        );
        return (status, reply.insert_header("Retry-After", retry.as_str()));
    }
    // Shaped like LKE's: cluster `lke<id>`, user `lke<id>-admin`, context `lke<id>-ctx`.
    let label = state
        .clusters
        .get(&id)
        .and_then(|c| c["label"].as_str())
        .unwrap_or_default()
        .to_string();
    let server = state
        .kube_servers
        .get(&label)
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:1".to_string());
    let yaml = format!(
        "apiVersion: v1\nkind: Config\npreferences: {{}}\nclusters:\n- name: lke{id}\n  cluster:\n    certificate-authority-data: TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Cg==\n    server: {server}\nusers:\n- name: lke{id}-admin\n  user:\n    as-user-extra: {{}}\n    token: fake-k8s-token-{id}\ncontexts:\n- name: lke{id}-ctx\n  context:\n    cluster: lke{id}\n    namespace: default\n    user: lke{id}-admin\ncurrent-context: lke{id}-ctx\n"
    );
    ok(json!({"kubeconfig": base64::engine::general_purpose::STANDARD.encode(yaml)}))
}

fn pool_view(pool: &Value) -> Value {
    let mut pool = pool.clone();
    if let Some(map) = pool.as_object_mut() {
        map.remove("cluster_id");
        map.remove("region");
    }
    pool
}

fn pools_of(state: &State, cluster: u64) -> Vec<Value> {
    state
        .pools
        .values()
        .filter(|p| p["cluster_id"] == cluster)
        .map(pool_view)
        .collect()
}

fn make_pool(state: &mut State, cluster: u64, region: &str, spec: &Value) -> Result<Value, Invalid> {
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
    pools::check(spec)?;
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

pub(super) fn resize_pool(state: &mut State, pool: &mut Value, count: u64) {
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

fn update_pool(state: &mut State, id: u64, body: &Value) -> Reply {
    let Some(mut pool) = state.pools.get(&id).cloned() else {
        return not_found();
    };
    if let Err(Invalid(field, reason)) = pools::check(body) {
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

fn delete_pool(state: &mut State, id: u64) {
    if let Some(pool) = state.pools.remove(&id) {
        for node in pool["nodes"].as_array().cloned().unwrap_or_default() {
            remove_instance(state, node["instance_id"].as_u64().unwrap_or(0));
        }
    }
}

pub(super) fn remove_instance(state: &mut State, id: u64) {
    state.instances.remove(&id);
    state.node_versions.remove(&id);
    detach_entity(state, id, "linode");
}

fn detach_entity(state: &mut State, id: u64, kind: &str) {
    state
        .devices
        .retain(|_, d| !(d["entity"]["id"] == id && d["entity"]["type"] == kind));
}

fn create_tag(state: &mut State, body: &Value) -> Reply {
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

fn delete_tag(state: &mut State, label: &str) -> Reply {
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

fn firewalls(state: &mut State, req: &Request, method: &str, segs: &[&str], body: &Value) -> Reply {
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
