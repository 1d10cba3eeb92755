//! Whether a cluster serves the resource metrics API a CPU HorizontalPodAutoscaler needs, and whose:
//! one GET of the `v1beta1.metrics.k8s.io` APIService (404: none, as on a fresh LKE cluster).

use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1::APIService;
use kube::Api;
use kube::ResourceExt;

use super::client::K8s;
use super::error::{K8sError, Result};
use crate::objects::{self, METRICS_APISERVICE, MetricsApi};

/// Ours: labelled `app.kubernetes.io/managed-by: lkeobs` and `lkeobs.io/fleet: <fleet>`.
fn owner_of(service: Option<&APIService>, fleet: &str) -> MetricsApi {
    let Some(service) = service else {
        return MetricsApi::Missing;
    };
    if objects::is_fleets(service.labels(), fleet) {
        MetricsApi::Ours
    } else {
        MetricsApi::Foreign
    }
}

impl K8s {
    /// The cluster's metrics API: missing, the metrics-server `fleet` deployed, or someone else's.
    pub async fn metrics_api(&self, fleet: &str) -> Result<MetricsApi> {
        let api: Api<APIService> = Api::all(self.client().clone());
        let found = api
            .get_opt(METRICS_APISERVICE)
            .await
            .map_err(|e| K8sError::api(format!("get apiservice {METRICS_APISERVICE}"), e))?;
        Ok(owner_of(found.as_ref(), fleet))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(labels: serde_json::Value) -> APIService {
        serde_json::from_value(
            serde_json::json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": METRICS_APISERVICE, "labels": labels}}),
        )
        .expect("apiservice")
    }

    #[test]
    fn ours_only_with_our_labels_and_fleet() {
        assert_eq!(owner_of(None, "prod"), MetricsApi::Missing);
        let ours = service(serde_json::json!({"app.kubernetes.io/managed-by": "lkeobs", "lkeobs.io/fleet": "prod"}));
        assert_eq!(owner_of(Some(&ours), "prod"), MetricsApi::Ours);
        assert_eq!(owner_of(Some(&ours), "ci"), MetricsApi::Foreign);
        let theirs = service(serde_json::json!({"k8s-app": "metrics-server"}));
        assert_eq!(owner_of(Some(&theirs), "prod"), MetricsApi::Foreign);
    }
}
