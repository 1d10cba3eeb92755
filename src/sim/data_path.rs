//! The hub's data path, simulated: stand-ins for Prometheus, Loki, Tempo and the gateway's health,
//! served on each simulated cluster's pods (`monitoring/prometheus-0:9090`, …) so the probes reach them
//! through the same port-forward they use on LKE, and an OTLP/HTTP intake on each cluster's agent pods
//! (`observability/otel-agent-N:4318`) that takes the canary. The query APIs answer with what the
//! fleet's clusters would have sent ([`super::data_links`]: node metrics for the Nodes each cluster's
//! API lists now, log streams and traces per `cluster_id`, gateway counters) and with every canary that
//! reached the hub, with its `cluster.id` and `hub.received_at`. A silenced cluster sends nothing.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::task::JoinHandle;

use super::data_answers::{Agent, Gateway, Loki, Prometheus, Tempo};
use super::data_links::{Sender, senders};
use super::http::{self, Handler};
use super::kube::KubeApi;
use super::linode::State;
use super::world::{Apis, lock};
use crate::objects;

/// A canary item that reached the hub.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    /// `traces`, `logs` or `metrics`.
    pub signal: String,
    /// `lkeobs.canary.id`.
    pub run_id: String,
    /// The trace id (traces and logs).
    pub trace_id: String,
    /// The `cluster.id` of the edge whose agent took it.
    pub cluster: String,
}

/// What the stand-ins share: the platform to judge links by, silenced clusters, received canaries.
pub(crate) struct Shared {
    linode: Arc<Mutex<State>>,
    apis: Apis,
    silent: Mutex<BTreeSet<String>>,
    /// Whether a broken link (firewall, certificate, gateway pods) stops a cluster's data.
    links: AtomicBool,
    pub(crate) received: Mutex<Vec<Received>>,
}

impl Shared {
    /// The fleet clusters whose data reaches their hub now.
    pub(crate) fn sending(&self) -> Vec<Sender> {
        let silent = lock(&self.silent).clone();
        senders(&self.linode, &self.apis)
            .into_iter()
            .filter(|s| (s.broken.is_none() || !self.links.load(Ordering::Relaxed)) && !silent.contains(&s.name))
            .collect()
    }
}

/// The running stand-ins (stopped when dropped).
pub struct DataPath {
    shared: Arc<Shared>,
    hub: Vec<(&'static str, &'static str, u16, SocketAddr)>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for DataPath {
    fn drop(&mut self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
    }
}

async fn start(handler: Arc<dyn Handler>) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = http::bind_loopback(0).await?;
    let addr = listener.local_addr()?;
    Ok((addr, http::serve(listener, handler)))
}

impl DataPath {
    /// Starts the hub stand-ins over the world's platform.
    pub(crate) async fn start(linode: Arc<Mutex<State>>, apis: Apis) -> std::io::Result<DataPath> {
        let shared = Arc::new(Shared {
            linode,
            apis,
            silent: Mutex::new(BTreeSet::new()),
            links: AtomicBool::new(true),
            received: Mutex::new(Vec::new()),
        });
        let (prometheus, p) = start(Arc::new(Prometheus(shared.clone()))).await?;
        let (loki, l) = start(Arc::new(Loki(shared.clone()))).await?;
        let (tempo, t) = start(Arc::new(Tempo(shared.clone()))).await?;
        let (gateway, g) = start(Arc::new(Gateway)).await?;
        let (grafana, gr) = start(Arc::new(super::data_grafana::Grafana)).await?;
        let (mon, hub) = (objects::MONITORING, objects::OBSERVABILITY_HUB);
        Ok(DataPath {
            shared,
            hub: vec![
                (mon, "prometheus", 9090, prometheus),
                (mon, "loki", 3100, loki),
                (mon, "tempo", 3200, tempo),
                (hub, "otel-gateway", 13133, gateway),
                (mon, "grafana", 3000, grafana),
            ],
            tasks: Mutex::new(vec![p, l, t, g, gr]),
        })
    }

    /// Serves the stand-ins on `api`'s pods (the hub's, and the agent intake for `label`'s agents).
    pub(crate) async fn register(&self, label: &str, api: &KubeApi) -> std::io::Result<()> {
        // Every pod the controllers run for the workloads.
        for (namespace, workload, port, addr) in &self.hub {
            api.stand_in(namespace, workload, *port, *addr);
        }
        let agent = Agent {
            shared: self.shared.clone(),
            label: label.to_string(),
        };
        let (addr, task) = start(Arc::new(agent)).await?;
        lock(&self.tasks).push(task);
        api.stand_in(objects::AGENT.namespace, objects::AGENT.name, 4318, addr);
        Ok(())
    }

    /// From now on the cluster named `name` (its `cluster.id`) sends nothing.
    pub fn silence(&self, name: &str) {
        lock(&self.shared.silent).insert(name.to_string());
    }

    /// Whether broken links stop the data (on by default); off, only silenced clusters send nothing.
    pub fn judge_links(&self, on: bool) {
        self.shared.links.store(on, Ordering::Relaxed);
    }

    /// The cluster named `name` sends again.
    pub fn resume(&self, name: &str) {
        lock(&self.shared.silent).remove(name);
    }

    /// Why each fleet cluster's data does not reach its hub (name → reason), for those it does not.
    pub fn broken_links(&self) -> Vec<(String, String)> {
        senders(&self.shared.linode, &self.shared.apis)
            .into_iter()
            .filter_map(|s| Some((s.name, s.broken?)))
            .collect()
    }
}

/// A string attribute of an OTLP/JSON attribute list.
pub(crate) fn attribute(attributes: &Value, key: &str) -> Option<String> {
    attributes
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .and_then(|a| a["value"]["stringValue"].as_str())
        .map(str::to_string)
}
