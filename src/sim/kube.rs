//! One simulated cluster's Kubernetes API server (hyper on 127.0.0.1 only).
//!
//! Its router ([`super::kube_routes`]) serves
//! discovery (`/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`) for the kinds the stack uses
//! plus any CRD applied to it, and GET, LIST (label and field selectors), WATCH (from a
//! resourceVersion, ending after a short pause when nothing is new), server-side apply PATCH
//! (`application/apply-patch+yaml`; `dryRun=All` stores nothing), merge PATCH (JSON and strategic
//! merge patches, both applied as RFC 7386 merge patches), POST, PUT and DELETE
//! (optionally delayed, as a finalizer would). Namespaced writes need their Namespace to exist,
//! as on a real server. `metadata.generation` is the server's: 1 on create, +1 when a write
//! changes the spec, never taken from an API client (only from the [`KubeApi::put`] helper); a
//! write that changes an immutable field is refused as the real server refuses it (422,
//! [`super::kube_immutable`]); `PUT …/status` changes only the status. Port-forward to a pod reaches
//! the stand-in registered for its port ([`KubeApi::stand_in`]); the service proxy fails as
//! on an LKE hub behind default-deny NetworkPolicies. Every request is logged.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use std::net::SocketAddr;

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::http::Reply;
use super::kube_kinds::{BUILTIN, Kind, api_version, api_version_matches};

/// How long an empty watch stays open before it ends (and the client re-watches).
pub(crate) const WATCH_PAUSE: Duration = Duration::from_millis(40);

/// Storage key: `(group, plural, namespace or "", name)`; the version is not part of it.
pub(crate) type Key = (String, String, String, String);

/// One request as the simulated API server saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    /// HTTP method.
    pub method: String,
    /// URL path.
    pub path: String,
    /// Query parameters.
    pub query: BTreeMap<String, String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body, as text.
    pub body: String,
}

/// The objects and the log of one simulated API server.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) rv: u64,
    pub(crate) kinds: Vec<Kind>,
    pub(crate) objects: BTreeMap<Key, Value>,
    /// `(resourceVersion, ADDED|MODIFIED|DELETED, key, object)`, for watches.
    pub(crate) changes: Vec<(u64, &'static str, Key, Value)>,
    pub(crate) delete_delays: BTreeMap<Key, Duration>,
    pub(crate) pending_deletes: Vec<(Key, Instant)>,
    pub(crate) log: Vec<Logged>,
    /// `(namespace, pod, port)` → where that pod's loopback port is served from, in the simulator.
    pub(crate) stand_ins: BTreeMap<(String, String, u16), super::pod_port::Target>,
}

/// A simulated cluster's API server. Dropping it stops the server.
pub struct KubeApi {
    addr: SocketAddr,
    server: JoinHandle<()>,
    state: Arc<Mutex<State>>,
    /// The bearer token its kubeconfig carries (random per API).
    token: String,
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn status(code: u16, reason: &str, message: String) -> Reply {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    Reply::new(code).set_body_json(body)
}

/// Evaluates `a=b,c!=d,e,!f` (labels) or `metadata.name=x,type=Warning` (fields, dotted paths).
pub(crate) fn selected(obj: &Value, selector: Option<&String>, fields: bool) -> bool {
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
pub(crate) fn content(v: &Value) -> Value {
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

pub(crate) fn spec_of(v: &Value) -> Value {
    let mut c = content(v);
    if let Some(o) = c.as_object_mut() {
        o.remove("metadata");
    }
    c
}

impl State {
    pub(crate) fn kind_by_plural(&self, group: &str, version: &str, plural: &str) -> Option<Kind> {
        self.kinds
            .iter()
            .find(|k| k.group == group && k.version == version && k.plural == plural)
            .cloned()
    }

    pub(crate) fn kind_by_name(&self, api_version: &str, kind: &str) -> Option<Kind> {
        self.kinds
            .iter()
            .find(|k| api_version_matches(k, api_version) && k.kind == kind)
            .cloned()
    }

    pub(crate) fn record(&mut self, kind: &'static str, key: Key, obj: Value) {
        self.changes.push((self.rv, kind, key, obj));
    }

    pub(crate) fn purge_expired_deletes(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.pending_deletes.drain(..).partition(|(_, at)| *at <= now);
        self.pending_deletes = later;
        for (key, _) in due {
            self.remove(&key);
        }
    }

    pub(crate) fn remove(&mut self, key: &Key) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.record("DELETED", key.clone(), obj.clone());
        Some(obj)
    }

    /// Stores `obj` (new or replacing), filling server fields; returns it, or the existing object
    /// untouched when nothing but server fields would change. `dry_run` stores nothing.
    pub(crate) fn write(&mut self, k: &Kind, key: Key, mut obj: Value, dry_run: bool) -> Value {
        let old = self.objects.get(&key).cloned();
        obj["apiVersion"] = json!(api_version(k));
        obj["kind"] = json!(k.kind);
        if let Some(old) = &old {
            if obj.get("status").is_none() && old.get("status").is_some() {
                obj["status"] = old["status"].clone();
            }
            // A controller's write (no managedFields of its own) keeps the owners the object had.
            if obj["metadata"].get("managedFields").is_none() && old["metadata"].get("managedFields").is_some() {
                obj["metadata"]["managedFields"] = old["metadata"]["managedFields"].clone();
            }
            if content(old) == content(&obj)
                && obj.get("status") == old.get("status")
                && super::kube_fields::same_owners(old, &obj)
            {
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
        // Set when the object is first stored, kept across writes (a controller's `put` may bring its own).
        meta["creationTimestamp"] = match &old {
            Some(old) => old["metadata"]["creationTimestamp"].clone(),
            None if meta["creationTimestamp"].is_string() => meta["creationTimestamp"].clone(),
            None => json!(super::kube_clock::now_rfc3339()),
        };
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
    pub(crate) fn register_crd(&mut self, crd: &mut Value) {
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

/// The port the control plane listens on behind the `kubernetes` Service's 443.
pub(crate) const CONTROL_PLANE_PORT: u16 = 6443;

impl State {
    /// A fresh cluster serving the built-in kinds, holding only the namespaces every cluster has
    /// (`default`, `kube-system`, `kube-public`, `kube-node-lease`) and no metrics API.
    pub(crate) fn fresh() -> State {
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
        if let Some(namespace) = st.kind_by_name("v1", "Namespace") {
            for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
                let key = (String::new(), "namespaces".into(), String::new(), ns.to_string());
                st.write(&namespace, key, json!({"metadata": {"name": ns}}), false);
            }
        }
        st.control_plane();
        st
    }

    /// The `kubernetes` Service and its Endpoints: the API server, whose Service IP pods dial and whose
    /// real address (outside the pod network, as LKE's managed control plane is) the DNAT sends them to.
    fn control_plane(&mut self) {
        let address = format!("172.232.{}.{}", fastrand::u8(0..=255), fastrand::u8(1..=254));
        let (Some(service), Some(endpoints)) =
            (self.kind_by_name("v1", "Service"), self.kind_by_name("v1", "Endpoints"))
        else {
            return;
        };
        let key = |plural: &str| {
            (
                String::new(),
                plural.to_string(),
                "default".to_string(),
                "kubernetes".to_string(),
            )
        };
        let labels = json!({"component": "apiserver", "provider": "kubernetes"});
        self.write(
            &service,
            key("services"),
            json!({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "kubernetes", "namespace": "default", "labels": labels},
                   "spec": {"type": "ClusterIP", "clusterIP": "10.128.0.1", "clusterIPs": ["10.128.0.1"],
                            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": CONTROL_PLANE_PORT}]}}),
            false,
        );
        self.write(
            &endpoints,
            key("endpoints"),
            json!({"apiVersion": "v1", "kind": "Endpoints",
                   "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                   "subsets": [{"addresses": [{"ip": address}],
                                "ports": [{"name": "https", "port": CONTROL_PLANE_PORT, "protocol": "TCP"}]}]}),
            false,
        );
    }
}

/// `(Kind, Key)` of an object by its `apiVersion`, `kind`, namespace and name; None for a kind the
/// server does not serve.
fn key_of(st: &State, obj: &Value) -> Option<(Kind, Key)> {
    let (av, kind) = (
        obj["apiVersion"].as_str().unwrap_or_default(),
        obj["kind"].as_str().unwrap_or_default(),
    );
    let k = st.kind_by_name(av, kind)?;
    let m = &obj["metadata"];
    let key = (
        k.group.clone(),
        k.plural.clone(),
        m["namespace"].as_str().unwrap_or_default().into(),
        m["name"].as_str().unwrap_or_default().into(),
    );
    Some((k, key))
}

fn probe(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "metadata": {"namespace": namespace, "name": name}})
}

impl KubeApi {
    /// Starts a fresh cluster's API ([`State::fresh`]) on a free port of 127.0.0.1.
    pub async fn start() -> std::io::Result<KubeApi> {
        let listener = super::http::bind_loopback(0).await?;
        Self::serve(listener, State::fresh())
    }

    /// Serves `state` on `listener` (needs a Tokio runtime context).
    pub(crate) fn serve(listener: tokio::net::TcpListener, state: State) -> std::io::Result<KubeApi> {
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(state));
        let handler = Arc::new(super::kube_routes::KubeHandler(state.clone()));
        let token = super::guard::random_token("sim-k8s-")?;
        // Over TLS, as on LKE: clients send their bearer token only there (client-go sends none over plain
        // HTTP), and every route demands it, as do `Host` (against DNS rebinding), content types and sizes.
        let tls = super::kube_tls::identity()?;
        let guard = super::http::Guard {
            token: Some(token.clone()),
            port: Some(addr.port()),
            bodies: super::http::Bodies::Kubernetes,
        };
        let server = super::http::serve_tls(listener, handler, guard, tls.acceptor().clone());
        super::guard::register_token(&format!("https://{addr}"), &token);
        Ok(KubeApi {
            addr,
            server,
            state,
            token,
        })
    }

    /// The bearer token the cluster's kubeconfig carries.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The server's state, locked (saving and restoring it).
    pub(crate) fn locked(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// `https://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The CA the API's serving certificate chains to (DER): a client's root.
    pub fn ca_der(&self) -> Vec<u8> {
        super::kube_tls::identity()
            .map(|t| t.ca_der().to_vec())
            .unwrap_or_default()
    }

    /// Serves port `port` of pod `namespace/pod` from `target`: what a port-forward to that pod
    /// reaches, as if the container listened on the pod's loopback. `pod` may also name a workload
    /// (Deployment, StatefulSet, DaemonSet): then every pod it controls serves the port.
    pub fn stand_in(&self, namespace: &str, pod: &str, port: u16, target: SocketAddr) {
        self.serve_port(namespace, pod, port, super::pod_port::Target::Addr(target));
    }

    /// As [`KubeApi::stand_in`], with any [`Target`](super::pod_port::Target) (an in-process handler).
    pub fn serve_port(&self, namespace: &str, pod: &str, port: u16, target: super::pod_port::Target) {
        lock(&self.state)
            .stand_ins
            .insert((namespace.into(), pod.into(), port), target);
    }

    /// Stores an object as a controller or another client would (metadata.generation kept if given);
    /// None when the server does not serve its kind.
    pub fn put(&self, obj: Value) -> Option<Value> {
        let mut st = lock(&self.state);
        let (k, key) = key_of(&st, &obj)?;
        Some(st.write(&k, key, obj, false))
    }

    /// Replaces an object's status, as its controller would; whether the object existed.
    pub fn set_status(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
        status: Value,
    ) -> bool {
        self.update(api_version, kind, namespace, name, |obj| {
            obj["status"] = status;
            true
        })
    }

    /// A stored object (deletions whose delay has passed are carried out first, as in [`Self::list`]).
    pub fn get(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let mut st = lock(&self.state);
        let (_, key) = key_of(&st, &probe(api_version, kind, namespace, name))?;
        st.purge_expired_deletes();
        st.objects.get(&key).cloned()
    }

    /// The next DELETE of this object only marks it; it disappears `delay` later.
    pub fn delay_deletion(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str, delay: Duration) {
        let mut st = lock(&self.state);
        if let Some((_, key)) = key_of(&st, &probe(api_version, kind, namespace, name)) {
            st.delete_delays.insert(key, delay);
        }
    }

    /// Every stored object of a kind, in all namespaces, in key order (deletions whose delay has
    /// passed are carried out first). Empty when the server does not serve the kind.
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
        let mut st = lock(&self.state);
        let (_, key) = key_of(&st, &probe(api_version, kind, namespace, name))?;
        st.remove(&key)
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
        let mut st = lock(&self.state);
        let Some((k, key)) = key_of(&st, &probe(api_version, kind, namespace, name)) else {
            return false;
        };
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

    /// Forgets the requests so far.
    pub fn clear_log(&self) {
        lock(&self.state).log.clear();
    }
}
