//! Shared by the probe and verify tests: a fleet, its workloads rolled out in simulated Kubernetes APIs,
//! and the simulator's data path (`lkeobs::sim::data_path`): the hub's Prometheus, Loki, Tempo and
//! gateway and the agents' OTLP intake answering on their pods' ports, reached through the port-forward
//! (the Services and pods are the rendered stack's), from what the clusters send.
#![allow(dead_code)]

use std::net::SocketAddr;

use lkeobs::fleet::Fleet;
use lkeobs::k8s::{Manifests, WorkloadKind};
use lkeobs::probes::pods;
use lkeobs::sim::data_path::DataPath;
use lkeobs::stack::{Inputs, Renderer};
use serde_json::{Value, json};

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
                "labels": agent["spec"]["template"]["metadata"]["labels"],
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "otel-agent",
                    "uid": "fixture-otel-agent", "controller": true}]},
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

/// Puts the rendered Service `ns/service` of `cluster` and a Ready pod of its rendered workload unless
/// pods it selects exist already; the Service and the Ready pods behind it.
pub fn workload_pods(k: &K8sFake, cluster: &str, ns: &str, service: &str) -> (Value, Vec<Value>) {
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
        let workload = w["metadata"]["name"].as_str().unwrap_or_default();
        // Controlled by its workload, as a controller's pod is (stand-ins are found through the owner).
        let owner = json!([{"apiVersion": "apps/v1", "kind": w["kind"], "name": workload,
            "uid": format!("fixture-{workload}"), "controller": true}]);
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("{workload}-0"),
                "namespace": ns, "labels": template["metadata"]["labels"], "ownerReferences": owner},
            "spec": {"nodeName": "node-0", "containers": template["spec"]["containers"]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        pods.push(k.put(pod));
    }
    pods.retain(|pod| {
        pod["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    });
    (svc, pods)
}

/// Serves port `port` of Service `ns/service` of `cluster` from `target`: [`workload_pods`], and
/// `target` registered for the container port the Service port leads to on each Ready pod.
pub fn serve(k: &K8sFake, cluster: &str, ns: &str, service: &str, port: u16, target: SocketAddr) {
    let (svc, pods) = workload_pods(k, cluster, ns, service);
    let target_port = svc["spec"]["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["port"] == port)
        .map(|p| p["targetPort"].clone())
        .unwrap_or_else(|| panic!("{ns}/{service} has no port {port}"));
    for pod in pods {
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

/// Paths a fake API server was asked for through the service proxy (there must be none: LKE's
/// NetworkPolicies drop what the API server proxies).
pub fn proxied(k: &K8sFake) -> Vec<String> {
    k.requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|p| p.contains("/services/") && p.contains("/proxy"))
        .collect()
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

/// The hub's data path: the simulator's stand-ins served on the pods of `hub` (its Prometheus, Loki,
/// Tempo and gateway, put as the rendered stack has them) and on every cluster's agent pods, answering
/// from what the clusters of `linode` (see [`seeded_linode`]) send. The gateway's LoadBalancer Service
/// has the address of a NodeBalancer, as the cloud controller gives it; no firewall is attached.
pub struct HubBackends(pub DataPath);

pub async fn mount_hub_backends(linode: &LinodeFake, clusters: &[(&str, &K8sFake)]) -> HubBackends {
    let (label, hub) = clusters[0];
    for (ns, service) in [
        ("monitoring", "prometheus"),
        ("monitoring", "loki"),
        ("monitoring", "tempo"),
        ("observability-hub", "otel-gateway"),
    ] {
        workload_pods(hub, "hub", ns, service);
    }
    let ip = {
        let mut st = linode.state();
        let cluster = st
            .clusters
            .values()
            .find(|c| c["label"] == label)
            .and_then(|c| c["id"].as_u64());
        let nb = st.seed_nodebalancer("ccm-probe-gateway", cluster, &[]);
        st.nodebalancers[&nb]["ipv4"].clone()
    };
    let mut lb = find(
        &rendered("hub"),
        "Service",
        "observability-hub",
        "otel-gateway-external",
    )
    .clone();
    lb["status"] = json!({"loadBalancer": {"ingress": [{"ip": ip}]}});
    hub.put(lb);
    // Every cluster's agents are reached through their Service, as the canary posts to it.
    for (label, k) in clusters {
        let name = label
            .strip_prefix("lkeobs-")
            .and_then(|l| l.split_once('-'))
            .map_or(*label, |(_, name)| name);
        workload_pods(k, name, "observability", "otel-agent");
    }
    let apis: Vec<(String, std::sync::Arc<lkeobs::sim::KubeApi>)> =
        clusters.iter().map(|(l, k)| (l.to_string(), k.0.clone())).collect();
    let data = DataPath::start_over(&linode.0, &apis)
        .await
        .expect("the data path starts");
    data.set_alerts(
        alerts_answer()["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    HubBackends(data)
}

/// Puts in the hub's stores what `cluster` sent recently, as the stack labels it: node metrics for
/// `nodes` 5 s ago, a log line 2 s ago, a trace started 30 s ago (for a cluster the data path does not
/// see sending, such as one no longer in the account).
pub fn seed_recent(data: &DataPath, cluster: &str, nodes: &[&str]) {
    use lkeobs::sim::data_store::{Entry, Span, labels};
    let now_ns = lkeobs::probes::now_unix_nanos();
    let now_s = now_ns as f64 / 1e9;
    data.seed(|st| {
        for node in nodes {
            let l = labels(&[
                ("__name__", "k8s_node_cpu_usage"),
                ("cluster_id", cluster),
                ("k8s_node_name", node),
                ("hub_received_at", "otel-gateway"),
            ]);
            st.sample(l, now_s - 5.0, 0.25);
        }
        let entry = Entry {
            ns: now_ns - 2_000_000_000,
            line: "a line".into(),
            metadata: labels(&[("hub_received_at", "otel-gateway-0")]),
        };
        st.log(labels(&[("cluster_id", cluster), ("service_name", "app")]), entry);
        st.span(Span {
            trace_id: format!("{:0>32}", cluster.len()),
            name: "GET /".into(),
            start_ns: now_ns - 30_000_000_000,
            resource: labels(&[("cluster.id", cluster), ("service.name", "app")]),
            attributes: Default::default(),
        });
    });
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
