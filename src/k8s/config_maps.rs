//! Reading a ConfigMap's data (what runs: e.g. the hub gateway's configuration, for the plan's review of
//! destinations).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;

use super::client::K8s;
use super::error::{K8sError, Result};

impl K8s {
    /// A ConfigMap's `data`, or `None` when it does not exist.
    pub async fn get_config_map_data(&self, namespace: &str, name: &str) -> Result<Option<BTreeMap<String, String>>> {
        let api: Api<ConfigMap> = Api::namespaced(self.client().clone(), namespace);
        let found = api
            .get_opt(name)
            .await
            .map_err(|e| K8sError::api(format!("get configmap {namespace}/{name}"), e))?;
        Ok(found.map(|c| c.data.unwrap_or_default()))
    }
}
