//! A simulated cluster's Kubernetes API as the tests use it: [`K8sFake`] starts the product simulator's
//! (`lkeobs::sim::KubeApi`) and adds clients and panicking shortcuts.

use std::ops::Deref;
use std::sync::Arc;

use kube::{Client, Config};
use lkeobs::k8s::K8s;
#[allow(unused_imports)]
pub use lkeobs::sim::kube::{KubeApi, Logged};
use serde_json::Value;

/// A simulated API server (dereferences to [`KubeApi`]); the server stops when the last handle goes.
#[derive(Clone)]
pub struct K8sFake(pub Arc<KubeApi>);

impl Deref for K8sFake {
    type Target = KubeApi;

    fn deref(&self) -> &KubeApi {
        &self.0
    }
}

impl K8sFake {
    /// Starts a fresh cluster's API.
    pub async fn start() -> K8sFake {
        K8sFake(Arc::new(
            KubeApi::start().await.expect("start a simulated Kubernetes API"),
        ))
    }

    /// The client configuration: TLS to the simulator's CA, with the bearer token the simulated API demands.
    pub fn config(&self) -> Config {
        let uri = self.uri().parse().expect("simulator uri");
        let mut config = Config::new(uri);
        config.root_cert = Some(vec![self.ca_der()]);
        config.auth_info.token = Some(self.token().to_string().into());
        config
    }

    /// A client: TLS, the API's token.
    pub fn client(&self) -> Client {
        lkeobs::tls::install_crypto_provider();
        Client::try_from(self.config()).expect("client for the simulator")
    }

    /// A raw HTTP client that trusts the simulator's CA (requests still need the token).
    #[allow(dead_code)]
    pub fn http(&self) -> reqwest::Client {
        lkeobs::tls::install_crypto_provider();
        let ca = reqwest::Certificate::from_der(&self.ca_der()).expect("the simulator's CA");
        reqwest::Client::builder()
            .tls_certs_only([ca])
            .build()
            .expect("an HTTP client")
    }

    /// The handle under test, built as production builds it.
    pub fn k8s(&self) -> K8s {
        K8s::from_config(self.config()).expect("k8s for the simulator")
    }

    /// Stores an object as a controller would (panics on a kind the server does not serve).
    pub fn put(&self, obj: Value) -> Value {
        let what = format!("{} {}", obj["apiVersion"], obj["kind"]);
        self.0
            .put(obj)
            .unwrap_or_else(|| panic!("the simulator does not serve {what}"))
    }

    /// Replaces an object's status (panics when it does not exist).
    pub fn set_status(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str, status: Value) {
        assert!(
            self.0.set_status(api_version, kind, namespace, name, status),
            "no {kind} {name}"
        );
    }
}
