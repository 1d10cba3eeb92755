//! The hub's data path as the probes see it, for a [`World`]: the product simulator's
//! (`lkeobs::sim::data_path`) stand-ins for Prometheus, Loki, Tempo, the gateway's health and the agents'
//! OTLP intake, served through the clusters' port-forwards, answering with what each fleet cluster
//! sends (node metrics for the Nodes its API lists now, log streams and traces per `cluster_id`).

use std::sync::Arc;

use lkeobs::sim::data_path::DataPath;

use super::world::World;

/// The data path of a world; a silenced cluster sends nothing.
pub struct HubData(Arc<DataPath>);

impl HubData {
    /// Starts the world's data path (the clusters are named by their labels, `lkeobs-<fleet>-<name>`;
    /// `hub_label` and `names` say which the test expects).
    pub async fn start(world: &World, hub_label: &str, names: &[(&str, &str)]) -> HubData {
        assert!(
            world.k8s(hub_label).is_some(),
            "no Kubernetes API for the hub {hub_label}"
        );
        for (_, label) in names {
            assert!(world.k8s(label).is_some(), "no Kubernetes API for {label}");
        }
        HubData(world.data_path().await)
    }

    /// From now on `cluster` sends nothing (its data probes fail).
    pub fn silence(&self, cluster: &str) {
        self.0.silence(cluster);
    }

    /// Why clusters' data does not reach the hub now (name, reason).
    pub fn broken(&self) -> Vec<(String, String)> {
        self.0.broken_links()
    }

    /// Whether broken links (firewall, client certificate, gateway pods) stop a cluster's data.
    pub fn judge_links(&self, on: bool) {
        self.0.judge_links(on);
    }

    /// `cluster` sends again.
    pub fn resume(&self, cluster: &str) {
        self.0.resume(cluster);
    }
}
