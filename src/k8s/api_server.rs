//! Where the cluster's API server really listens: the addresses and port of the `kubernetes` Endpoints,
//! which the Service IP's DNAT leads to. An egress NetworkPolicy is judged after that DNAT, so a rule for
//! the collectors' API watches must name these, not the Service's IP.

use std::net::IpAddr;

use k8s_openapi::api::core::v1::Endpoints;
use kube::Api;

use super::client::K8s;
use super::error::{K8sError, Result};

pub use crate::objects::ApiServerEndpoint;

/// The endpoints of an `Endpoints` object's subsets (a port named `https`, else the only one).
pub fn endpoints_of(ep: &Endpoints) -> Vec<ApiServerEndpoint> {
    let mut out: Vec<ApiServerEndpoint> = ep
        .subsets
        .iter()
        .flatten()
        .flat_map(|subset| {
            let ports = subset.ports.clone().unwrap_or_default();
            let port = ports
                .iter()
                .find(|p| p.name.as_deref() == Some("https"))
                .or(ports.first())
                .and_then(|p| u16::try_from(p.port).ok());
            let ips: Vec<IpAddr> = subset
                .addresses
                .iter()
                .flatten()
                .filter_map(|a| a.ip.parse().ok())
                .collect();
            ips.into_iter()
                .filter_map(move |ip| port.map(|port| ApiServerEndpoint { ip, port }))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

impl K8s {
    /// The API server's real addresses (empty when the cluster publishes none).
    pub async fn api_server_endpoints(&self) -> Result<Vec<ApiServerEndpoint>> {
        let api: Api<Endpoints> = Api::namespaced(self.client().clone(), "default");
        let found = api
            .get_opt("kubernetes")
            .await
            .map_err(|e| K8sError::api("get endpoints default/kubernetes".to_string(), e))?;
        Ok(found.as_ref().map(endpoints_of).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_https_port_of_every_address() {
        let ep: Endpoints = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "kubernetes", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": "172.232.1.9"}, {"ip": "172.232.1.8"}],
                         "ports": [{"name": "other", "port": 1}, {"name": "https", "port": 6443}]}]
        }))
        .expect("endpoints");
        let got = endpoints_of(&ep);
        assert_eq!(
            got,
            vec![
                ApiServerEndpoint {
                    ip: "172.232.1.8".parse().expect("ip"),
                    port: 6443
                },
                ApiServerEndpoint {
                    ip: "172.232.1.9".parse().expect("ip"),
                    port: 6443
                },
            ]
        );
        assert!(endpoints_of(&Endpoints::default()).is_empty());
    }
}
