//! Shared by the probe and verify tests: a fleet, its workloads rolled out in a fake Kubernetes API,
//! and the hub's Prometheus, Loki, Tempo and gateway answering through the service proxy.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lkeobs::fleet::Fleet;
use lkeobs::k8s::WorkloadKind;
use lkeobs::probes::{now_unix_nanos, pods};
use lkeobs::stack::Renderer;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, Request, ResponseTemplate};

use crate::support::k8s_fake::K8sFake;

pub const FLEET: &str = r#"
[fleet]
name = "probe"
k8s_version = "1.33"

[hub]
region = "us-ord"
pools = [{ type = "g6-standard-4", count = 3 }]

[edges.us-east]
region = "us-east"
pools = [{ type = "g6-standard-2", count = 2 }]

[edges.eu-west]
region = "eu-west"
pools = [{ type = "g6-standard-2", count = 1 }]
"#;

pub fn fleet() -> Fleet {
    lkeobs::fleet::parse("probe.toml", FLEET).expect("fleet").fleet
}

/// Puts every workload `up` would apply to `cluster`, rolled out, plus Ready nodes and an agent
/// pod per node (Ready unless listed in `agent_down`).
pub fn deploy(k: &K8sFake, fleet: &Fleet, cluster: &str, nodes: &[&str], agent_down: &[&str]) {
    for ns in ["observability", "monitoring", "observability-hub"] {
        k.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
    }
    let renderer = Renderer::new().expect("renderer");
    for w in pods::workloads(&renderer, fleet, cluster).expect("workloads") {
        let meta = json!({"name": w.name, "namespace": w.namespace, "generation": 1});
        let obj = match w.kind {
            WorkloadKind::Deployment => json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1}}),
            WorkloadKind::StatefulSet => json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta,
                "status": {"observedGeneration": 1, "replicas": 1, "readyReplicas": 1, "updatedReplicas": 1,
                    "currentRevision": "r1", "updateRevision": "r1"}}),
            WorkloadKind::DaemonSet => {
                let n = nodes.len();
                json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta,
                "status": {"observedGeneration": 1, "desiredNumberScheduled": n, "currentNumberScheduled": n,
                    "numberMisscheduled": 0, "numberReady": n, "updatedNumberScheduled": n, "numberAvailable": n}})
            }
        };
        k.put(obj);
    }
    for (i, node) in nodes.iter().enumerate() {
        k.put(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}));
        let ready = if agent_down.contains(node) { "False" } else { "True" };
        k.put(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("otel-agent-{i}"), "namespace": "observability",
                "labels": {"app.kubernetes.io/name": "otel-agent"}},
            "spec": {"nodeName": node, "containers": [{"name": "otel-agent", "image": "otelcol"}]},
            "status": {"conditions": [{"type": "Ready", "status": ready}]}}));
    }
}

pub fn param(req: &Request, key: &str) -> String {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub fn proxy(ns: &str, svc: &str, rest: &str) -> String {
    format!("/api/v1/namespaces/{ns}/services/{svc}/proxy{rest}")
}

pub fn vector(items: Vec<(Value, f64)>) -> ResponseTemplate {
    let result: Vec<Value> = items
        .into_iter()
        .map(|(metric, v)| json!({"metric": metric, "value": [1.0, v.to_string()]}))
        .collect();
    ResponseTemplate::new(200)
        .set_body_json(json!({"status": "success", "data": {"resultType": "vector", "result": result}}))
}

/// The hub's Prometheus, Loki, Tempo and gateway health, answered in front of the fake (priority 1).
pub async fn mount_hub_backends(hub: &K8sFake, trace_lookups: Arc<AtomicUsize>) {
    let now_s = now_unix_nanos() as f64 / 1e9 - 5.0;
    Mock::given(method("GET"))
        .and(path(proxy("monitoring", "prometheus:9090", "/api/v1/query")))
        .respond_with(move |r: &Request| {
            let q = param(r, "query");
            if q.starts_with("lkeobs_canary{") {
                vector(vec![(
                    json!({"__name__": "lkeobs_canary", "cluster_id": "us-east",
                    "hub_received_at": "otel-gateway", "lkeobs_canary_id": "x"}),
                    1.0,
                )])
            } else if q.contains("otelcol_") {
                vector(vec![
                    (json!({"__name__": "otelcol_receiver_accepted_spans_total"}), 500.0),
                    (json!({"__name__": "otelcol_exporter_sent_spans_total"}), 500.0),
                ])
            } else if q.contains("k8s_node_") {
                let n = |c: &str, n: &str| (json!({"cluster_id": c, "k8s_node_name": n}), now_s);
                vector(vec![
                    n("hub", "hub-1"),
                    n("hub", "hub-2"),
                    n("hub", "hub-3"),
                    n("us-east", "use-1"),
                    n("us-east", "use-2"),
                ])
            } else if q.contains("({cluster_id=~") {
                let s = |c: &str| (json!({"cluster_id": c, "hub_received_at": "otel-gateway"}), now_s);
                vector(vec![s("hub"), s("us-east")])
            } else {
                ResponseTemplate::new(400)
                    .set_body_json(json!({"status": "error", "errorType": "bad_data", "error": q}))
            }
        })
        .with_priority(1)
        .mount(hub.server())
        .await;
    let line = (now_unix_nanos() - 2_000_000_000).to_string();
    Mock::given(method("GET"))
        .and(path(proxy("monitoring", "loki:3100", "/loki/api/v1/query_range")))
        .respond_with(move |r: &Request| {
            let q = param(r, "query");
            let stream = |labels: Value| json!([{"stream": labels, "values": [[line.clone(), "a line"]]}]);
            let result = if q.contains("lkeobs_canary_id=") {
                stream(json!({"service_name": "lkeobs-canary", "cluster_id": "us-east",
                    "hub_received_at": "otel-gateway-5d8f-abcde", "lkeobs_canary_id": "x"}))
            } else if q == "{cluster_id=\"hub\"}" || q == "{cluster_id=\"us-east\"}" {
                let cluster = q.trim_start_matches("{cluster_id=\"").trim_end_matches("\"}");
                stream(json!({"cluster_id": cluster, "service_name": "app"}))
            } else {
                json!([])
            };
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "success", "data": {"resultType": "streams", "result": result}}))
        })
        .with_priority(1)
        .mount(hub.server())
        .await;
    Mock::given(method("GET"))
        .and(path(proxy("monitoring", "tempo:3200", "/ready")))
        .respond_with(ResponseTemplate::new(200).set_body_string("ready"))
        .with_priority(1)
        .mount(hub.server())
        .await;
    let started = (now_unix_nanos() - 30_000_000_000).to_string();
    Mock::given(method("GET"))
        .and(path(proxy("monitoring", "tempo:3200", "/api/search")))
        .respond_with(move |r: &Request| {
            let q = param(r, "q");
            let traces = if q.contains("\"eu-west\"") {
                json!([])
            } else {
                json!([{"traceID": "2f3e0cee77ae5dc9c17ade3689eb2e54", "rootServiceName": "app", "startTimeUnixNano": started}])
            };
            ResponseTemplate::new(200).set_body_json(json!({"traces": traces, "metrics": {}}))
        })
        .with_priority(1)
        .mount(hub.server())
        .await;
    Mock::given(method("GET"))
        .and(path_regex(
            r"^/api/v1/namespaces/monitoring/services/tempo:3200/proxy/api/traces/[0-9a-f]{32}$",
        ))
        .respond_with(move |_: &Request| {
            // Not there on the first lookup: the canary polls.
            if trace_lookups.fetch_add(1, Ordering::SeqCst) == 0 {
                return ResponseTemplate::new(404).set_body_string("trace not found");
            }
            ResponseTemplate::new(200).set_body_json(json!({"batches": [{"resource": {"attributes": [
                {"key": "cluster.id", "value": {"stringValue": "us-east"}},
                {"key": "hub.received_at", "value": {"stringValue": "otel-gateway-5d8f-abcde"}}]},
                "scopeSpans": []}]}))
        })
        .with_priority(1)
        .mount(hub.server())
        .await;
    Mock::given(method("GET"))
        .and(path(proxy("observability-hub", "otel-gateway:13133", "/")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"status": "Server available", "upSince": "2025-01-01T00:00:00Z", "uptime": "1h"}),
            ),
        )
        .with_priority(1)
        .mount(hub.server())
        .await;
}
