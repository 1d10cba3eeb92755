//! Request handlers of the simulated Linode API: logging, authentication and fault injection, then
//! the routes over `State` (clusters here; pools, nodes, firewalls and tags in their own modules).

use base64::Engine as _;
use serde_json::{Value, json};

use super::http::{Reply, Request};
use super::linode::{Logged, State};
use super::linode_acl as acl;
use super::linode_firewalls::{create_tag, delete_tag, detach_entity, firewalls};
use super::linode_limits::Verdict;
use super::linode_list::{api_error, paginate};
use super::linode_nodes as nodes;
use super::linode_pools::{Invalid, delete_pool, make_pool, pool_view, pools_of, update_pool};

/// The timestamp the simulator gives what it creates.
pub(crate) const WHEN: &str = "2026-01-01T00:00:00";

pub(crate) fn ok(v: Value) -> Reply {
    Reply::new(200).set_body_json(v)
}

pub(crate) fn err(status: u16, field: Option<&str>, reason: &str) -> Reply {
    api_error(status, field, reason)
}

pub(crate) fn not_found() -> Reply {
    err(404, None, "Not found")
}

pub(crate) fn list(request: &Request, items: Vec<Value>) -> Reply {
    paginate(request, items)
}

/// Spreads `percent`% of request numbers evenly and deterministically.
fn hit(n: u64, percent: u32) -> bool {
    let p = u64::from(percent.min(100));
    (n + 1) * p / 100 != n * p / 100
}

/// Handles one request: log, auth, fault injection, then the resource handlers.
pub(crate) fn handle(state: &mut State, request: &Request) -> Reply {
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
        status: 0,
        answer: None,
    };

    let bearer = format!("Bearer {}", state.token);
    if request.headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str()) {
        state.log.push(Logged {
            path: format!("{path} (401)"),
            ..logged
        });
        return api_error(401, None, "Invalid Token");
    }
    if let Some(scopes) = &state.token_scopes
        && !super::linode_scopes::allows(scopes, &method, &path)
    {
        state.log.push(Logged {
            path: format!("{path} (401 scope)"),
            ..logged
        });
        return api_error(401, None, super::linode_scopes::NOT_AUTHORIZED);
    }
    // The account's own limits first: a list is a GET that pages (`page` in the query).
    let list = method == "GET" && request.url.query_pairs().any(|(k, _)| k == "page");
    let (limit, remaining) = match state.limits.admit(std::time::Instant::now(), list) {
        Verdict::Allowed { limit, remaining } => (limit, remaining),
        Verdict::Refused { limit, retry_after } => {
            logged.injected = Some(429);
            state.log.push(logged);
            return api_error(429, None, "Too Many Requests")
                .insert_header("Retry-After", retry_after.to_string().as_str())
                .insert_header("X-RateLimit-Limit", limit.to_string().as_str())
                .insert_header("X-RateLimit-Remaining", "0");
        }
    };
    let faults = state.faults.clone();
    if hit(n, faults.rate_limit_percent) {
        logged.injected = Some(429);
        state.log.push(logged);
        return api_error(429, None, "Too Many Requests")
            .insert_header("Retry-After", retry_after_value(faults.retry_after).as_str())
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
    let reply = route(state, request, &method, &segs, &body);
    let status = reply.status();
    if let Some(logged) = state.log.last_mut() {
        logged.status = status;
        logged.answer = serde_json::from_slice(reply.body()).ok();
    }
    let reply = reply
        .insert_header("X-RateLimit-Limit", limit.to_string().as_str())
        .insert_header("X-RateLimit-Remaining", remaining.to_string().as_str());
    if method == "POST" && (200..300).contains(&status) && state.faults.lose_next_post_answers > 0 {
        state.faults.lose_next_post_answers -= 1;
        return reply.set_delay(faults.lost_answer_delay);
    }
    let lost_here = |prefix: &String| path.starts_with(prefix.as_str());
    if method == "POST" && (200..300).contains(&status) && faults.lose_answers_to.as_ref().is_some_and(lost_here) {
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
        ("GET", ["lke", "clusters", _, "control_plane_acl"]) => acl::get(state, id(2)),
        ("PUT", ["lke", "clusters", _, "control_plane_acl"]) => acl::put(state, id(2), body),
        ("GET", ["lke", "clusters", c, "api-endpoints"]) => list(
            req,
            vec![json!({"endpoint": format!("https://{c}.lke.sim.invalid:443")})],
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
        ("DELETE", ["volumes", _]) if state.faults.volumes_stuck && state.volumes.contains_key(&id(1)) => ok(json!({})),
        ("DELETE", ["volumes", _]) => state.volumes.remove(&id(1)).map_or_else(not_found, |_| ok(json!({}))),
        ("GET", ["tags"]) => list(req, state.tags.iter().map(|t| json!({"label": t})).collect()),
        ("POST", ["tags"]) => create_tag(state, body),
        ("DELETE", ["tags", label]) => delete_tag(state, label),
        (_, ["networking", "firewalls", ..]) => firewalls(state, req, method, segs, body),
        _ => super::object_storage::route(state, req, method, segs, body).unwrap_or_else(not_found),
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
    if state
        .regions
        .iter()
        .any(|r| r["id"] == region.as_str() && r["status"] == "outage")
    {
        return err(
            400,
            Some("region"),
            "This region is currently unavailable (outage); try again later or choose another region",
        );
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
    acl::from_cluster_body(state, id, body);
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
    if body["control_plane"]["acl"].is_object() && !has(acl::CAPABILITY) {
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
    let cluster = cluster.clone();
    acl::from_cluster_body(state, id, body);
    ok(cluster)
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
    let label = state
        .clusters
        .get(&id)
        .and_then(|c| c["label"].as_str())
        .unwrap_or_default()
        .to_string();
    let no_api = state.apis_on_demand && !state.kube_servers.contains_key(&label);
    let pending = state.kubeconfig_pending.entry(id).or_insert(0);
    if *pending > 0 || no_api {
        *pending = pending.saturating_sub(1);
        let retry = state.kubeconfig_retry_after_secs.to_string();
        return err(
            503,
            None,
            "Cluster kubeconfig is not yet available. Please try again later.",
        )
        .insert_header("Retry-After", retry.as_str());
    }
    // Shaped like LKE's: cluster `lke<id>`, user `lke<id>-admin`, context `lke<id>-ctx`.
    let server = state
        .kube_servers
        .get(&label)
        .cloned()
        .unwrap_or_else(|| "https://127.0.0.1:1".to_string());
    // That cluster's API's token (random per API, from the operating system's CSPRNG); a cluster whose API
    // does not run gets a placeholder nothing accepts.
    let token = super::guard::token_for(&server).unwrap_or_else(|| "sim-k8s-no-api".to_string());
    // The CA of the simulated APIs' serving certificates (made once per simulator process).
    let ca = match super::kube_tls::identity() {
        Ok(tls) => base64::engine::general_purpose::STANDARD.encode(tls.ca_pem()),
        Err(_) => return err(500, None, "the simulator has no TLS identity"),
    };
    let yaml = format!(
        "apiVersion: v1\nkind: Config\npreferences: {{}}\nclusters:\n- name: lke{id}\n  cluster:\n    certificate-authority-data: {ca}\n    server: {server}\nusers:\n- name: lke{id}-admin\n  user:\n    as-user-extra: {{}}\n    token: {token}\ncontexts:\n- name: lke{id}-ctx\n  context:\n    cluster: lke{id}\n    namespace: default\n    user: lke{id}-admin\ncurrent-context: lke{id}-ctx\n"
    );
    ok(json!({"kubeconfig": base64::engine::general_purpose::STANDARD.encode(yaml)}))
}

/// A `Retry-After` value: whole seconds as Linode sends them, or decimal seconds below one (`0.05`).
fn retry_after_value(wait: std::time::Duration) -> String {
    if wait.subsec_millis() == 0 || wait.as_secs() > 0 {
        wait.as_secs().to_string()
    } else {
        format!("{:.3}", wait.as_secs_f64())
    }
}
