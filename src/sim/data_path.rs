//! The hub's data path, simulated: stand-ins for Prometheus, Loki, Tempo and the gateway's health,
//! served on each simulated cluster's pods (`monitoring/prometheus-0:9090`, …) so the probes reach them
//! through the same port-forward they use on LKE, and an OTLP/HTTP intake on each cluster's agent pods
//! (`observability/otel-agent-N:4318`). The query APIs evaluate the queries they are sent over what the
//! hub stores ([`super::data_sources`]): what each cluster whose link works sends ([`super::data_links`]),
//! what the agents took, what a scenario seeded. A silenced cluster sends nothing.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

use super::data_answers::{Agent, Gateway, Loki, Prometheus, Tempo};
use super::data_engines::Engine;
pub use super::data_flush::FlushError;
use super::data_mimir::Mimir;
use super::data_rings::Ringed;
pub(crate) use super::data_shared::Shared;
use super::data_store::Store;
use super::http::{self, Handler};
use super::kube::KubeApi;
use super::linode::{LinodeApi, State};
use super::pod_port::Target;
use super::world::{Apis, lock};
use crate::objects;

/// The running stand-ins (stopped when dropped).
pub struct DataPath {
    pub(crate) shared: Arc<Shared>,
    /// The Alertmanager stand-in's state (its fault switch).
    alertmanager: Arc<Mutex<super::data_alertmanager::AmState>>,
    hub: Vec<(&'static str, &'static str, u16, Arc<dyn Handler>)>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Drop for DataPath {
    fn drop(&mut self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
    }
}

impl DataPath {
    /// Starts the hub stand-ins over the world's platform.
    pub(crate) async fn start(linode: Arc<Mutex<State>>, apis: Apis) -> std::io::Result<DataPath> {
        let shared = Arc::new(Shared::new(linode, apis));
        let flusher = tokio::spawn(super::data_flush::run(shared.clone()));
        // Served in-process on the pods' ports: no listener, so only a port-forward through a cluster's
        // API (which demands its token) reaches them, as only the kubelet reaches a pod's loopback.
        let prometheus: Arc<dyn Handler> = Arc::new(Prometheus(shared.clone()));
        let loki: Arc<dyn Handler> = Arc::new(Loki(shared.clone()));
        let tempo: Arc<dyn Handler> = Arc::new(Tempo(shared.clone()));
        let gateway: Arc<dyn Handler> = Arc::new(Gateway(shared.clone()));
        let grafana: Arc<dyn Handler> = Arc::new(super::data_grafana::Grafana);
        let alertmanager = Arc::new(Mutex::new(super::data_alertmanager::AmState::default()));
        let am: Arc<dyn Handler> = Arc::new(super::data_alertmanager::Alertmanager {
            apis: shared.apis.clone(),
            state: alertmanager.clone(),
        });
        let (mon, hub) = (objects::MONITORING, objects::OBSERVABILITY_HUB);
        Ok(DataPath {
            shared,
            alertmanager,
            hub: vec![
                (mon, "prometheus", 9090, prometheus),
                (mon, "loki", 3100, loki),
                (mon, "tempo", 3200, tempo),
                (hub, "otel-gateway", 13133, gateway),
                (mon, "grafana", 3000, grafana),
                (mon, "alertmanager", 9093, am),
            ],
            tasks: Mutex::new(vec![flusher]),
        })
    }

    /// Serves the stand-ins on `api`'s pods (the hub's, and the agent intake for `label`'s agents).
    pub(crate) async fn register(&self, label: &str, api: &KubeApi) -> std::io::Result<()> {
        // Every pod the controllers run for the workloads.
        for (namespace, workload, port, handler) in &self.hub {
            let handler = self.on_cluster(label, workload, handler.clone());
            api.serve_port(namespace, workload, *port, Target::InProcess(handler));
        }
        let mimir = Arc::new(Mimir {
            shared: self.shared.clone(),
            label: label.to_string(),
        });
        api.serve_port(
            objects::MIMIR.namespace,
            objects::MIMIR.name,
            objects::MIMIR_HTTP_PORT,
            Target::InProcess(mimir),
        );
        let agent = Agent {
            shared: self.shared.clone(),
            label: label.to_string(),
        };
        api.serve_port(
            objects::AGENT.namespace,
            objects::AGENT.name,
            4318,
            Target::InProcess(Arc::new(agent)),
        );
        Ok(())
    }

    /// A stand-in as served on cluster `label`'s pods: Loki and Tempo answer their ring from its pods.
    fn on_cluster(&self, label: &str, workload: &str, handler: Arc<dyn Handler>) -> Arc<dyn Handler> {
        let engine = match workload {
            "loki" => Engine::Loki,
            "tempo" => Engine::Tempo,
            _ => return handler,
        };
        Arc::new(Ringed {
            inner: handler,
            apis: self.shared.apis.clone(),
            label: label.to_string(),
            engine,
        })
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

    /// Starts the stand-ins over a Linode API and some clusters' Kubernetes APIs (label → API), without
    /// a [`super::World`] and its controllers, and serves them on those clusters' pods.
    pub async fn start_over(linode: &LinodeApi, clusters: &[(String, Arc<KubeApi>)]) -> std::io::Result<DataPath> {
        let apis: Apis = Arc::new(Mutex::new(clusters.iter().cloned().collect()));
        let data = DataPath::start(linode.shared_state(), apis).await?;
        for (label, api) in clusters {
            data.register(label, api).await?;
        }
        Ok(data)
    }

    /// Puts data in the hub's stores, as if the stack had written it (kept until [`DataPath::unseed`]).
    pub fn seed(&self, put: impl FnOnce(&mut Store)) {
        put(&mut lock(&self.shared.seeded));
    }

    /// From now on what the agents take shows at the hub only `delay` later (ingesters flushing).
    pub fn ingestion_delay(&self, delay: Duration) {
        lock(&self.shared.pending).0 = delay;
    }

    /// From now on the hub's Prometheus, Loki and Tempo answer only `delay` after a request.
    pub fn answer_after(&self, delay: Duration) {
        *lock(&self.shared.answer_delay) = delay;
    }

    /// Tempo's `/ready` answers 503 the next `times` times (its ingester waiting after joining the ring).
    pub fn tempo_unready(&self, times: u32) {
        *lock(&self.shared.tempo_unready) = times;
    }

    /// `http://127.0.0.1:<port>` of a hub stand-in (`prometheus`, `loki`, `tempo`, `otel-gateway`), to
    /// reach it without a port-forward: a listener opened on this call for a caller in this process (a
    /// test); `lkeobs sim` never opens one. It stops with the data path.
    pub async fn url(&self, workload: &str) -> Option<String> {
        let handler = self.hub.iter().find(|(_, w, _, _)| *w == workload)?.3.clone();
        self.listen(handler).await
    }

    /// As [`DataPath::url`], for a stand-in as served on cluster `label`'s pods (with its rings), Mimir too.
    pub async fn url_on(&self, label: &str, workload: &str) -> Option<String> {
        let handler: Arc<dyn Handler> = if workload == objects::MIMIR.name {
            Arc::new(Mimir {
                shared: self.shared.clone(),
                label: label.to_string(),
            })
        } else {
            let handler = self.hub.iter().find(|(_, w, _, _)| *w == workload)?.3.clone();
            self.on_cluster(label, workload, handler)
        };
        self.listen(handler).await
    }

    async fn listen(&self, handler: Arc<dyn Handler>) -> Option<String> {
        let listener = http::bind_loopback(0).await.ok()?;
        let addr = listener.local_addr().ok()?;
        let guard = http::Guard {
            token: None,
            port: Some(addr.port()),
            bodies: http::Bodies::Any,
        };
        lock(&self.tasks).push(http::serve(listener, handler, guard));
        Some(format!("http://{addr}"))
    }

    /// From now on every notification to the alert receiver `name` fails (the hub's Alertmanager counts it
    /// in `alertmanager_notifications_failed_total`).
    pub fn fail_receiver(&self, name: &str) {
        lock(&self.alertmanager).failing.insert(name.to_string());
    }

    /// Forgets what was seeded.
    pub fn unseed(&self) {
        *lock(&self.shared.seeded) = Store::default();
    }

    /// Makes these alerts (`/api/v1/alerts` items) the ones Prometheus reports.
    pub fn set_alerts(&self, alerts: Vec<Value>) {
        *lock(&self.shared.alerts) = alerts;
    }

    /// Whether the sending clusters' steady traffic (node metrics for their Nodes, a log stream, a
    /// trace) is in the stores (on by default); off, only what the agents took and what was seeded.
    pub fn steady_traffic(&self, on: bool) {
        self.shared.steady.store(on, Ordering::Relaxed);
    }

    /// From now on the hub's gateway refuses `share` (0 to 1) of what load generators send.
    pub fn refuse(&self, share: f64) {
        self.shared.load.refuse(share);
    }

    /// Everything the hub's stores hold now.
    pub fn store(&self) -> Store {
        self.shared.store()
    }

    /// Why each fleet cluster's data does not reach its hub (name → reason), for those it does not.
    pub fn broken_links(&self) -> Vec<(String, String)> {
        self.shared
            .clusters()
            .into_iter()
            .filter_map(|s| Some((s.name, s.broken?)))
            .collect()
    }
}
