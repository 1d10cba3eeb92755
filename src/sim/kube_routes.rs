//! A simulated Kubernetes API's request handling: every request logged, port-forward upgrades to
//! [`super::kube_portforward`], the service proxy failing as on an LKE hub (its control plane sits
//! outside the pod network, so default-deny NetworkPolicies drop what it proxies), and the REST API:
//! discovery, and GET/LIST/WATCH/PATCH/POST/PUT/DELETE on the stored objects.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::http::{Handler, Reply, Request};
use super::kube::{Key, Logged, State, WATCH_PAUSE, lock, selected, status};
use super::kube_immutable as immutable;
use super::kube_kinds::{Kind, api_version};
use super::kube_portforward;

/// The [`Handler`] of one simulated API server.
pub(crate) struct KubeHandler(pub(crate) Arc<Mutex<State>>);

impl Handler for KubeHandler {
    fn is_upgrade(&self, req: &hyper::Request<Incoming>) -> bool {
        kube_portforward::is_upgrade(req)
    }

    fn upgrade(&self, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{}", req.uri())) else {
            return Reply::new(400).into_response();
        };
        log(&self.0, req.method().as_str(), &url, req.headers(), &[]);
        kube_portforward::upgrade(&self.0, &url, req)
    }

    fn handle(&self, req: &Request) -> Reply {
        log(&self.0, req.method.as_str(), &req.url, &req.headers, &req.body);
        if let Some(service) = service_proxy(req.url.path()) {
            // The API server dials the Service's endpoint from outside the pod network; the hub's
            // default-deny policies drop it, and the dial times out.
            return status(
                503,
                "ServiceUnavailable",
                format!("error trying to reach service: dial tcp {service}: i/o timeout"),
            );
        }
        respond(&self.0, req)
    }
}

/// `NAME:PORT` of a service-proxy path.
fn service_proxy(path: &str) -> Option<&str> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "v1", "namespaces", _, "services", service, "proxy", ..] => Some(service),
        _ => None,
    }
}

fn log(state: &Mutex<State>, method: &str, url: &url::Url, headers: &http::HeaderMap, body: &[u8]) {
    let query: BTreeMap<String, String> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    lock(state).log.push(Logged {
        method: method.to_string(),
        path: url.path().to_string(),
        query,
        content_type,
        body: String::from_utf8_lossy(body).into_owned(),
    });
}

fn discovery(st: &State, segs: &[&str]) -> Option<Reply> {
    let resources = |group: &str, version: &str| {
        let list: Vec<Value> = st.kinds.iter().filter(|k| k.group == group && k.version == version).map(|k| {
            json!({"name": k.plural, "singularName": k.kind.to_lowercase(), "namespaced": k.namespaced, "kind": k.kind,
                   "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]})
        }).collect();
        let gv = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        (!list.is_empty())
            .then(|| json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list}))
    };
    let body = match segs {
        ["api"] => json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:443"}]}),
        ["api", "v1"] => resources("", "v1")?,
        ["apis"] => {
            let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for k in st.kinds.iter().filter(|k| !k.group.is_empty()) {
                let versions = groups.entry(&k.group).or_default();
                if !versions.contains(&k.version.as_str()) {
                    versions.push(&k.version);
                }
            }
            let groups: Vec<Value> = groups
                .iter()
                .map(|(g, vs)| {
                    let versions: Vec<Value> = vs
                        .iter()
                        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                        .collect();
                    json!({"name": g, "versions": versions, "preferredVersion": versions[0]})
                })
                .collect();
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        }
        ["apis", group, version] => resources(group, version)?,
        _ => return None,
    };
    Some(Reply::new(200).set_body_json(body))
}

/// An object as a client sent it, minus `metadata.generation`: the server owns that field (it
/// starts at 1 and goes up when the spec changes), whatever a client writes into it.
fn from_client(mut obj: Value) -> Value {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("generation");
    }
    obj
}

/// Applies a JSON merge patch (RFC 7386) to `target`.
fn merge(target: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Some(map) = target.as_object_mut() {
        for (k, v) in patch {
            if v.is_null() {
                map.remove(k);
            } else {
                merge(map.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// The real server's 422 for a write that changes an immutable field of the stored object.
fn refuse_immutable(st: &State, k: &Kind, key: &Key, new: &Value) -> Option<Reply> {
    immutable::check(k, st.objects.get(key)?, new)
}

/// The REST API over the stored objects: discovery, then GET/LIST/WATCH/PATCH/POST/PUT/DELETE.
fn respond(state: &Mutex<State>, req: &Request) -> Reply {
    let mut st = lock(state);
    st.purge_expired_deletes();
    let query: BTreeMap<String, String> = req
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let content_type = req
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let segs: Vec<&str> = req.url.path().trim_matches('/').split('/').collect();
    if let Some(r) = discovery(&st, &segs) {
        return r;
    }
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return status(404, "NotFound", format!("no route {}", req.url.path())),
    };
    let (ns, plural, name, sub) = match rest {
        ["namespaces", ns, plural, rest @ ..] if !matches!(*plural, "status" | "finalize") => {
            (Some(*ns), *plural, rest.first().copied(), rest.get(1).copied())
        }
        [plural, rest @ ..] => (None, *plural, rest.first().copied(), rest.get(1).copied()),
        [] => return status(404, "NotFound", "no resource".into()),
    };
    let Some(k) = st.kind_by_plural(group, version, plural) else {
        return status(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({plural})"),
        );
    };
    let key = |name: &str| {
        (
            k.group.clone(),
            k.plural.clone(),
            ns.unwrap_or_default().to_string(),
            name.to_string(),
        )
    };
    let what = |name: &str| {
        format!(
            "{}{} \"{name}\"",
            k.plural,
            if k.group.is_empty() {
                String::new()
            } else {
                format!(".{}", k.group)
            }
        )
    };
    let dry_run = query.get("dryRun").is_some_and(|v| v == "All");
    let ns_missing = |st: &State| {
        ns.filter(|ns| {
            !st.objects
                .contains_key(&(String::new(), "namespaces".into(), String::new(), ns.to_string()))
        })
    };
    match (req.method.as_str(), name) {
        ("GET", Some(name)) => match st.objects.get(&key(name)) {
            Some(obj) => Reply::new(200).set_body_json(obj),
            None => status(404, "NotFound", format!("{} not found", what(name))),
        },
        ("GET", None) => {
            let matches = |key: &Key, obj: &Value| {
                key.0 == k.group
                    && key.1 == k.plural
                    && ns.is_none_or(|ns| key.2 == ns)
                    && selected(obj, query.get("labelSelector"), false)
                    && selected(obj, query.get("fieldSelector"), true)
            };
            if query.get("watch").is_some_and(|w| w == "true" || w == "1") {
                let since: u64 = query.get("resourceVersion").and_then(|v| v.parse().ok()).unwrap_or(0);
                let lines: String = st
                    .changes
                    .iter()
                    .filter(|(rv, _, key, obj)| *rv > since && matches(key, obj))
                    .map(|(_, t, _, obj)| format!("{}\n", json!({"type": t, "object": obj})))
                    .collect();
                let template = Reply::new(200).set_body_raw(lines.clone(), "application/json");
                return if lines.is_empty() {
                    template.set_delay(WATCH_PAUSE)
                } else {
                    template
                };
            }
            let items: Vec<&Value> = st
                .objects
                .iter()
                .filter(|(key, obj)| matches(key, obj))
                .map(|(_, o)| o)
                .collect();
            Reply::new(200).set_body_json(json!({"kind": format!("{}List", k.kind), "apiVersion": api_version(&k),
                    "metadata": {"resourceVersion": st.rv.to_string()}, "items": items}))
        }
        ("PATCH", Some(name))
            if matches!(
                content_type.as_deref(),
                Some("application/merge-patch+json" | "application/strategic-merge-patch+json")
            ) =>
        {
            // Both as a JSON merge patch (RFC 7386): maps merge, lists are replaced, null removes.
            let Ok(patch) = serde_json::from_slice::<Value>(&req.body) else {
                return status(400, "BadRequest", "the merge patch does not parse".into());
            };
            let Some(mut obj) = st.objects.get(&key(name)).cloned() else {
                return status(404, "NotFound", format!("{} not found", what(name)));
            };
            if sub == Some("status") {
                if let Some(status) = patch.get("status") {
                    merge(&mut obj["status"], status);
                }
            } else {
                merge(&mut obj, &patch);
            }
            if let Some(refused) = refuse_immutable(&st, &k, &key(name), &obj) {
                return refused;
            }
            Reply::new(200).set_body_json(st.write(&k, key(name), from_client(obj), dry_run))
        }
        ("PATCH", Some(name)) => {
            if content_type.as_deref() != Some("application/apply-patch+yaml") {
                return status(
                    415,
                    "UnsupportedMediaType",
                    format!("the simulator only takes apply and merge patches, not {content_type:?}"),
                );
            }
            if !query.contains_key("fieldManager") {
                return status(400, "BadRequest", "fieldManager is required for apply requests".into());
            }
            let Ok(mut obj) = serde_yaml_ng::from_slice::<Value>(&req.body) else {
                return status(400, "BadRequest", "the apply patch does not parse".into());
            };
            super::hpa::keep_scale(&st, &key(name), &mut obj);
            if let Some(ns) = ns_missing(&st) {
                return status(404, "NotFound", format!("namespaces \"{ns}\" not found"));
            }
            if let Some(refused) = refuse_immutable(&st, &k, &key(name), &obj) {
                return refused;
            }
            Reply::new(200).set_body_json(st.write(&k, key(name), from_client(obj), dry_run))
        }
        // The Eviction API (`kubectl drain`): PodDisruptionBudgets checked, the pod then terminates.
        ("POST", Some(name)) if plural == "pods" && sub == Some("eviction") => {
            super::disruption::evict(&mut st, &key(name), what(name), dry_run)
        }
        ("POST", None) => {
            let Ok(obj) = serde_json::from_slice::<Value>(&req.body) else {
                return status(400, "BadRequest", "the body does not parse".into());
            };
            let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_string();
            if let Some(ns) = ns_missing(&st) {
                return status(404, "NotFound", format!("namespaces \"{ns}\" not found"));
            }
            if st.objects.contains_key(&key(&name)) {
                return status(409, "AlreadyExists", format!("{} already exists", what(&name)));
            }
            Reply::new(201).set_body_json(st.write(&k, key(&name), from_client(obj), dry_run))
        }
        ("PUT", Some(name)) => {
            let Ok(obj) = serde_json::from_slice::<Value>(&req.body) else {
                return status(400, "BadRequest", "the body does not parse".into());
            };
            let Some(current) = st.objects.get(&key(name)).cloned() else {
                return status(404, "NotFound", format!("{} not found", what(name)));
            };
            let obj = if sub == Some("status") {
                // The status subresource takes only the status; the generation stays.
                let mut current = current;
                current["status"] = obj["status"].clone();
                current
            } else {
                if let Some(refused) = refuse_immutable(&st, &k, &key(name), &obj) {
                    return refused;
                }
                from_client(obj)
            };
            Reply::new(200).set_body_json(st.write(&k, key(name), obj, dry_run))
        }
        ("DELETE", Some(name)) => {
            let key = key(name);
            let Some(obj) = st.objects.get(&key).cloned() else {
                return status(404, "NotFound", format!("{} not found", what(name)));
            };
            if immutable::orphans(&req.body, query.get("propagationPolicy")) {
                immutable::orphan_dependents(&mut st, &obj["metadata"]["uid"]);
            }
            match st.delete_delays.remove(&key) {
                Some(delay) => {
                    let mut obj = obj;
                    obj["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
                    st.rv += 1;
                    obj["metadata"]["resourceVersion"] = json!(st.rv.to_string());
                    st.objects.insert(key.clone(), obj.clone());
                    st.record("MODIFIED", key.clone(), obj.clone());
                    st.pending_deletes.push((key, Instant::now() + delay));
                    Reply::new(202).set_body_json(obj)
                }
                None => Reply::new(200).set_body_json(st.remove(&key)),
            }
        }
        (m, _) => status(405, "MethodNotAllowed", format!("{m} not supported by the simulator")),
    }
}
