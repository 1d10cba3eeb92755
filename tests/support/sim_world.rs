//! A live-LKE-like world for end-to-end tests: the product simulator's [`lkeobs::sim::World`] with the
//! tests' handles on it ([`LinodeFake`], [`K8sFake`]); dropping it fails the test when a controller
//! panicked.

use std::sync::Arc;

pub use lkeobs::sim::world::Latencies;
use lkeobs::sim::world::World as SimWorld;

use super::k8s_fake::K8sFake;
use super::linode_fake::{LinodeFake, State};

/// The simulated Linode API, the Kubernetes APIs by cluster label, and the controller thread.
pub struct World {
    pub linode: LinodeFake,
    sim: SimWorld,
}

impl World {
    /// [`World::start_with`] on [`State::seeded`].
    pub async fn start(labels: &[&str], latencies: Latencies) -> World {
        Self::start_with(State::seeded(), labels, latencies).await
    }

    /// One Kubernetes API per cluster label, the Linode API on `state`, and the controllers.
    pub async fn start_with(state: State, labels: &[&str], latencies: Latencies) -> World {
        let sim = SimWorld::start_with(state, labels, latencies)
            .await
            .expect("start the simulated world");
        World {
            linode: LinodeFake(sim.linode().clone()),
            sim,
        }
    }

    /// Starts a Kubernetes API for another cluster label (an edge added later) and returns it.
    pub async fn add_cluster_api(&self, label: &str) -> Arc<K8sFake> {
        let api = self.sim.add_cluster_api(label).await.expect("start a cluster API");
        Arc::new(K8sFake(api))
    }

    /// The Kubernetes API of a cluster label.
    pub fn k8s(&self, label: &str) -> Option<Arc<K8sFake>> {
        self.sim.k8s(label).map(|api| Arc::new(K8sFake(api)))
    }

    /// The library's handle on a cluster label's Kubernetes API (panics if it has none).
    pub fn kube(&self, label: &str) -> lkeobs::k8s::K8s {
        self.k8s(label)
            .unwrap_or_else(|| panic!("no Kubernetes API for {label}"))
            .k8s()
    }

    /// The NodeBalancer the cloud controller made for a LoadBalancer Service, while it tracks it.
    pub fn nodebalancer_of(&self, label: &str, namespace: &str, service: &str) -> Option<u64> {
        self.sim.nodebalancer_of(label, namespace, service)
    }

    /// The volume the CSI driver made for a claim, while it tracks it.
    pub fn volume_of(&self, label: &str, namespace: &str, claim: &str) -> Option<u64> {
        self.sim.volume_of(label, namespace, claim)
    }

    /// The simulated data path (started on first use, served on every cluster's API).
    pub async fn data_path(&self) -> std::sync::Arc<lkeobs::sim::data_path::DataPath> {
        self.sim.data_path().await.expect("start the simulated data path")
    }

    /// Whether the controller thread still runs.
    pub fn running(&self) -> bool {
        self.sim.running()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if self.sim.stop().is_err() && !std::thread::panicking() {
            panic!("a simulator controller panicked (its message is above): the world the test ran in was broken");
        }
    }
}
