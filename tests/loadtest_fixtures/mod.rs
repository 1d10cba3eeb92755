//! Shared by the load-test tests: the probe fixtures' hub and `us-east` edge with their stacks, the
//! fake's Job controller running in the edge, and the hub's Prometheus, Loki and Tempo answering from a
//! simulated gateway whose figures follow the load the Jobs generate (refusing a given share of it).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, ResponseTemplate};

use crate::probes_fixtures::{self, HubBackends, deploy, param, vector};
use crate::support::jobs::{GatewaySim, JobRunner};
use crate::support::k8s_fake::K8sFake;
use crate::support::linode_fake::LinodeFake;
use crate::support::world::Latencies;

/// The gateway's autoscaler as the hub's fake holds it: scaled to 2 of at most 3 replicas.
pub const REPLICAS: i64 = 2;

pub struct Setup {
    pub linode: LinodeFake,
    pub hub: Arc<K8sFake>,
    pub edge: Arc<K8sFake>,
    pub sim: Arc<GatewaySim>,
    pub dir: tempfile::TempDir,
    _backends: HubBackends,
    _jobs: JobRunner,
}

impl Setup {
    pub fn fleet_path(&self) -> PathBuf {
        self.dir.path().join("lkeobs.toml")
    }

    /// The load-test Jobs (and their pods) left in the edge.
    pub fn leftovers(&self) -> Vec<String> {
        let jobs = self.edge.list("batch/v1", "Job").into_iter();
        let pods = self
            .edge
            .list("v1", "Pod")
            .into_iter()
            .filter(|p| p["metadata"]["labels"]["lkeobs.io/loadtest"].is_string());
        jobs.chain(pods)
            .map(|o| format!("{}/{}", o["kind"], o["metadata"]["name"]))
            .collect()
    }
}

/// The probe fixtures' fleet without its third cluster: a hub and the edge `us-east`.
pub fn two_cluster_fleet() -> String {
    let cut = probes_fixtures::FLEET.find("[edges.eu-west]").expect("eu-west table");
    probes_fixtures::FLEET[..cut].to_string()
}

/// The hub and edge deployed, the backends answering, the Job controller running; the simulated
/// gateway refuses `refuse` (0..1) of what the generators send.
pub async fn setup(refuse: f64) -> Setup {
    let (hub, edge) = (Arc::new(K8sFake::start().await), Arc::new(K8sFake::start().await));
    let fl = probes_fixtures::fleet();
    deploy(&hub, &fl, "hub", &["hub-1", "hub-2"], &[]);
    deploy(&edge, &fl, "us-east", &["use-1", "use-2"], &[]);
    hub.put(
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "otel-gateway", "namespace": "observability-hub"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "otel-gateway"},
            "minReplicas": 1, "maxReplicas": 3},
        "status": {"currentReplicas": REPLICAS, "desiredReplicas": REPLICAS}}),
    );
    let backends = HubBackends::serve(&hub).await;
    let sim = Arc::new(GatewaySim::new(vec![edge.clone()], refuse));
    let s = sim.clone();
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .respond_with(move |r: &Request| {
            let q = param(r, "query");
            if q.contains("otelcol_exporter_queue") {
                vector(s.queues())
            } else if q.contains("otelcol_") {
                vector(s.counters())
            } else if q.starts_with("count({lkeobs_loadtest_run=") {
                vector(if s.marked_in(&q) {
                    vec![(json!({}), 1.0)]
                } else {
                    vec![]
                })
            } else {
                ResponseTemplate::new(400)
                    .set_body_json(json!({"status": "error", "errorType": "bad_data", "error": q}))
            }
        })
        .mount(&backends.prometheus)
        .await;
    let s = sim.clone();
    Mock::given(method("GET"))
        .and(path("/loki/api/v1/query_range"))
        .respond_with(move |r: &Request| {
            let q = param(r, "query");
            let result = if q.contains("lkeobs_loadtest_run=") && s.marked_in(&q) {
                json!([{"stream": {"service_name": "lkeobs-loadtest", "cluster_id": "us-east"},
                    "values": [["1", "the message"]]}])
            } else {
                json!([])
            };
            ResponseTemplate::new(200)
                .set_body_json(json!({"status": "success", "data": {"resultType": "streams", "result": result}}))
        })
        .mount(&backends.loki)
        .await;
    let s = sim.clone();
    Mock::given(method("GET"))
        .and(path("/api/search"))
        .respond_with(move |r: &Request| {
            let q = param(r, "q");
            let traces = if q.contains("span.lkeobs.loadtest.run") && s.marked_in(&q) {
                json!([{"traceID": "2f3e0cee77ae5dc9c17ade3689eb2e54", "rootServiceName": "lkeobs-loadtest"}])
            } else {
                json!([])
            };
            ResponseTemplate::new(200).set_body_json(json!({"traces": traces, "metrics": {}}))
        })
        .mount(&backends.tempo)
        .await;
    let jobs = JobRunner::start(vec![("us-east".into(), edge.0.clone())], Latencies::default());
    let linode = probes_fixtures::seeded_linode(&hub, &edge).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("lkeobs.toml"), two_cluster_fleet()).expect("fleet file");
    Setup {
        linode,
        hub,
        edge,
        sim,
        dir,
        _backends: backends,
        _jobs: jobs,
    }
}
