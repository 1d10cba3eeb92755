//! Shared by the load-test tests: the probe fixtures' hub and `us-east` edge with their stacks, the
//! simulator's Job controller running in the edge, and the simulator's data path, whose gateway figures
//! follow the load the Jobs generate (refusing a given share of it) and whose stores receive the items
//! the generators mark.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;

use crate::probes_fixtures::{self, HubBackends, deploy};
use crate::support::jobs::JobRunner;
use crate::support::k8s_fake::K8sFake;
use crate::support::linode_fake::LinodeFake;
use crate::support::world::Latencies;

/// The gateway's autoscaler as the hub's fake holds it: scaled to 2 of at most 3 replicas.
pub const REPLICAS: i64 = 2;

pub struct Setup {
    pub linode: LinodeFake,
    pub hub: Arc<K8sFake>,
    pub edge: Arc<K8sFake>,
    pub data: HubBackends,
    pub dir: tempfile::TempDir,
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

/// The hub and edge deployed, the data path answering, the Job controller running; the simulated
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
    let linode = probes_fixtures::seeded_linode(&hub, &edge).await;
    let data =
        probes_fixtures::mount_hub_backends(&linode, &[("lkeobs-probe-hub", &hub), ("lkeobs-probe-us-east", &edge)])
            .await;
    data.0.refuse(refuse);
    let jobs = JobRunner::start(vec![("us-east".into(), edge.0.clone())], Latencies::default());
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("lkeobs.toml"), two_cluster_fleet()).expect("fleet file");
    Setup {
        linode,
        hub,
        edge,
        data,
        dir,
        _jobs: jobs,
    }
}
