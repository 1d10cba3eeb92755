//! How many of a fleet's pods in a cluster are Ready (`status`).

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;

use super::client::K8s;
use super::error::{K8sError, Result};
use crate::objects::fleet_selector;

impl K8s {
    /// The fleet's pods in this cluster (by our labels): how many are Ready, and how many there are.
    pub async fn fleet_pods_ready(&self, fleet: &str) -> Result<(usize, usize)> {
        let api: Api<Pod> = Api::all(self.client().clone());
        let pods = api
            .list(&ListParams::default().labels(&fleet_selector(fleet)))
            .await
            .map_err(|e| K8sError::api("list our pods", e))?;
        let ready = pods
            .items
            .iter()
            .filter(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .count();
        Ok((ready, pods.items.len()))
    }
}
