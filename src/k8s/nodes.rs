//! What the cluster's Node objects say about their machines: public IPv4 addresses for the gateway firewall,
//! read from Kubernetes (no Linode list call), with the Linode ids of nodes that report none; and whether a
//! RuntimeClass selects the NVIDIA container runtime on GPU nodes.

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::node::v1::RuntimeClass;
use kube::Api;
use kube::api::ListParams;

use super::client::K8s;
use super::error::{K8sError, Result};

/// The public addresses the nodes report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeAddresses {
    /// Public `ExternalIP` IPv4 addresses.
    pub public_ipv4: Vec<Ipv4Addr>,
    /// Linode ids (from `providerID: linode://<id>`) of nodes without a public IPv4 `ExternalIP`.
    pub unknown: Vec<u64>,
}

/// Public addresses of `nodes`, as their status reports them.
pub fn addresses_of(nodes: &[Node]) -> NodeAddresses {
    let mut out = NodeAddresses::default();
    for n in nodes {
        let ips: Vec<Ipv4Addr> = n
            .status
            .as_ref()
            .and_then(|s| s.addresses.as_ref())
            .into_iter()
            .flatten()
            .filter(|a| a.type_ == "ExternalIP")
            .filter_map(|a| a.address.parse::<Ipv4Addr>().ok())
            .filter(crate::net::is_public)
            .collect();
        if ips.is_empty() {
            let id: Option<u64> = n
                .spec
                .as_ref()
                .and_then(|s| s.provider_id.as_deref())
                .and_then(|p| p.strip_prefix("linode://"))
                .and_then(|id| id.parse().ok());
            out.unknown.extend(id);
        }
        out.public_ipv4.extend(ips);
    }
    out
}

impl K8s {
    /// Lists the nodes and returns their public addresses (see [`addresses_of`]).
    pub async fn node_addresses(&self) -> Result<NodeAddresses> {
        let api: Api<Node> = Api::all(self.client().clone());
        let nodes = api
            .list(&ListParams::default())
            .await
            .map_err(|e| K8sError::api("list nodes", e))?;
        Ok(addresses_of(&nodes.items))
    }

    /// The name of a RuntimeClass whose handler is `handler` (one named like the handler first), if any.
    pub async fn runtime_class_for(&self, handler: &str) -> Result<Option<String>> {
        let api: Api<RuntimeClass> = Api::all(self.client().clone());
        let classes = api
            .list(&ListParams::default())
            .await
            .map_err(|e| K8sError::api("list runtimeclasses.node.k8s.io", e))?;
        Ok(runtime_class_of(&classes.items, handler))
    }
}

/// The RuntimeClass of `classes` whose handler is `handler`, preferring the one named `handler`.
pub fn runtime_class_of(classes: &[RuntimeClass], handler: &str) -> Option<String> {
    let mut names: Vec<String> = classes
        .iter()
        .filter(|c| c.handler == handler)
        .filter_map(|c| c.metadata.name.clone())
        .collect();
    names.sort();
    match names.iter().position(|n| n == handler) {
        Some(i) => Some(names.swap_remove(i)),
        None => names.into_iter().next(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(provider: &str, addresses: &[(&str, &str)]) -> Node {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n"},
            "spec": {"providerID": provider},
            "status": {"addresses": addresses.iter().map(|(t, a)| serde_json::json!({"type": t, "address": a})).collect::<Vec<_>>()}
        }))
        .unwrap()
    }

    fn class(name: &str, handler: &str) -> RuntimeClass {
        serde_json::from_value(serde_json::json!({"metadata": {"name": name}, "handler": handler})).unwrap()
    }

    #[test]
    fn the_runtime_class_is_found_by_handler_and_the_one_named_like_it_wins() {
        assert_eq!(runtime_class_of(&[class("runc", "runc")], "nvidia"), None);
        assert_eq!(
            runtime_class_of(&[class("gpu", "nvidia"), class("runc", "runc")], "nvidia").as_deref(),
            Some("gpu")
        );
        assert_eq!(
            runtime_class_of(&[class("gpu", "nvidia"), class("nvidia", "nvidia")], "nvidia").as_deref(),
            Some("nvidia")
        );
    }

    #[test]
    fn public_external_ips_are_taken_and_nodes_without_one_are_named_by_linode_id() {
        let nodes = [
            node(
                "linode://11",
                &[("ExternalIP", "203.0.113.5"), ("InternalIP", "192.168.128.5")],
            ),
            node("linode://12", &[("InternalIP", "192.168.128.6")]),
            node("linode://13", &[("ExternalIP", "10.0.0.7")]),
        ];
        let a = addresses_of(&nodes);
        assert_eq!(a.public_ipv4, vec!["203.0.113.5".parse::<Ipv4Addr>().unwrap()]);
        assert_eq!(a.unknown, vec![12, 13]);
    }
}
