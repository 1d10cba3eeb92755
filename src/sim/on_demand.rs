//! Kubernetes APIs started on demand, as `lkeobs sim` needs them: every LKE cluster the Linode API
//! creates gets a fresh API server of its own on 127.0.0.1 (a new cluster that takes a deleted one's
//! label gets a new one too), registered so the cluster's kubeconfig points at it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::kube::{self, KubeApi};
use super::linode::State;
use super::world::{Apis, DataSlot, lock};

/// Starts the Kubernetes APIs of new clusters from the controller thread, on the simulator's runtime.
pub(crate) struct OnDemand {
    runtime: tokio::runtime::Handle,
    /// The cluster id each label's API was started for.
    owners: BTreeMap<String, u64>,
    /// The data path, served on every new API.
    data: DataSlot,
}

impl OnDemand {
    pub(crate) fn new(runtime: tokio::runtime::Handle, data: DataSlot) -> OnDemand {
        OnDemand {
            runtime,
            owners: BTreeMap::new(),
            data,
        }
    }

    /// Serves `objects` as the API of cluster `cluster` (label `label`) on a free port.
    pub(crate) fn start(&mut self, label: &str, cluster: u64, objects: kube::State) -> std::io::Result<Arc<KubeApi>> {
        let _inside = self.runtime.enter();
        let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let api = KubeApi::serve(tokio::net::TcpListener::from_std(listener)?, objects)?;
        self.owners.insert(label.to_string(), cluster);
        Ok(Arc::new(api))
    }

    /// Starts an API for every cluster that has none of its own yet. A cluster whose API cannot start
    /// (no free port) keeps answering 503 for its kubeconfig, and the next pass tries again.
    pub(crate) fn ensure(&mut self, linode: &Mutex<State>, apis: &Apis) {
        let clusters: Vec<(String, u64)> = lock(linode)
            .clusters
            .values()
            .filter_map(|c| Some((c["label"].as_str()?.to_string(), c["id"].as_u64()?)))
            .collect();
        for (label, id) in clusters {
            if self.owners.get(&label) == Some(&id) {
                continue;
            }
            let Ok(api) = self.start(&label, id, kube::State::fresh()) else {
                continue;
            };
            // On the controller thread, outside the runtime: blocking on the stand-in's start is fine.
            let data = lock(&self.data).clone();
            if let Some(data) = data
                && self.runtime.block_on(data.register(&label, &api)).is_err()
            {
                continue;
            }
            lock(linode).kube_servers.insert(label.clone(), api.uri());
            lock(apis).insert(label, api);
        }
    }
}
