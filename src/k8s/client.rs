//! The cluster handle: a `kube::Client` built from a kubeconfig held in memory, with connect and read timeouts.

use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::{Client, Config};

use super::error::{K8sError, Result};

/// How long to wait for a TCP/TLS connection to the API server.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one response may stay silent. Quiet watches end with this error and are restarted by
/// the waits (see `wait`), which are bounded by their own deadlines.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long sending one request may take.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// One cluster's Kubernetes API. Cheap to clone (the clients are reference-counted).
#[derive(Clone)]
pub struct K8s {
    client: Client,
    /// The same API without kube's retry of 429s: the Eviction API answers 429 while a
    /// PodDisruptionBudget refuses, and the drain must hear that at once (kube would retry it for
    /// minutes, silently).
    evictions: Box<Client>,
}

impl std::fmt::Debug for K8s {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("K8s").finish_non_exhaustive()
    }
}

impl K8s {
    /// Builds a client from kubeconfig YAML (as the Linode API returns it, decoded), using its
    /// current context. The text is never written to disk, logged or quoted in errors.
    pub async fn from_kubeconfig(yaml: &str) -> Result<K8s> {
        let kubeconfig = Kubeconfig::from_yaml(yaml).map_err(|e| match e {
            // The YAML parser's message can quote the text around the error: the token.
            KubeconfigError::Parse(_) => K8sError::KubeconfigYaml,
            source => K8sError::Kubeconfig { source },
        })?;
        let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|source| K8sError::Kubeconfig { source })?;
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        config.read_timeout = Some(READ_TIMEOUT);
        config.write_timeout = Some(WRITE_TIMEOUT);
        // Count the read timeout from when a request is sent, not from when its pooled connection went idle.
        config.reset_reader_on_write = true;
        K8s::from_config(config)
    }

    /// Builds the client from a config (tests: `Config::new(uri)` of a fake API server). API
    /// requests keep kube's retry of 429/503/504 (bounded). A service's own 503 reaches a probe
    /// as an answer: it travels inside a port-forward, which the API server does not answer for.
    pub fn from_config(config: Config) -> Result<K8s> {
        crate::tls::install_crypto_provider();
        let mut no_retry = config.clone();
        no_retry.default_retry = false;
        let client = Client::try_from(config).map_err(|source| K8sError::Client { source })?;
        let evictions = Client::try_from(no_retry).map_err(|source| K8sError::Client { source })?;
        Ok(K8s {
            client,
            evictions: Box::new(evictions),
        })
    }

    /// Wraps an existing client (build it after [`crate::tls::install_crypto_provider`]).
    /// Evictions go through the same client (and its retries, if it has any).
    pub fn from_client(client: Client) -> K8s {
        K8s {
            evictions: Box::new(client.clone()),
            client,
        }
    }

    /// The underlying client, for calls this module does not wrap.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The client for the Eviction API: a 429 (a disruption budget refusing) comes back at once.
    pub(crate) fn eviction_client(&self) -> &Client {
        &self.evictions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: lke1
  cluster:
    server: https://1.2.3.4:6443
    insecure-skip-tls-verify: true
users:
- name: lke1-admin
  user:
    token: s3cr3t-t0ken
contexts:
- name: lke1-ctx
  context: {cluster: lke1, user: lke1-admin, namespace: default}
current-context: lke1-ctx
"#;

    #[tokio::test]
    async fn builds_a_client_from_kubeconfig_text() {
        let k = K8s::from_kubeconfig(KUBECONFIG).await.expect("client");
        assert_eq!(k.client().default_namespace(), "default");
        assert_eq!(format!("{k:?}"), "K8s { .. }");
    }

    #[tokio::test]
    async fn a_broken_kubeconfig_error_does_not_quote_the_token() {
        let broken = "users:\n- name: x\n  user: {token: s3cr3t-t0ken\n";
        let err = K8s::from_kubeconfig(broken).await.expect_err("must fail");
        assert!(!err.to_string().contains("s3cr3t"), "{err}");
        assert!(!format!("{err:?}").contains("s3cr3t"), "{err:?}");
    }

    #[tokio::test]
    async fn a_kubeconfig_without_current_context_is_an_error() {
        let err = K8s::from_kubeconfig("apiVersion: v1\nkind: Config\n")
            .await
            .expect_err("must fail");
        assert!(err.to_string().starts_with("the kubeconfig cannot be used"), "{err}");
    }
}
