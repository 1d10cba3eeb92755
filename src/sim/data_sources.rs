//! What the hub's stores hold at a moment, built from the simulated platform: each cluster whose data
//! reaches its hub sends kubelet node metrics for the Nodes its API lists, a log stream and a trace (as
//! its agents and the gateway would label them), the gateway's own counters follow the generators'
//! load ([`super::gateway_load`]), plus what the agents took over OTLP and what a scenario seeded.

use std::sync::Arc;

use super::data_links::Sender;
use super::data_path::Shared;
use super::data_store::{Entry, Labels, Series, Span, Store};
use super::gateway_load::Source;
use super::kube::KubeApi;
use super::world::lock;
use crate::objects;

/// The kubelet stats node metrics every agent sends for every node, every [`SCRAPE_S`] seconds.
pub const NODE_METRICS: [&str; 2] = ["k8s_node_cpu_usage", "k8s_node_memory_working_set_bytes"];
/// The agents' collection interval.
pub const SCRAPE_S: f64 = 20.0;
/// How much history the generated series have.
const HISTORY_S: f64 = 600.0;

pub(crate) fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// The Running gateway pods of a hub, by name.
pub(crate) fn gateway_pods(hub: &KubeApi) -> Vec<String> {
    let prefix = format!("{}-", objects::GATEWAY.name);
    hub.list("v1", "Pod")
        .iter()
        .filter(|p| p["metadata"]["namespace"] == objects::GATEWAY.namespace && p["status"]["phase"] == "Running")
        .filter_map(|p| p["metadata"]["name"].as_str())
        .filter(|n| n.starts_with(&prefix))
        .map(str::to_string)
        .collect()
}

fn role(c: &Sender) -> &'static str {
    if c.hub { "hub" } else { "edge" }
}

fn of(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A stable 32-hex-digit trace id for a cluster's steady traffic.
fn trace_id(name: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(name.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// A cluster's steady traffic as the hub stores it; `pod` is the gateway replica that received it.
fn steady(c: &Sender, pod: &str, st: &mut Store, now_ns: u128) {
    let now_s = now_ns as f64 / 1e9;
    let role = role(c);
    for node in &c.nodes {
        for metric in NODE_METRICS {
            let labels = of(&[
                ("__name__", metric),
                ("cluster_id", &c.name),
                ("cluster_role", role),
                ("k8s_cluster_name", &c.label),
                ("k8s_node_name", node),
                ("hub_received_at", "otel-gateway"),
            ]);
            let n = (HISTORY_S / SCRAPE_S) as usize;
            let samples = (0..n).rev().map(|i| (now_s - 5.0 - i as f64 * SCRAPE_S, 1.0)).collect();
            st.series.push(Series { labels, samples });
        }
    }
    // The pod's namespace, name and container come from the log file's path; its controller and node only
    // from the agents' `k8s_attributes` watch of the API server.
    let mut stream = of(&[
        ("cluster_id", &c.name),
        ("cluster_role", role),
        ("service_name", "app"),
        ("k8s_namespace_name", "default"),
        ("k8s_pod_name", "app-7d4b9c8f6d-x2v9q"),
    ]);
    let mut resource = of(&[
        ("service.name", "app"),
        ("cluster.id", &c.name),
        ("cluster.role", role),
        ("k8s.cluster.name", &c.label),
        ("hub.received_at", pod),
    ]);
    if c.metadata {
        stream.insert("k8s_deployment_name".into(), "app".into());
        resource.insert("k8s.deployment.name".into(), "app".into());
        resource.insert("k8s.namespace.name".into(), "default".into());
    }
    // A line every 15 s up to 2 s ago, as a steady service logs: a query whose window ended a moment
    // before the store answers (a slow request) still finds the lines written before it.
    for ago_s in [62u128, 47, 32, 17, 2] {
        st.log(
            stream.clone(),
            Entry {
                ns: now_ns - ago_s * 1_000_000_000,
                line: "GET / 200".into(),
                metadata: of(&[("hub_received_at", pod)]),
            },
        );
    }
    st.span(Span {
        trace_id: trace_id(&c.name),
        name: "GET /".into(),
        start_ns: now_ns - 30_000_000_000,
        resource,
        attributes: Labels::new(),
    });
}

impl Shared {
    /// The hub of `fleet`'s Kubernetes API.
    pub(crate) fn hub_api(&self, all: &[Sender], fleet: &str) -> Option<Arc<KubeApi>> {
        let hub = all.iter().find(|c| c.hub && c.fleet == fleet)?;
        lock(&self.apis).get(&hub.label).cloned()
    }

    /// Everything the hub's stores hold now.
    pub(crate) fn store(&self) -> Store {
        self.store_with(true)
    }

    /// What the hub's stores hold now; the gateway pods' own series only with `gateway_self` (a store
    /// that scrapes them).
    pub(crate) fn store_with(&self, gateway_self: bool) -> Store {
        let now = now_ns();
        let all = self.clusters();
        let on = self.sending_of(&all);
        let mut st = Store::default();
        let mut pods = Vec::new();
        let mut sources = Vec::new();
        for c in &on {
            let gateway = self
                .hub_api(&all, &c.fleet)
                .map(|h| gateway_pods(&h))
                .unwrap_or_default();
            let pod = gateway
                .first()
                .cloned()
                .unwrap_or_else(|| objects::GATEWAY.name.to_string());
            if c.hub {
                pods.extend(gateway);
            }
            if self.steady.load(std::sync::atomic::Ordering::Relaxed) {
                steady(c, &pod, &mut st, now);
            }
            if let Some(k8s) = lock(&self.apis).get(&c.label).cloned() {
                sources.push((c, k8s));
            }
        }
        let sources: Vec<Source<'_>> = sources
            .iter()
            .map(|(c, k8s)| Source {
                cluster: &c.name,
                role: role(c),
                k8s,
            })
            .collect();
        self.load
            .record(&sources, &pods, gateway_self, &mut st, now as f64 / 1e9);
        st.extend(&self.ingested());
        st.extend(&lock(&self.seeded));
        st
    }
}
