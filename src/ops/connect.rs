//! Reaching an existing cluster's Kubernetes API through its kubeconfig from the Linode API, and the
//! hub's gateway address as it stands.

use crate::k8s::K8s;
use crate::linode::Client;
use crate::objects::GATEWAY_LB;

/// A client for an existing cluster, or why there is none yet (kubeconfig not ready).
pub async fn connect(client: &Client, id: u64) -> Result<Result<K8s, String>, crate::Error> {
    match client.get_kubeconfig(id).await {
        Ok(yaml) => Ok(Ok(K8s::from_kubeconfig(&yaml).await?)),
        Err(e) if e.is_kubeconfig_not_ready() => Ok(Err("its kubeconfig is not ready yet".into())),
        Err(e) => Err(e.into()),
    }
}

/// The gateway's LoadBalancer address as the hub reports it now (no waiting).
pub async fn gateway_address(hub: &K8s) -> Result<Option<String>, crate::Error> {
    Ok(hub.load_balancer_address(GATEWAY_LB.namespace, GATEWAY_LB.name).await?)
}
