//! Reaching an existing cluster's Kubernetes API through its kubeconfig from the Linode API, and the
//! hub's gateway address as it stands.

use crate::k8s::K8s;
use crate::linode::Client;
use crate::objects::GATEWAY_LB;

/// A client for an existing cluster, or why there is none yet (kubeconfig not ready).
pub async fn connect(client: &Client, id: u64) -> Result<Result<K8s, String>, crate::Error> {
    match client.get_kubeconfig(id).await {
        Ok(yaml) => Ok(Ok(from_api_kubeconfig(&yaml, id).await?)),
        Err(e) if e.is_kubeconfig_not_ready() => Ok(Err("its kubeconfig is not ready yet".into())),
        Err(e) => Err(e.into()),
    }
}

/// A client from a kubeconfig the Linode API returned for cluster `id`, once it passed
/// [`kubeconfig::check_from_api`] (inline credentials only: no `exec`, files, proxies or impersonation).
pub async fn from_api_kubeconfig(yaml: &str, id: u64) -> Result<K8s, crate::Error> {
    crate::kubeconfig::check_from_api(yaml, &format!("the kubeconfig the API returned for cluster {id}"))?;
    Ok(K8s::from_kubeconfig(yaml).await?)
}

/// The gateway's LoadBalancer address as the hub reports it now (no waiting).
pub async fn gateway_address(hub: &K8s) -> Result<Option<String>, crate::Error> {
    Ok(hub.load_balancer_address(GATEWAY_LB.namespace, GATEWAY_LB.name).await?)
}
