//! Secrets `up` creates (CA, certificates, Grafana password, destination tokens). Their data is
//! never logged, never put in an error and never shown by a `Debug` of ours.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, PostParams};
use serde::Serialize;

use super::apply::FIELD_MANAGER;
use super::client::K8s;
use super::error::{K8sError, Result, api_code};

/// What `ensure_secret` may do to an existing Secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretMode {
    /// Create it if absent; never overwrite (the CA, the Grafana password).
    CreateOnly,
    /// Create it, or replace its data (certificates on rotation).
    Replace,
}

/// What `ensure_secret` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretOutcome {
    Created,
    /// It existed and `CreateOnly` left it as it was.
    Kept,
    Replaced,
}

fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    }
}

impl K8s {
    /// A Secret's data, or `None` when it does not exist.
    pub async fn get_secret(&self, namespace: &str, name: &str) -> Result<Option<BTreeMap<String, Vec<u8>>>> {
        let api: Api<Secret> = Api::namespaced(self.client().clone(), namespace);
        let secret = api
            .get_opt(name)
            .await
            .map_err(|e| K8sError::api(format!("get secret {namespace}/{name}"), e))?;
        Ok(secret.map(|s| s.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect()))
    }

    /// Creates an Opaque Secret; if it exists, keeps it (`CreateOnly`) or replaces its data and
    /// labels with exactly these (`Replace`).
    ///
    /// Create first, then fall back on 409 AlreadyExists: no read-then-write race can overwrite
    /// a Secret another run created a moment earlier.
    pub async fn ensure_secret(
        &self,
        namespace: &str,
        name: &str,
        labels: &BTreeMap<String, String>,
        data: &BTreeMap<String, Vec<u8>>,
        mode: SecretMode,
    ) -> Result<SecretOutcome> {
        let api: Api<Secret> = Api::namespaced(self.client().clone(), namespace);
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some(namespace.to_string()),
                labels: Some(labels.clone()),
                ..Default::default()
            },
            type_: Some("Opaque".into()),
            data: Some(data.iter().map(|(k, v)| (k.clone(), ByteString(v.clone()))).collect()),
            ..Default::default()
        };
        let what = |verb: &str| format!("{verb} secret {namespace}/{name}");
        match api.create(&post_params(), &secret).await {
            Ok(_) => {
                tracing::info!(namespace, name, "secret created");
                return Ok(SecretOutcome::Created);
            }
            Err(e) if api_code(&e) == Some(409) => {}
            Err(e) => return Err(K8sError::api(what("create"), e)),
        }
        match mode {
            SecretMode::CreateOnly => {
                tracing::debug!(namespace, name, "secret exists; kept");
                Ok(SecretOutcome::Kept)
            }
            SecretMode::Replace => {
                // An unconditional PUT (no resourceVersion): the data becomes exactly `data`.
                api.replace(name, &post_params(), &secret)
                    .await
                    .map_err(|e| K8sError::api(what("replace"), e))?;
                tracing::info!(namespace, name, "secret replaced");
                Ok(SecretOutcome::Replaced)
            }
        }
    }
}
