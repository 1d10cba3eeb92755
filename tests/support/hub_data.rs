//! The hub's data path as the probes see it, for a [`World`]: Prometheus, Loki, Tempo and the gateway's
//! health, served through the hub's port-forward on the pods the controllers run, answering with what the
//! fleet's clusters would have sent: node metrics for the Nodes each cluster's API lists now, log streams
//! and traces per `cluster_id`, gateway counters. A cluster made silent sent nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::k8s_fake::K8sFake;
use super::world::World;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The stand-ins; dropping them stops them.
pub struct HubData {
    pub prometheus: MockServer,
    pub loki: MockServer,
    pub tempo: MockServer,
    pub gateway: MockServer,
    silent: Arc<Mutex<BTreeSet<String>>>,
}

fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

fn param(req: &Request, key: &str) -> String {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn vector(items: Vec<(Value, f64)>) -> ResponseTemplate {
    let result: Vec<Value> = items
        .into_iter()
        .map(|(metric, v)| json!({"metric": metric, "value": [1.0, v.to_string()]}))
        .collect();
    ResponseTemplate::new(200)
        .set_body_json(json!({"status": "success", "data": {"resultType": "vector", "result": result}}))
}

/// The clusters (fleet name → API) that are sending, with their Node names now.
type Clusters = Arc<BTreeMap<String, Arc<K8sFake>>>;

fn sending(clusters: &Clusters, silent: &Mutex<BTreeSet<String>>) -> Vec<(String, Vec<String>)> {
    let silent = lock(silent).clone();
    clusters
        .iter()
        .filter(|(name, _)| !silent.contains(*name))
        .map(|(name, k8s)| {
            let nodes = k8s
                .list("v1", "Node")
                .iter()
                .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
                .collect();
            (name.clone(), nodes)
        })
        .collect()
}

impl HubData {
    /// Serves the stand-ins on the hub's pods (`hub_label`'s API) for the clusters `names` (fleet name →
    /// cluster label) of `world`.
    pub async fn start(world: &World, hub_label: &str, names: &[(&str, &str)]) -> HubData {
        let data = HubData {
            prometheus: MockServer::start().await,
            loki: MockServer::start().await,
            tempo: MockServer::start().await,
            gateway: MockServer::start().await,
            silent: Arc::new(Mutex::new(BTreeSet::new())),
        };
        let hub = world.k8s(hub_label).expect("the hub's API");
        // The pods the controllers run for the hub's workloads: `<workload>-<n>`.
        hub.stand_in("monitoring", "prometheus-0", 9090, *data.prometheus.address());
        hub.stand_in("monitoring", "loki-0", 3100, *data.loki.address());
        hub.stand_in("monitoring", "tempo-0", 3200, *data.tempo.address());
        for n in 0..4 {
            hub.stand_in(
                "observability-hub",
                &format!("otel-gateway-{n}"),
                13133,
                *data.gateway.address(),
            );
        }
        let clusters: Clusters = Arc::new(
            names
                .iter()
                .map(|(name, label)| (name.to_string(), world.k8s(label).expect("a cluster API")))
                .collect(),
        );
        let (c, s) = (clusters.clone(), data.silent.clone());
        Mock::given(method("GET"))
            .and(path("/api/v1/query"))
            .respond_with(move |r: &Request| {
                let q = param(r, "query");
                let now_s = now_ns() as f64 / 1e9 - 5.0;
                let on = sending(&c, &s);
                if q.contains("otelcol_") {
                    vector(vec![
                        (json!({"__name__": "otelcol_receiver_accepted_spans_total"}), 500.0),
                        (json!({"__name__": "otelcol_exporter_sent_spans_total"}), 500.0),
                    ])
                } else if q.starts_with("count by (cluster_id, k8s_node_name)") {
                    vector(
                        on.iter()
                            .flat_map(|(c, nodes)| {
                                nodes
                                    .iter()
                                    .map(move |n| (json!({"cluster_id": c, "k8s_node_name": n}), 3.0))
                            })
                            .collect(),
                    )
                } else if q.starts_with("count by (cluster_id, hub_received_at)") {
                    vector(
                        on.iter()
                            .map(|(c, _)| (json!({"cluster_id": c, "hub_received_at": "otel-gateway"}), 40.0))
                            .collect(),
                    )
                } else if q.starts_with("max by (cluster_id)") {
                    vector(on.iter().map(|(c, _)| (json!({"cluster_id": c}), now_s)).collect())
                } else {
                    ResponseTemplate::new(400)
                        .set_body_json(json!({"status": "error", "errorType": "bad_data", "error": q}))
                }
            })
            .mount(&data.prometheus)
            .await;
        let (c, s) = (clusters.clone(), data.silent.clone());
        Mock::given(method("GET"))
            .and(path("/loki/api/v1/query_range"))
            .respond_with(move |r: &Request| {
                let q = param(r, "query");
                let line = (now_ns() - 2_000_000_000).to_string();
                let result: Vec<Value> = sending(&c, &s)
                    .into_iter()
                    .filter(|(name, _)| q == format!("{{cluster_id=\"{name}\"}}"))
                    .map(|(name, _)| json!({"stream": {"cluster_id": name, "service_name": "app"}, "values": [[line.clone(), "a line"]]}))
                    .collect();
                ResponseTemplate::new(200)
                    .set_body_json(json!({"status": "success", "data": {"resultType": "streams", "result": result}}))
            })
            .mount(&data.loki)
            .await;
        Mock::given(method("GET"))
            .and(path("/ready"))
            .respond_with(ResponseTemplate::new(200).set_body_string("ready"))
            .mount(&data.tempo)
            .await;
        let (c, s) = (clusters, data.silent.clone());
        Mock::given(method("GET"))
            .and(path("/api/search"))
            .respond_with(move |r: &Request| {
                let q = param(r, "q");
                let started = (now_ns() - 30_000_000_000).to_string();
                let traces: Vec<Value> = sending(&c, &s)
                    .into_iter()
                    .filter(|(name, _)| q.contains(&format!("\"{name}\"")))
                    .map(|_| json!({"traceID": "2f3e0cee77ae5dc9c17ade3689eb2e54", "rootServiceName": "app", "startTimeUnixNano": started}))
                    .collect();
                ResponseTemplate::new(200).set_body_json(json!({"traces": traces, "metrics": {}}))
            })
            .mount(&data.tempo)
            .await;
        Mock::given(method("GET"))
            .and(path("/"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"status": "Server available", "upSince": "2025-01-01T00:00:00Z", "uptime": "1h"}),
            ))
            .mount(&data.gateway)
            .await;
        data
    }

    /// From now on `cluster` sends nothing (its data probes fail).
    pub fn silence(&self, cluster: &str) {
        lock(&self.silent).insert(cluster.to_string());
    }

    /// `cluster` sends again.
    pub fn resume(&self, cluster: &str) {
        lock(&self.silent).remove(cluster);
    }
}
