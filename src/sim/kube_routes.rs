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
use super::kube_defaults as defaults;
use super::kube_discovery::discovery;
use super::kube_fields as fields;
use super::kube_immutable as immutable;
use super::kube_kinds::{Kind, api_version};
use super::kube_portforward;
use super::kube_table::{table, wants_table};

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

/// An object as a client sent it, minus `metadata.generation` and `creationTimestamp`: the server
/// owns those (the generation starts at 1 and goes up when the spec changes; the creation time is
/// when it was first stored), whatever a client writes into them.
fn from_client(mut obj: Value) -> Value {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("generation");
        meta.remove("creationTimestamp");
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
    if content_type.as_deref().is_some_and(|t| t.contains("protobuf")) {
        // kube-apiserver takes protobuf too; the simulator stores JSON only.
        return status(
            415,
            "UnsupportedMediaType",
            "lkeobs sim takes JSON and YAML bodies, not protobuf (`kubectl create <kind>` sends protobuf: \
             use `kubectl apply` instead)"
                .into(),
        );
    }
    let segs: Vec<&str> = req.url.path().trim_matches('/').split('/').collect();
    if let Some(r) = discovery(&st, &segs).or_else(|| super::kube_openapi::answer(&st, &segs, req.header("accept"))) {
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
    let manager = || fields::manager_of(query.get("fieldManager"), req.header("user-agent"));
    let ns_missing = |st: &State| {
        ns.filter(|ns| {
            !st.objects
                .contains_key(&(String::new(), "namespaces".into(), String::new(), ns.to_string()))
        })
    };
    match (req.method.as_str(), name) {
        ("GET", Some(name)) if plural == "pods" && sub == Some("log") => match st.objects.get(&key(name)) {
            // kube-apiserver's answer for a container with nothing to stream (as for one not started).
            Some(pod) => {
                let container = query
                    .get("container")
                    .cloned()
                    .or_else(|| pod["spec"]["containers"][0]["name"].as_str().map(str::to_string));
                status(
                    400,
                    "BadRequest",
                    format!(
                        "container \"{}\" in pod \"{name}\" has no logs: no container runs here: lkeobs sim \
                         simulates pods",
                        container.unwrap_or_default()
                    ),
                )
            }
            None => status(404, "NotFound", format!("{} not found", what(name))),
        },
        (_, Some(name)) if sub == Some("scale") && matches!(plural, "deployments" | "statefulsets") => {
            let manager = fields::manager_of(query.get("fieldManager"), req.header("user-agent"));
            scale(&mut st, &k, key(name), &what(name), req, &manager, dry_run)
        }
        ("GET", Some(name)) => match st.objects.get(&key(name)) {
            Some(obj) if wants_table(req.header("accept")) => {
                Reply::new(200).set_body_json(table(&k, &[obj], query.get("includeObject").map(String::as_str), None))
            }
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
            if wants_table(req.header("accept")) {
                let include = query.get("includeObject").map(String::as_str);
                return Reply::new(200).set_body_json(table(&k, &items, include, Some(st.rv.to_string())));
            }
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
            let live = st.objects.get(&key(name));
            let obj = fields::update(live, obj, &manager(), sub, &api_version(&k));
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
            // Field ownership (`managedFields`) keeps what another manager set, like the HPA's replicas.
            let Ok(obj) = serde_yaml_ng::from_slice::<Value>(&req.body) else {
                return status(400, "BadRequest", "the apply patch does not parse".into());
            };
            if let Some(ns) = ns_missing(&st) {
                return status(404, "NotFound", format!("namespaces \"{ns}\" not found"));
            }
            let Some(field_manager) = query.get("fieldManager") else {
                return status(400, "BadRequest", "fieldManager is required for apply requests".into());
            };
            let force = query.get("force").is_some_and(|f| f == "true");
            let live = st.objects.get(&key(name));
            let creating = live.is_none();
            let mut obj = match fields::apply(live, &from_client(obj), field_manager, force, &api_version(&k)) {
                Ok(obj) => obj,
                Err(conflict) => return conflict,
            };
            if creating {
                defaults::on_create(&st, &k, &mut obj);
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
            let mut obj = fields::update(None, from_client(obj), &manager(), None, &api_version(&k));
            defaults::on_create(&st, &k, &mut obj);
            Reply::new(201).set_body_json(st.write(&k, key(&name), obj, dry_run))
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
                fields::update(Some(&current), from_client(obj), &manager(), None, &api_version(&k))
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
                    obj["metadata"]["deletionTimestamp"] = json!(super::kube_clock::now_rfc3339());
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

/// The `scale` subresource of a Deployment or StatefulSet (`autoscaling/v1 Scale`): GET, and PUT or a
/// merge PATCH of `spec.replicas`, written by `manager` (the HorizontalPodAutoscaler, `kubectl scale`).
fn scale(st: &mut State, k: &Kind, key: Key, what: &str, req: &Request, manager: &str, dry_run: bool) -> Reply {
    let Some(live) = st.objects.get(&key).cloned() else {
        return status(404, "NotFound", format!("{what} not found"));
    };
    let as_scale = |obj: &Value| {
        let meta = &obj["metadata"];
        let selector: Vec<String> = obj["spec"]["selector"]["matchLabels"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        json!({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": {"name": meta["name"],
            "namespace": meta["namespace"], "uid": meta["uid"], "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"]},
            "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
            "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector.join(",")}})
    };
    let replicas = match req.method.as_str() {
        "GET" => return Reply::new(200).set_body_json(as_scale(&live)),
        "PUT" | "PATCH" => serde_json::from_slice::<Value>(&req.body)
            .ok()
            .and_then(|b| b["spec"]["replicas"].as_i64()),
        m => return status(405, "MethodNotAllowed", format!("{m} not supported on scale")),
    };
    let Some(replicas) = replicas.filter(|r| *r >= 0) else {
        return status(
            422,
            "Invalid",
            "spec.replicas: a non-negative number is required".into(),
        );
    };
    let mut obj = live.clone();
    obj["spec"]["replicas"] = json!(replicas);
    let obj = fields::update(Some(&live), from_client(obj), manager, Some("scale"), &api_version(k));
    let stored = st.write(k, key, obj, dry_run);
    Reply::new(200).set_body_json(as_scale(&stored))
}
