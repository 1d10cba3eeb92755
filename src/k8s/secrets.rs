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

/// The Secret types lkeobs writes.
pub const OPAQUE: &str = "Opaque";
pub const TLS: &str = "kubernetes.io/tls";

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
        self.ensure_typed_secret(namespace, name, OPAQUE, labels, data, mode)
            .await
    }

    /// Deletes a Secret; whether it existed (already gone counts as done).
    pub async fn delete_secret(&self, namespace: &str, name: &str) -> Result<bool> {
        let api: Api<Secret> = Api::namespaced(self.client().clone(), namespace);
        match api.delete(name, &kube::api::DeleteParams::default()).await {
            Ok(_) => Ok(true),
            Err(e) if api_code(&e) == Some(404) => Ok(false),
            Err(e) => Err(K8sError::api(format!("delete secret {namespace}/{name}"), e)),
        }
    }

    /// [`K8s::ensure_secret`] for a certificate and key (`tls.crt`, `tls.key`, and `ca.crt`): a
    /// `kubernetes.io/tls` Secret. One of another type by that name (an Opaque one made by an older lkeobs)
    /// is deleted and created again, since a Secret's type cannot change.
    pub async fn ensure_tls_secret(
        &self,
        namespace: &str,
        name: &str,
        labels: &BTreeMap<String, String>,
        data: &BTreeMap<String, Vec<u8>>,
    ) -> Result<SecretOutcome> {
        if let Some((kind, _)) = self.get_secret_typed(namespace, name).await?
            && kind != TLS
        {
            let api: Api<Secret> = Api::namespaced(self.client().clone(), namespace);
            api.delete(name, &Default::default())
                .await
                .map_err(|e| K8sError::api(format!("delete secret {namespace}/{name} (type {kind})"), e))?;
        }
        self.ensure_typed_secret(namespace, name, TLS, labels, data, SecretMode::Replace)
            .await
    }

    /// A Secret's type and data, or `None` when it does not exist.
    pub async fn get_secret_typed(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<(String, BTreeMap<String, Vec<u8>>)>> {
        let api: Api<Secret> = Api::namespaced(self.client().clone(), namespace);
        let secret = api
            .get_opt(name)
            .await
            .map_err(|e| K8sError::api(format!("get secret {namespace}/{name}"), e))?;
        Ok(secret.map(|s| {
            (
                s.type_.unwrap_or_else(|| OPAQUE.to_string()),
                s.data.unwrap_or_default().into_iter().map(|(k, v)| (k, v.0)).collect(),
            )
        }))
    }

    async fn ensure_typed_secret(
        &self,
        namespace: &str,
        name: &str,
        kind: &str,
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
            type_: Some(kind.into()),
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
