//! Rolling restarts (as `kubectl rollout restart`): after a certificate rotation the pods that mount it
//! are replaced at once instead of picking the new files up at their next reload.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::client::K8s;
use super::error::{K8sError, Result, api_code};
use super::wait::rollout::{Workload, WorkloadKind};

/// The pod-template annotation a restart sets (its own field manager, so `lkeobs` applies never fight it).
pub const RESTARTED_AT: &str = "lkeobs.io/restarted-at";
const RESTART_MANAGER: &str = "lkeobs-restart";

impl K8s {
    /// Restarts `w`'s pods by stamping its pod template; a workload that does not exist is left alone
    /// (returns false).
    pub async fn restart(&self, w: &Workload, reason: &str) -> Result<bool> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
        let patch = json!({"spec": {"template": {"metadata": {"annotations": {
            RESTARTED_AT: now,
            "lkeobs.io/restart-reason": reason,
        }}}}});
        let params = PatchParams {
            field_manager: Some(RESTART_MANAGER.into()),
            ..Default::default()
        };
        let client = self.client().clone();
        let ns = w.namespace.as_str();
        let result = match w.kind {
            WorkloadKind::Deployment => Api::<Deployment>::namespaced(client, ns)
                .patch(&w.name, &params, &Patch::Merge(&patch))
                .await
                .map(|_| ()),
            WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(client, ns)
                .patch(&w.name, &params, &Patch::Merge(&patch))
                .await
                .map(|_| ()),
            WorkloadKind::DaemonSet => Api::<DaemonSet>::namespaced(client, ns)
                .patch(&w.name, &params, &Patch::Merge(&patch))
                .await
                .map(|_| ()),
        };
        match result {
            Ok(()) => Ok(true),
            Err(e) if api_code(&e) == Some(404) => Ok(false),
            Err(e) => Err(K8sError::api(format!("restart {w}"), e)),
        }
    }
}
