//! The engines' ingester rings as dskit serves them (`/ingester/ring` on Mimir and Tempo, `/ring` on Loki):
//! one shard per pod of the engine's StatefulSet whose process runs (ACTIVE once Ready, JOINING before);
//! a pod being deleted left the ring (dskit unregisters on a clean shutdown) until its replacement runs.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Value, json};

use super::controllers::{deleting, is_ready, s};
use super::data_engines::{Engine, deployed, pods, text};
use super::http::{Handler, Reply, Request};
use super::kube::KubeApi;
use super::world::{Apis, lock};
use crate::clock::rfc3339;

/// One member of a ring.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shard {
    /// The instance id: the pod's host name.
    pub id: String,
    /// `ACTIVE` or `JOINING`.
    pub state: &'static str,
    /// `<pod IP>:<gRPC port>`.
    pub address: String,
    /// When the instance registered (its pod's creation).
    pub registered: String,
    pub tokens: Vec<u32>,
}

/// A few stable ring tokens for an instance.
fn tokens(id: &str) -> Vec<u32> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(id.as_bytes());
    let mut t: Vec<u32> = digest
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    t.sort_unstable();
    t
}

/// The members of the engine's ring in `api` now.
pub(crate) fn members(api: &KubeApi, engine: Engine) -> Vec<Shard> {
    let grpc = deployed(api, engine)
        .ok()
        .and_then(|d| text(&d.config, "server.grpc_listen_port"))
        .unwrap_or_else(|| crate::objects::ENGINE_GRPC_PORT.to_string());
    pods(api, engine)
        .iter()
        .filter(|p| !deleting(p) && p["status"]["phase"] == "Running")
        .map(|p| {
            let id = s(&p["metadata"]["name"]).to_string();
            Shard {
                state: if is_ready(p) { "ACTIVE" } else { "JOINING" },
                address: format!("{}:{grpc}", s(&p["status"]["podIP"])),
                registered: s(&p["metadata"]["creationTimestamp"]).to_string(),
                tokens: tokens(&id),
                id,
            }
        })
        .collect()
}

/// The ring page: dskit's JSON when the client accepts `application/json`, else a small HTML table.
pub(crate) fn ring_page(api: &KubeApi, engine: Engine, req: &Request) -> Reply {
    let now = rfc3339(SystemTime::now());
    let shards = members(api, engine);
    let json = req.header("accept").is_some_and(|a| a.contains("application/json"));
    if json {
        let shards: Vec<Value> = shards
            .iter()
            .map(|m| {
                json!({"id": m.id, "state": m.state, "address": m.address, "timestamp": now,
                    "registered_timestamp": m.registered, "read_only": false,
                    "read_only_updated_timestamp": "0001-01-01T00:00:00Z", "zone": "", "tokens": m.tokens})
            })
            .collect();
        return Reply::new(200).set_body_json(json!({"shards": shards, "now": now}));
    }
    let rows: String = shards
        .iter()
        .map(|m| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{now}</td><td>{}</td></tr>",
                m.id,
                m.state,
                m.address,
                m.tokens.len()
            )
        })
        .collect();
    let html = format!(
        "<!DOCTYPE html><html><head><title>Ring Status</title></head><body><h1>Ring Status</h1>\
         <p>Current time: {now}</p><table><tr><th>Instance ID</th><th>State</th><th>Address</th>\
         <th>Last Heartbeat</th><th>Tokens</th></tr>{rows}</table></body></html>"
    );
    Reply::new(200).set_body_raw(html, "text/html; charset=utf-8")
}

/// An engine's stand-in on one cluster's pods, answering its ring page from that cluster and everything
/// else from `inner`.
pub(crate) struct Ringed {
    pub inner: Arc<dyn Handler>,
    pub apis: Apis,
    pub label: String,
    pub engine: Engine,
}

impl Handler for Ringed {
    fn handle(&self, req: &Request) -> Reply {
        if req.url.path() != self.engine.ring_path() {
            return self.inner.handle(req);
        }
        match lock(&self.apis).get(&self.label).cloned() {
            Some(api) => ring_page(&api, self.engine, req),
            None => Reply::new(404).set_body_string("404 page not found"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn pod(name: &str, owner: &Value, phase: &str, ready: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "monitoring",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "loki",
                    "uid": owner, "controller": true}]},
            "spec": {"containers": [{"name": "loki", "image": "grafana/loki"}]},
            "status": {"phase": phase, "podIP": format!("10.2.0.{}", name.len()),
                "conditions": [{"type": "Ready", "status": ready}]}})
    }

    #[tokio::test]
    async fn members_are_the_statefulsets_running_pods_active_once_ready() {
        let Ok(api) = KubeApi::start().await else {
            panic!("a Kubernetes API");
        };
        assert!(members(&api, Engine::Loki).is_empty(), "no StatefulSet, no ring");
        let sts = api.put(json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "loki", "namespace": "monitoring"},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "loki",
                "args": ["-config.file=/etc/loki/config.yaml"]}]}}}}));
        let uid = sts.map(|s| s["metadata"]["uid"].clone()).unwrap_or_default();
        api.put(pod("loki-0", &uid, "Running", "True"));
        let ring = members(&api, Engine::Loki);
        assert_eq!(ring.len(), 1, "a single Loki is a ring of one: {ring:?}");
        assert_eq!((ring[0].id.as_str(), ring[0].state), ("loki-0", "ACTIVE"));
        assert_eq!(
            ring[0].address, "10.2.0.6:9095",
            "the gRPC default port without a config"
        );
        api.put(pod("loki-1", &uid, "Running", "False"));
        api.put(pod("loki-22", &uid, "Pending", "False"));
        let mut leaving = pod("loki-333", &uid, "Running", "True");
        leaving["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
        api.put(leaving);
        api.put(pod("other-0", &json!("another-uid"), "Running", "True"));
        let states: Vec<(String, &str)> = members(&api, Engine::Loki)
            .into_iter()
            .map(|m| (m.id, m.state))
            .collect();
        assert_eq!(
            states,
            [("loki-0".to_string(), "ACTIVE"), ("loki-1".to_string(), "JOINING")],
            "a pod not started yet or shutting down is not in the ring"
        );
    }
}
