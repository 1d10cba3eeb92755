//! The answers of the simulated data path's stand-ins, as the real APIs shape them: Prometheus'
//! `/api/v1/query` and `/api/v1/alerts`, Loki's `/loki/api/v1/query_range`, Tempo's `/ready`,
//! `/api/search` and `/api/traces/{id}`, the gateway's health check, and an agent's OTLP/HTTP intake.

use std::sync::Arc;

use serde_json::{Value, json};

use super::data_path::{Received, Shared, attribute};
use super::http::{Handler, Reply, Request};
use super::world::lock;

/// What the hub stamps on everything its gateway receives (`hub.received_at`).
const RECEIVED_AT: &str = "otel-gateway-0";

fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

fn vector(items: Vec<(Value, f64)>) -> Reply {
    let result: Vec<Value> = items
        .into_iter()
        .map(|(metric, v)| json!({"metric": metric, "value": [1.0, v.to_string()]}))
        .collect();
    Reply::new(200).set_body_json(json!({"status": "success", "data": {"resultType": "vector", "result": result}}))
}

/// The quoted value after `key="` in a query.
fn quoted_after(query: &str, key: &str) -> Option<String> {
    let rest = query.split_once(&format!("{key}=\""))?.1;
    Some(rest.split('"').next()?.to_string())
}

fn canaries(shared: &Shared, signal: &str, run_id: &str) -> Vec<Received> {
    lock(&shared.received)
        .iter()
        .filter(|r| r.signal == signal && r.run_id == run_id)
        .cloned()
        .collect()
}

/// Prometheus: the gateway's counters, node metrics per sending cluster, the canary metric, no alerts.
pub(crate) struct Prometheus(pub(crate) Arc<Shared>);

impl Handler for Prometheus {
    fn handle(&self, req: &Request) -> Reply {
        match req.url.path() {
            "/api/v1/alerts" => {
                return Reply::new(200).set_body_json(json!({"status": "success", "data": {"alerts": []}}));
            }
            "/api/v1/query" => {}
            _ => return Reply::new(404).set_body_string("404 page not found"),
        }
        let q = req.query("query");
        let on = self.0.sending();
        if q.contains("otelcol_") {
            vector(vec![
                (json!({"__name__": "otelcol_receiver_accepted_spans_total"}), 500.0),
                (json!({"__name__": "otelcol_exporter_sent_spans_total"}), 500.0),
            ])
        } else if q.starts_with("count by (cluster_id, k8s_node_name)") {
            vector(
                on.iter()
                    .flat_map(|c| {
                        c.nodes
                            .iter()
                            .map(move |n| (json!({"cluster_id": c.name, "k8s_node_name": n}), 3.0))
                    })
                    .collect(),
            )
        } else if q.starts_with("count by (cluster_id, hub_received_at)") {
            vector(
                on.iter()
                    .map(|c| (json!({"cluster_id": c.name, "hub_received_at": RECEIVED_AT}), 40.0))
                    .collect(),
            )
        } else if q.starts_with("max by (cluster_id)") {
            let now_s = now_ns() as f64 / 1e9 - 5.0;
            vector(on.iter().map(|c| (json!({"cluster_id": c.name}), now_s)).collect())
        } else if let Some(id) = quoted_after(&q, "lkeobs_canary_id") {
            vector(
                canaries(&self.0, "metrics", &id)
                    .into_iter()
                    .map(|r| {
                        let labels = json!({"__name__": "lkeobs_canary", "lkeobs_canary_id": id,
                            "cluster_id": r.cluster, "hub_received_at": RECEIVED_AT});
                        (labels, 1.0)
                    })
                    .collect(),
            )
        } else {
            Reply::new(400).set_body_json(json!({"status": "error", "errorType": "bad_data", "error": q}))
        }
    }
}

/// Loki: a stream per sending cluster, and the canary's log line.
pub(crate) struct Loki(pub(crate) Arc<Shared>);

impl Handler for Loki {
    fn handle(&self, req: &Request) -> Reply {
        if req.url.path() != "/loki/api/v1/query_range" {
            return Reply::new(404).set_body_string("404 page not found");
        }
        let q = req.query("query");
        let line = (now_ns() - 2_000_000_000).to_string();
        let result: Vec<Value> = if let Some(id) = quoted_after(&q, "lkeobs_canary_id") {
            canaries(&self.0, "logs", &id)
                .into_iter()
                .map(|r| {
                    json!({"stream": {"cluster_id": r.cluster, "hub_received_at": RECEIVED_AT,
                    "service_name": "lkeobs-canary", "lkeobs_canary_id": id},
                    "values": [[line.clone(), format!("lkeobs canary {id}")]]})
                })
                .collect()
        } else {
            self.0
                .sending()
                .into_iter()
                .filter(|c| q == format!("{{cluster_id=\"{}\"}}", c.name))
                .map(|c| json!({"stream": {"cluster_id": c.name, "service_name": "app"}, "values": [[line.clone(), "a line"]]}))
                .collect()
        };
        Reply::new(200).set_body_json(json!({"status": "success", "data": {"resultType": "streams", "result": result}}))
    }
}

/// Tempo: ready, a trace per sending cluster in searches, the canary's trace by id.
pub(crate) struct Tempo(pub(crate) Arc<Shared>);

impl Handler for Tempo {
    fn handle(&self, req: &Request) -> Reply {
        let path = req.url.path();
        if path == "/ready" {
            return Reply::new(200).set_body_string("ready");
        }
        if path == "/api/search" {
            let q = req.query("q");
            let started = (now_ns() - 30_000_000_000).to_string();
            let traces: Vec<Value> = self
                .0
                .sending()
                .into_iter()
                .filter(|c| q.contains(&format!("\"{}\"", c.name)))
                .map(|_| json!({"traceID": "2f3e0cee77ae5dc9c17ade3689eb2e54", "rootServiceName": "app", "startTimeUnixNano": started}))
                .collect();
            return Reply::new(200).set_body_json(json!({"traces": traces, "metrics": {}}));
        }
        let Some(trace_id) = path.strip_prefix("/api/traces/") else {
            return Reply::new(404).set_body_string("404 page not found");
        };
        let found = lock(&self.0.received)
            .iter()
            .find(|r| r.signal == "traces" && r.trace_id == trace_id)
            .cloned();
        match found {
            None => Reply::new(404).set_body_string("trace not found"),
            Some(r) => {
                let attr = |k: &str, v: &str| json!({"key": k, "value": {"stringValue": v}});
                let resource = json!({"attributes": [attr("cluster.id", &r.cluster),
                    attr("hub.received_at", RECEIVED_AT), attr(crate::probes::otlp::ID_ATTRIBUTE, &r.run_id)]});
                Reply::new(200).set_body_json(json!({"batches": [{"resource": resource, "scopeSpans": []}]}))
            }
        }
    }
}

/// The gateway's health check extension.
pub(crate) struct Gateway;

impl Handler for Gateway {
    fn handle(&self, _req: &Request) -> Reply {
        Reply::new(200)
            .set_body_json(json!({"status": "Server available", "upSince": "2025-01-01T00:00:00Z", "uptime": "1h"}))
    }
}

/// An agent's OTLP/HTTP intake on one cluster: takes everything (as a real agent does, whatever
/// happens downstream); a canary reaches the hub only while the cluster's data does.
pub(crate) struct Agent {
    pub(crate) shared: Arc<Shared>,
    pub(crate) label: String,
}

/// The first `lkeobs.canary.id` attribute and `traceId` anywhere in an OTLP/JSON payload.
fn find_canary(v: &Value, id: &mut Option<String>, trace: &mut Option<String>) {
    match v {
        Value::Object(map) => {
            if let Some(attrs) = map.get("attributes")
                && id.is_none()
            {
                *id = attribute(attrs, crate::probes::otlp::ID_ATTRIBUTE);
            }
            if let Some(t) = map.get("traceId").and_then(Value::as_str)
                && trace.is_none()
            {
                *trace = Some(t.to_string());
            }
            map.values().for_each(|v| find_canary(v, id, trace));
        }
        Value::Array(items) => items.iter().for_each(|v| find_canary(v, id, trace)),
        _ => {}
    }
}

impl Handler for Agent {
    fn handle(&self, req: &Request) -> Reply {
        let Some(signal) = req.url.path().strip_prefix("/v1/") else {
            return Reply::new(404).set_body_string("404 page not found");
        };
        if req.method != http::Method::POST || !matches!(signal, "traces" | "logs" | "metrics") {
            return Reply::new(404).set_body_string("404 page not found");
        }
        let Ok(payload) = serde_json::from_slice::<Value>(&req.body) else {
            return Reply::new(400).set_body_json(json!({"code": 3, "message": "the body is not OTLP/JSON"}));
        };
        let (mut id, mut trace) = (None, None);
        find_canary(&payload, &mut id, &mut trace);
        let delivered = self
            .shared
            .sending()
            .into_iter()
            .find(|s| s.label == self.label)
            .map(|s| s.name);
        if let (Some(run_id), Some(cluster)) = (id, delivered) {
            lock(&self.shared.received).push(Received {
                signal: signal.to_string(),
                run_id,
                trace_id: trace.unwrap_or_default(),
                cluster,
            });
        }
        Reply::new(200).set_body_json(json!({}))
    }
}
