//! A stateful, in-memory Kubernetes API server (hyper on 127.0.0.1 only) for the `k8s` tests.
//!
//! Its router ([`super::k8s_fake_server`]) serves
//! discovery (`/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`) for the kinds the stack uses
//! plus any CRD applied to it, and GET, LIST (label and field selectors), WATCH (from a
//! resourceVersion, ending after a short pause when nothing is new), server-side apply PATCH
//! (`application/apply-patch+yaml`; `dryRun=All` stores nothing), merge PATCH (JSON and strategic
//! merge patches, both applied as RFC 7386 merge patches), POST, PUT and DELETE
//! (optionally delayed, as a finalizer would). Namespaced writes need their Namespace to exist,
//! as on a real server. `metadata.generation` is the server's: 1 on create, +1 when a write
//! changes the spec, never taken from an API client (only from the [`K8sFake::put`] helper); a
//! write that changes an immutable field is refused as the real server refuses it (422,
//! `k8s_fake_immutable`); `PUT …/status` changes only the status. Port-forward to a pod reaches
//! the stand-in a test registered for its port ([`K8sFake::stand_in`]); the service proxy fails as
//! on an LKE hub behind default-deny NetworkPolicies. Every request is logged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use std::net::SocketAddr;

use kube::{Client, Config};
use lkeobs::k8s::K8s;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::k8s_fake_routes::api_version_matches;
use super::k8s_fake_server::Reply;

/// How long an empty watch stays open before it ends (and the client re-watches).
pub(super) const WATCH_PAUSE: Duration = Duration::from_millis(40);

/// `(group, version, plural, kind, namespaced)` of every built-in kind the fake serves.
pub(super) const BUILTIN: &[(&str, &str, &str, &str, bool)] = &[
    ("", "v1", "namespaces", "Namespace", false),
    ("", "v1", "nodes", "Node", false),
    ("", "v1", "persistentvolumes", "PersistentVolume", false),
    ("", "v1", "serviceaccounts", "ServiceAccount", true),
    ("", "v1", "configmaps", "ConfigMap", true),
    ("", "v1", "secrets", "Secret", true),
    ("", "v1", "services", "Service", true),
    ("", "v1", "pods", "Pod", true),
    ("", "v1", "events", "Event", true),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true),
    ("apps", "v1", "deployments", "Deployment", true),
    ("apps", "v1", "statefulsets", "StatefulSet", true),
    ("apps", "v1", "daemonsets", "DaemonSet", true),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
    ),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", false),
    ("node.k8s.io", "v1", "runtimeclasses", "RuntimeClass", false),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true),
    // No `v1beta1.metrics.k8s.io` is stored: a fresh LKE cluster has no metrics API.
    ("apiregistration.k8s.io", "v1", "apiservices", "APIService", false),
    (
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        true,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
    ),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Kind {
    pub(super) group: String,
    pub(super) version: String,
    pub(super) plural: String,
    pub(super) kind: String,
    pub(super) namespaced: bool,
}

/// Storage key: `(group, plural, namespace or "", name)`; the version is not part of it.
pub(super) type Key = (String, String, String, String);

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub content_type: Option<String>,
    pub body: String,
}

#[derive(Default)]
pub(super) struct State {
    pub(super) rv: u64,
    pub(super) kinds: Vec<Kind>,
    pub(super) objects: BTreeMap<Key, Value>,
    /// `(resourceVersion, ADDED|MODIFIED|DELETED, key, object)`, for watches.
    pub(super) changes: Vec<(u64, &'static str, Key, Value)>,
    pub(super) delete_delays: BTreeMap<Key, Duration>,
    pub(super) pending_deletes: Vec<(Key, Instant)>,
    pub(super) log: Vec<Logged>,
    /// `(namespace, pod, port)` → where that pod's loopback port is served in the test.
    pub(super) stand_ins: BTreeMap<(String, String, u16), SocketAddr>,
}

/// The fake API server. Dropping it stops the server.
pub struct K8sFake {
    addr: SocketAddr,
    server: JoinHandle<()>,
    state: Arc<Mutex<State>>,
}

impl Drop for K8sFake {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn status(code: u16, reason: &str, message: String) -> Reply {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    Reply::new(code).set_body_json(body)
}

pub(super) fn api_version(k: &Kind) -> String {
    if k.group.is_empty() {
        k.version.clone()
    } else {
        format!("{}/{}", k.group, k.version)
    }
}

/// Evaluates `a=b,c!=d,e,!f` (labels) or `metadata.name=x,type=Warning` (fields, dotted paths).
pub(super) fn selected(obj: &Value, selector: Option<&String>, fields: bool) -> bool {
    let Some(selector) = selector else { return true };
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        let get = |k: &str| -> Option<String> {
            if fields {
                let v = k.split('.').try_fold(obj, |v, p| v.get(p))?;
                Some(v.as_str().map_or_else(|| v.to_string(), str::to_string))
            } else {
                obj["metadata"]["labels"]
                    .get(k)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }
        };
        if let Some((k, v)) = term.split_once("!=") {
            get(k).as_deref() != Some(v)
        } else if let Some((k, v)) = term.split_once('=') {
            get(k.trim_end_matches('=')).as_deref() == Some(v.trim_start_matches('='))
        } else if let Some(k) = term.strip_prefix('!') {
            get(k).is_none()
        } else {
            get(term).is_some()
        }
    })
}

/// Everything but status and server-maintained metadata, to tell whether a write changes anything.
pub(super) fn content(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
        if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in [
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "generation",
                "managedFields",
            ] {
                m.remove(k);
            }
        }
    }
    v
}

pub(super) fn spec_of(v: &Value) -> Value {
    let mut c = content(v);
    if let Some(o) = c.as_object_mut() {
        o.remove("metadata");
    }
    c
}

impl State {
    pub(super) fn kind_by_plural(&self, group: &str, version: &str, plural: &str) -> Option<Kind> {
        self.kinds
            .iter()
            .find(|k| k.group == group && k.version == version && k.plural == plural)
            .cloned()
    }

    pub(super) fn kind_by_name(&self, api_version: &str, kind: &str) -> Option<Kind> {
        self.kinds
            .iter()
            .find(|k| api_version_matches(k, api_version) && k.kind == kind)
            .cloned()
    }

    pub(super) fn record(&mut self, kind: &'static str, key: Key, obj: Value) {
        self.changes.push((self.rv, kind, key, obj));
    }

    pub(super) fn purge_expired_deletes(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.pending_deletes.drain(..).partition(|(_, at)| *at <= now);
        self.pending_deletes = later;
        for (key, _) in due {
            self.remove(&key);
        }
    }

    pub(super) fn remove(&mut self, key: &Key) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.record("DELETED", key.clone(), obj.clone());
        Some(obj)
    }

    /// Stores `obj` (new or replacing), filling server fields; returns it, or the existing object
    /// untouched when nothing but server fields would change. `dry_run` stores nothing.
    pub(super) fn write(&mut self, k: &Kind, key: Key, mut obj: Value, dry_run: bool) -> Value {
        let old = self.objects.get(&key).cloned();
        obj["apiVersion"] = json!(api_version(k));
        obj["kind"] = json!(k.kind);
        if let Some(old) = &old {
            if obj.get("status").is_none() && old.get("status").is_some() {
                obj["status"] = old["status"].clone();
            }
            if content(old) == content(&obj) && obj.get("status") == old.get("status") {
                return old.clone();
            }
        }
        let generation = match &old {
            None => obj["metadata"]["generation"].as_i64().unwrap_or(1),
            Some(old) => {
                let g = old["metadata"]["generation"].as_i64().unwrap_or(1);
                obj["metadata"]["generation"]
                    .as_i64()
                    .unwrap_or(if spec_of(old) == spec_of(&obj) { g } else { g + 1 })
            }
        };
        let rv = self.rv + 1;
        let meta = &mut obj["metadata"];
        meta["generation"] = json!(generation);
        meta["resourceVersion"] = json!(rv.to_string());
        meta["uid"] = old
            .as_ref()
            .map_or_else(|| json!(format!("uid-{rv}")), |o| o["metadata"]["uid"].clone());
        meta["creationTimestamp"] = json!("2025-01-01T00:00:00Z");
        if dry_run {
            return obj;
        }
        self.rv = rv;
        if k.kind == "CustomResourceDefinition" {
            self.register_crd(&mut obj);
        }
        self.objects.insert(key.clone(), obj.clone());
        self.record(if old.is_some() { "MODIFIED" } else { "ADDED" }, key, obj.clone());
        obj
    }

    /// Serves the CRD's kind from now on and marks it Established.
    pub(super) fn register_crd(&mut self, crd: &mut Value) {
        let spec = &crd["spec"];
        let versions = spec["versions"].as_array().cloned().unwrap_or_default();
        for v in versions {
            let kind = Kind {
                group: spec["group"].as_str().unwrap_or_default().into(),
                version: v["name"].as_str().unwrap_or_default().into(),
                plural: spec["names"]["plural"].as_str().unwrap_or_default().into(),
                kind: spec["names"]["kind"].as_str().unwrap_or_default().into(),
                namespaced: spec["scope"] == "Namespaced",
            };
            if !self.kinds.contains(&kind) {
                self.kinds.push(kind);
            }
        }
        crd["status"] = json!({"conditions": [{"type": "Established", "status": "True"}]});
    }
}

impl K8sFake {
    /// Starts a cluster serving the built-in kinds, holding only the namespaces every cluster has
    /// (`default`, `kube-system`, `kube-public`, `kube-node-lease`) and no metrics API.
    pub async fn start() -> K8sFake {
        let kinds = BUILTIN
            .iter()
            .map(|(g, v, p, k, n)| Kind {
                group: g.to_string(),
                version: v.to_string(),
                plural: p.to_string(),
                kind: k.to_string(),
                namespaced: *n,
            })
            .collect();
        let mut st = State {
            kinds,
            ..State::default()
        };
        // The namespaces every cluster has from the start.
        let namespace = st.kind_by_name("v1", "Namespace").expect("Namespace is built in");
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let key = (String::new(), "namespaces".into(), String::new(), ns.to_string());
            st.write(&namespace, key, json!({"metadata": {"name": ns}}), false);
        }
        let state = Arc::new(Mutex::new(st));
        let (addr, server) = super::k8s_fake_server::start(state.clone()).await;
        K8sFake { addr, server, state }
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves port `port` of pod `namespace/pod` from `target`: what a port-forward to that pod
    /// reaches, as if the container listened on the pod's loopback.
    pub fn stand_in(&self, namespace: &str, pod: &str, port: u16, target: SocketAddr) {
        lock(&self.state)
            .stand_ins
            .insert((namespace.into(), pod.into(), port), target);
    }

    /// A client for the fake: plain HTTP, no credentials.
    pub fn client(&self) -> Client {
        lkeobs::tls::install_crypto_provider();
        let uri = self.uri().parse().expect("fake uri");
        Client::try_from(Config::new(uri)).expect("client for the fake")
    }

    /// The handle under test, built as production builds it (minus TLS and credentials).
    pub fn k8s(&self) -> K8s {
        let uri = self.uri().parse().expect("fake uri");
        K8s::from_config(Config::new(uri)).expect("k8s for the fake")
    }

    fn key_of(&self, obj: &Value) -> (Kind, Key) {
        let st = lock(&self.state);
        let (av, kind) = (
            obj["apiVersion"].as_str().unwrap_or_default(),
            obj["kind"].as_str().unwrap_or_default(),
        );
        let k = st
            .kind_by_name(av, kind)
            .unwrap_or_else(|| panic!("the fake does not serve {av} {kind}"));
        let m = &obj["metadata"];
        let key = (
            k.group.clone(),
            k.plural.clone(),
            m["namespace"].as_str().unwrap_or_default().into(),
            m["name"].as_str().unwrap_or_default().into(),
        );
        (k, key)
    }

    /// Stores an object as a controller or another client would (metadata.generation kept if given).
    pub fn put(&self, obj: Value) -> Value {
        let (k, key) = self.key_of(&obj);
        lock(&self.state).write(&k, key, obj, false)
    }

    /// Replaces an object's status, as its controller would.
    pub fn set_status(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str, status: Value) {
        let mut obj = self
            .get(api_version, kind, namespace, name)
            .unwrap_or_else(|| panic!("no {kind} {name}"));
        obj["status"] = status;
        self.put(obj);
    }

    /// A stored object (deletions whose delay has passed are carried out first, as in [`Self::list`]).
    pub fn get(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let probe =
            json!({"apiVersion": api_version, "kind": kind, "metadata": {"namespace": namespace, "name": name}});
        let (_, key) = self.key_of(&probe);
        let mut st = lock(&self.state);
        st.purge_expired_deletes();
        st.objects.get(&key).cloned()
    }

    /// The next DELETE of this object only marks it; it disappears `delay` later.
    pub fn delay_deletion(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str, delay: Duration) {
        let probe =
            json!({"apiVersion": api_version, "kind": kind, "metadata": {"namespace": namespace, "name": name}});
        let (_, key) = self.key_of(&probe);
        lock(&self.state).delete_delays.insert(key, delay);
    }

    /// Every stored object of a kind, in all namespaces, in key order (deletions whose delay has
    /// passed are carried out first). Empty when the fake does not serve the kind.
    pub fn list(&self, api_version: &str, kind: &str) -> Vec<Value> {
        let mut st = lock(&self.state);
        st.purge_expired_deletes();
        let Some(k) = st.kind_by_name(api_version, kind) else {
            return Vec::new();
        };
        st.objects
            .iter()
            .filter(|(key, _)| key.0 == k.group && key.1 == k.plural)
            .map(|(_, obj)| obj.clone())
            .collect()
    }

    /// Removes an object at once (no delay, watchers see DELETED), as a controller or the garbage
    /// collector would; returns it.
    pub fn delete(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let probe =
            json!({"apiVersion": api_version, "kind": kind, "metadata": {"namespace": namespace, "name": name}});
        let (_, key) = self.key_of(&probe);
        lock(&self.state).remove(&key)
    }

    /// Changes a stored object under one lock, so no concurrent API write is lost: `change` edits a
    /// copy and returns whether to store it (`metadata.generation` is kept, as on a status write).
    /// Returns whether the object existed and was stored.
    pub fn update(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        change: impl FnOnce(&mut Value) -> bool,
    ) -> bool {
        let probe =
            json!({"apiVersion": api_version, "kind": kind, "metadata": {"namespace": namespace, "name": name}});
        let (k, key) = self.key_of(&probe);
        let mut st = lock(&self.state);
        let Some(mut obj) = st.objects.get(&key).cloned() else {
            return false;
        };
        if !change(&mut obj) {
            return false;
        }
        st.write(&k, key, obj, false);
        true
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.state).log.clone()
    }

    /// Requests other than discovery and reads (PATCH, POST, PUT, DELETE).
    pub fn writes(&self) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(|r| !matches!(r.method.as_str(), "GET" | "HEAD"))
            .collect()
    }

    pub fn clear_log(&self) {
        lock(&self.state).log.clear();
    }
}
