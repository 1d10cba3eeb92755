//! Shared by the probe and verify tests: a fleet, its workloads rolled out in a fake Kubernetes API,
//! and the hub's Prometheus, Loki, Tempo and gateway answering on stand-ins of their pods' ports,
//! reached through the fake's port-forward (the Services and pods are the rendered stack's).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use lkeobs::fleet::Fleet;
use lkeobs::k8s::{Manifests, WorkloadKind};
use lkeobs::probes::{now_unix_nanos, pods};
use lkeobs::stack::{Inputs, Renderer};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::k8s_fake::K8sFake;
use crate::support::linode_fake::{LinodeFake, State};
use lkeobs::linode::NodePoolSpec;

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
    let objects = rendered(cluster);
    let agent = find(&objects, "DaemonSet", "observability", "otel-agent");
    for (i, node) in nodes.iter().enumerate() {
        k.put(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}));
        let ready = if agent_down.contains(node) { "False" } else { "True" };
        k.put(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("otel-agent-{i}"), "namespace": "observability",
                "labels": agent["spec"]["template"]["metadata"]["labels"]},
            "spec": {"nodeName": node, "containers": agent["spec"]["template"]["spec"]["containers"]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": ready}]}}));
    }
}

/// Every object `up` would apply to `cluster` of the fixtures' fleet, as JSON.
pub fn rendered(cluster: &str) -> Vec<Value> {
    let fleet = fleet();
    let c = fleet.cluster(cluster).expect("cluster in the fleet");
    let rendered = Renderer::new()
        .expect("renderer")
        .render(&fleet, c, &Inputs::default())
        .expect("render");
    Manifests::parse(rendered.documents())
        .expect("manifests")
        .iter()
        .map(|m| serde_json::to_value(&m.object).expect("json"))
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, ns: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["namespace"] == ns && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {ns}/{name} in the rendered stack"))
}

/// Serves port `port` of Service `ns/service` of `cluster` from `target`: puts the rendered
/// Service, a Ready pod of its rendered workload unless pods it selects exist already, and
/// registers `target` for the container port the Service port leads to on each Ready pod.
pub fn serve(k: &K8sFake, cluster: &str, ns: &str, service: &str, port: u16, target: SocketAddr) {
    let objects = rendered(cluster);
    k.put(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}));
    let svc = find(&objects, "Service", ns, service).clone();
    k.put(svc.clone());
    let selector = svc["spec"]["selector"].as_object().cloned().unwrap_or_default();
    let selects = |labels: &Value| selector.iter().all(|(key, v)| labels[key] == *v);
    let mut pods: Vec<Value> = k
        .list("v1", "Pod")
        .into_iter()
        .filter(|p| p["metadata"]["namespace"] == ns && selects(&p["metadata"]["labels"]))
        .collect();
    if pods.is_empty() {
        let w = objects
            .iter()
            .find(|o| {
                matches!(o["kind"].as_str(), Some("Deployment" | "StatefulSet" | "DaemonSet"))
                    && o["metadata"]["namespace"] == ns
                    && selects(&o["spec"]["template"]["metadata"]["labels"])
            })
            .unwrap_or_else(|| panic!("no workload behind {ns}/{service}"));
        let template = &w["spec"]["template"];
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{}-0", w["metadata"]["name"].as_str().unwrap_or_default()),
                "namespace": ns, "labels": template["metadata"]["labels"]},
            "spec": {"nodeName": "node-0", "containers": template["spec"]["containers"]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        pods.push(k.put(pod));
    }
    let target_port = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["port"] == port)
        .map(|p| p["targetPort"].clone())
        .unwrap_or_else(|| panic!("{ns}/{service} has no port {port}"));
    for pod in pods {
        let ready = pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        if !ready {
            continue;
        }
        let container_port = match &target_port {
            Value::String(name) => pod["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["ports"].as_array().into_iter().flatten())
                .find(|p| p["name"] == *name)
                .and_then(|p| p["containerPort"].as_u64())
                .unwrap_or_else(|| panic!("no container port {name} behind {ns}/{service}")),
            Value::Number(n) => n.as_u64().unwrap_or(u64::from(port)),
            _ => u64::from(port),
        };
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        k.stand_in(ns, name, container_port as u16, target);
    }
}

/// The stand-ins of the hub's backends; dropping them stops them.
pub struct HubBackends {
    pub prometheus: MockServer,
    pub loki: MockServer,
    pub tempo: MockServer,
    pub gateway: MockServer,
}

impl HubBackends {
    /// Started and served through `hub`'s port-forward, answering nothing yet.
    pub async fn serve(hub: &K8sFake) -> HubBackends {
        let b = HubBackends {
            prometheus: MockServer::start().await,
            loki: MockServer::start().await,
            tempo: MockServer::start().await,
            gateway: MockServer::start().await,
        };
        serve(hub, "hub", "monitoring", "prometheus", 9090, *b.prometheus.address());
        serve(hub, "hub", "monitoring", "loki", 3100, *b.loki.address());
        serve(hub, "hub", "monitoring", "tempo", 3200, *b.tempo.address());
        serve(
            hub,
            "hub",
            "observability-hub",
            "otel-gateway",
            13133,
            *b.gateway.address(),
        );
        b
    }
}

/// Paths a fake API server was asked for through the service proxy (there must be none: LKE's
/// NetworkPolicies drop what the API server proxies).
pub fn proxied(k: &K8sFake) -> Vec<String> {
    k.requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.contains("/services/") && p.contains("/proxy"))
        .collect()
}

pub fn param(req: &Request, key: &str) -> String {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub fn vector(items: Vec<(Value, f64)>) -> ResponseTemplate {
    let result: Vec<Value> = items
        .into_iter()
        .map(|(metric, v)| json!({"metric": metric, "value": [1.0, v.to_string()]}))
        .collect();
    ResponseTemplate::new(200)
        .set_body_json(json!({"status": "success", "data": {"resultType": "vector", "result": result}}))
}

/// Prometheus' `/api/v1/alerts` as the hub's rules (manifests/hub/20-prometheus.yaml) make it: eu-west
/// silent (firing), a queue filling on us-east (still pending: `status` leaves it out).
pub fn alerts_answer() -> Value {
    json!({"status": "success", "data": {"alerts": [
        {"labels": {"alertname": "LkeobsSendingQueueNearFull", "cluster_id": "us-east", "exporter": "otlp_grpc/hub",
            "data_type": "logs", "severity": "warning"},
         "annotations": {"summary": "Cluster us-east: the sending queue of otlp_grpc/hub is 85% full: see `lkeobs status`"},
         "state": "pending", "activeAt": "2026-08-01T10:05:00Z", "value": "8.5e-01"},
        {"labels": {"alertname": "LkeobsMetricsSilent", "cluster_id": "eu-west", "severity": "critical"},
         "annotations": {"summary": "Cluster eu-west has sent no metrics to the hub for 5 minutes: see `lkeobs status`, then `lkeobs verify`",
            "description": "No kubelet node metric (k8s_node_cpu_usage) with cluster_id=eu-west reached Prometheus in the last 5 minutes."},
         "state": "firing", "activeAt": "2026-08-01T10:00:00Z", "value": "1e+00"}
    ]}})
}

/// The hub's Prometheus, Loki, Tempo and gateway health, answering on stand-ins of their pods.
pub async fn mount_hub_backends(hub: &K8sFake, trace_lookups: Arc<AtomicUsize>) -> HubBackends {
    let backends = HubBackends::serve(hub).await;
    let now_s = now_unix_nanos() as f64 / 1e9 - 5.0;
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
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
        .mount(&backends.prometheus)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/alerts"))
        .respond_with(ResponseTemplate::new(200).set_body_json(alerts_answer()))
        .mount(&backends.prometheus)
        .await;
    let line = (now_unix_nanos() - 2_000_000_000).to_string();
    Mock::given(method("GET"))
        .and(path("/loki/api/v1/query_range"))
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
        .mount(&backends.loki)
        .await;
    Mock::given(method("GET"))
        .and(path("/ready"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ready"))
        .mount(&backends.tempo)
        .await;
    let started = (now_unix_nanos() - 30_000_000_000).to_string();
    Mock::given(method("GET"))
        .and(path("/api/search"))
        .respond_with(move |r: &Request| {
            let q = param(r, "q");
            let traces = if q.contains("\"eu-west\"") {
                json!([])
            } else {
                json!([{"traceID": "2f3e0cee77ae5dc9c17ade3689eb2e54", "rootServiceName": "app", "startTimeUnixNano": started}])
            };
            ResponseTemplate::new(200).set_body_json(json!({"traces": traces, "metrics": {}}))
        })
        .mount(&backends.tempo)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/api/traces/[0-9a-f]{32}$"))
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
        .mount(&backends.tempo)
        .await;
    Mock::given(method("GET"))
        .and(path("/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"status": "Server available", "upSince": "2025-01-01T00:00:00Z", "uptime": "1h"}),
            ),
        )
        .mount(&backends.gateway)
        .await;
    backends
}

/// A Linode fake holding the probe fleet's two clusters (`hub` in us-ord, `us-east`), tagged as fleet
/// `probe`'s, whose kubeconfigs lead to `hub` and `edge`.
pub async fn seeded_linode(hub: &K8sFake, edge: &K8sFake) -> LinodeFake {
    let mut st = State::seeded();
    st.kubeconfig_not_ready_polls = 0;
    st.regions
        .push(json!({"id": "us-east", "label": "us-east", "capabilities": ["Kubernetes"], "status": "ok"}));
    st.kube_servers.insert("lkeobs-probe-hub".into(), hub.uri());
    st.kube_servers.insert("lkeobs-probe-us-east".into(), edge.uri());
    let linode = LinodeFake::start_with(st).await;
    for (label, region, role) in [
        ("lkeobs-probe-hub", "us-ord", "hub"),
        ("lkeobs-probe-us-east", "us-east", "edge"),
    ] {
        let tags = [
            "lkeobs".to_string(),
            "lkeobs-fleet-probe".into(),
            format!("lkeobs-role-{role}"),
        ];
        linode
            .seed_cluster(label, region, vec![NodePoolSpec::new("g6-standard-2", 2)], &tags)
            .await;
    }
    linode
}
