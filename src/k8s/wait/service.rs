//! Waiting for a Service's LoadBalancer address (the NodeBalancer the Linode cloud controller creates).

use k8s_openapi::api::core::v1::Service;
use kube::Api;
use tokio::time::Instant;

use super::events::warning_hint;
use super::wait_object;
use crate::k8s::client::K8s;
use crate::k8s::error::{K8sError, Result};

/// The Service's LoadBalancer address: the first IPv4 ingress IP, else any IP, else a host name.
pub fn load_balancer_address(svc: &Service) -> Option<String> {
    let ingress = svc.status.as_ref()?.load_balancer.as_ref()?.ingress.as_ref()?;
    let ips = || ingress.iter().filter_map(|i| i.ip.clone()).filter(|ip| !ip.is_empty());
    ips()
        .find(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok())
        .or_else(|| ips().next())
        .or_else(|| {
            ingress
                .iter()
                .filter_map(|i| i.hostname.clone())
                .find(|h| !h.is_empty())
        })
}

impl K8s {
    /// The Service's LoadBalancer address as it stands now (no waiting); `None` when the Service or its
    /// address does not exist (yet).
    pub async fn load_balancer_address(&self, namespace: &str, name: &str) -> Result<Option<String>> {
        let api: Api<Service> = Api::namespaced(self.client().clone(), namespace);
        let svc = api
            .get_opt(name)
            .await
            .map_err(|e| K8sError::api(format!("get service {namespace}/{name}"), e))?;
        Ok(svc.as_ref().and_then(load_balancer_address))
    }

    /// Waits until the Service has a LoadBalancer ingress address and returns it.
    pub async fn wait_load_balancer(&self, namespace: &str, name: &str, deadline: Instant) -> Result<String> {
        let api: Api<Service> = Api::namespaced(self.client().clone(), namespace);
        let found = wait_object(api, name, deadline, |s| s.and_then(load_balancer_address).is_some()).await;
        let expired = match found {
            Ok(svc) => {
                if let Some(address) = svc.as_ref().and_then(load_balancer_address) {
                    return Ok(address);
                }
                return Err(K8sError::Decode {
                    what: format!("service {namespace}/{name}"),
                    reason: "the watch reported a LoadBalancer address that is not there".into(),
                });
            }
            Err(expired) => expired,
        };
        let state = match &expired.last {
            Some(Some(svc)) => match svc.spec.as_ref().and_then(|s| s.type_.as_deref()) {
                Some("LoadBalancer") => "no LoadBalancer address".to_string(),
                other => format!("type {} is not LoadBalancer, no address", other.unwrap_or("ClusterIP")),
            },
            Some(None) => "not found".to_string(),
            None => "no answer from the API server".to_string(),
        };
        let mut hint = warning_hint(self.client(), namespace, "Service", name).await;
        hint.push_str(&expired.error_hint());
        Err(K8sError::Timeout {
            what: format!("service {namespace}/{name}"),
            state,
            waited: expired.waited,
            hint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{LoadBalancerIngress, LoadBalancerStatus, ServiceStatus};

    fn svc(ingress: Vec<LoadBalancerIngress>) -> Service {
        Service {
            status: Some(ServiceStatus {
                load_balancer: Some(LoadBalancerStatus { ingress: Some(ingress) }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn prefers_ipv4_then_any_ip_then_hostname() {
        let v6 = LoadBalancerIngress {
            ip: Some("2600:3c00::1".into()),
            ..Default::default()
        };
        let v4 = LoadBalancerIngress {
            ip: Some("172.236.1.2".into()),
            hostname: Some("172-236-1-2.ip.linodeusercontent.com".into()),
            ..Default::default()
        };
        let host = LoadBalancerIngress {
            hostname: Some("lb.example".into()),
            ..Default::default()
        };
        assert_eq!(
            load_balancer_address(&svc(vec![v6.clone(), v4])).as_deref(),
            Some("172.236.1.2")
        );
        assert_eq!(
            load_balancer_address(&svc(vec![host.clone(), v6])).as_deref(),
            Some("2600:3c00::1")
        );
        assert_eq!(load_balancer_address(&svc(vec![host])).as_deref(), Some("lb.example"));
        assert_eq!(load_balancer_address(&svc(vec![])), None);
        assert_eq!(load_balancer_address(&Service::default()), None);
    }
}
