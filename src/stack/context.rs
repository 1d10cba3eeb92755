//! The template context for one cluster (the variables manifests/README.md documents), built from the fleet and run-time inputs.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use super::versions::{self, Images};
use crate::fleet::{Cluster, DestinationKind, Fleet, OtlpProtocol, duration};
use crate::naming;
use crate::objects::MetricsApi;
use crate::objects::{GATEWAY_SERVICE_HOST, GPU_LABEL_KEY, GPU_LABEL_VALUE, NEVER_PRUNE};

/// The gateway address edges dial until `up` knows the real one. `.invalid` never resolves (RFC 6761).
pub const GATEWAY_PLACEHOLDER: &str = "lkeobs-gateway-address.invalid";
/// What only a live run knows; offline everything is `None` (and no metrics API).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The gateway LoadBalancer's address (IP or host name).
    pub gateway_address: Option<String>,
    /// The gateway Cloud Firewall's id.
    pub firewall_id: Option<u64>,
    /// The cluster's metrics API, as found.
    pub metrics_api: MetricsApi,
    /// What `up` found about the NVIDIA runtime on a GPU cluster (`None`: not looked, as offline).
    pub gpu_runtime: Option<GpuRuntime>,
    /// The API server's real addresses (the `kubernetes` Endpoints); empty offline.
    pub api_server: Vec<crate::objects::ApiServerEndpoint>,
    /// An `ha` hub's buckets, S3 host and region, once `up` has them (None offline: `pending-up` placeholders).
    pub object_store: Option<super::ha_context::ObjectStoreInputs>,
}

/// Whether the cluster has a RuntimeClass whose handler is `nvidia` (whether LKE has one is unproven: docs/unproven-on-lke.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuRuntime {
    /// The name of a RuntimeClass with handler `nvidia`: the DCGM exporter runs with it.
    RuntimeClass(String),
    /// None there: the node's default containerd runtime must be NVIDIA's.
    Default,
}

#[derive(Debug, Serialize)]
pub struct Context {
    pub fleet: FleetVars,
    pub cluster: ClusterVars,
    pub images: Images,
    pub stack: StackVars,
    pub security: SecurityVars,
    pub gateway: GatewayVars,
    pub destinations: Vec<DestinationVars>,
    pub gpu: GpuVars,
    /// The hub's Alertmanager, from `[alerts]` (disabled without it).
    pub alertmanager: super::alertmanager::AlertmanagerVars,
    /// `{key, value}` of the label prune skips.
    pub never_prune: NeverPruneVars,
    /// The hub's storage mode (`single` or `ha`, with the engines' settings).
    pub hub: super::ha_context::HubVars,
}

#[derive(Debug, Serialize)]
pub struct NeverPruneVars {
    pub key: &'static str,
    pub value: &'static str,
}

#[derive(Debug, Serialize)]
pub struct FleetVars {
    pub name: String,
    pub k8s_version: String,
    pub tags: Vec<String>,
    pub volume_tags: String,
    pub storage_class: String,
    /// Some cluster of the fleet has a GPU pool (the hub then gets the GPU dashboard).
    pub gpu: bool,
}

#[derive(Debug, Serialize)]
pub struct ClusterVars {
    pub name: String,
    pub role: &'static str,
    pub label: String,
    pub region: String,
    pub gpu: bool,
    /// Where the API server really listens (`/32` or `/128` CIDR and port); empty offline.
    pub api_server: Vec<ApiServerVars>,
}

#[derive(Debug, Serialize)]
pub struct ApiServerVars {
    pub cidr: String,
    pub port: u16,
}

#[derive(Debug, Serialize)]
pub struct StackVars {
    pub retention: String,
    pub retention_hours: u64,
    pub gateway_min_replicas: u32,
    pub gateway_max_replicas: u32,
    pub persistent_queue: Option<String>,
    pub pii_scrubbing: bool,
    /// The DCGM exporter collects profiling (DCP) metrics, with `SYS_ADMIN`; restricted otherwise.
    pub gpu_profiling: bool,
}

#[derive(Debug, Serialize)]
pub struct SecurityVars {
    /// What egress rules to the internet exclude (private, loopback, link-local, CGNAT ranges).
    pub non_public_ipv4: [&'static str; 7],
    pub non_public_ipv6: [&'static str; 3],
    pub mtls: bool,
    pub gateway_firewall: bool,
    pub grafana_allow_ipv4: Vec<String>,
    pub grafana_allow_ipv6: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct GatewayVars {
    pub external_host: String,
    /// `external_host` as a one-address CIDR when it is an address (the edges' egress rule); empty otherwise.
    pub external_cidr: String,
    pub external_placeholder: &'static str,
    pub service_host: &'static str,
    pub firewall_id: String,
    pub nodebalancer_tags: String,
}

#[derive(Debug, Serialize)]
pub struct DestinationVars {
    /// The exporter's name in the gateway config, e.g. `splunk_hec/dest0`.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub endpoint: String,
    /// The port the exporter dials (the endpoint's, else its scheme's; Datadog's intake is 443).
    pub port: u16,
    pub site: String,
    pub protocol: String,
    /// The env var (and Secret key) holding the token; empty when there is none.
    pub env: String,
    pub signals: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct GpuVars {
    pub label_key: &'static str,
    pub label_value: &'static str,
    /// The RuntimeClass the DCGM exporter uses; empty for none.
    pub runtime_class: String,
    /// Whether the cluster was looked at (false when rendering offline), for the manifest's comment.
    pub runtime_looked: bool,
}

/// Hours of retention, rounded up to whole days (Loki's retention works per daily index period).
pub fn retention_hours(retention: &str) -> u64 {
    let secs = duration::parse(retention).map_or(7 * 86_400, |d| d.as_secs());
    secs.div_ceil(86_400).max(1) * 24
}

/// Splits allow-list entries into canonical IPv4 and IPv6 CIDRs (a bare address becomes /32 or /128).
pub fn split_cidrs(list: &[String]) -> (Vec<String>, Vec<String>) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for s in list {
        let net = s
            .parse::<IpNet>()
            .ok()
            .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from));
        match net {
            Some(IpNet::V4(n)) => v4.push(n.trunc().to_string()),
            Some(IpNet::V6(n)) => v6.push(n.trunc().to_string()),
            None => {}
        }
    }
    (v4, v6)
}

/// Builds the context for `cluster` of `fleet`.
pub fn build(fleet: &Fleet, cluster: &Cluster, inputs: &Inputs) -> Context {
    let name = fleet.name().to_string();
    let user_tags = fleet.user_tags();
    let tags = naming::fleet_tags(&name, &user_tags);
    let k8s_version = fleet.fleet.k8s_version.get_ref().clone();
    let allow: Vec<String> = fleet
        .security
        .grafana_allow
        .iter()
        .map(|s| s.get_ref().clone())
        .collect();
    let (grafana_allow_ipv4, grafana_allow_ipv6) = split_cidrs(&allow);
    let retention = fleet.stack.retention.get_ref().clone();
    let gw = fleet.stack.gateway.get_ref();
    Context {
        fleet: FleetVars {
            volume_tags: tags.join(","),
            storage_class: naming::storage_class(&name),
            gpu: fleet.hub.has_gpu() || fleet.edges.iter().any(Cluster::has_gpu),
            tags,
            k8s_version: k8s_version.clone(),
            name: name.clone(),
        },
        cluster: ClusterVars {
            name: cluster.name.get_ref().clone(),
            role: cluster.role.as_str(),
            label: naming::cluster_label(&name, cluster.name.get_ref()),
            region: cluster.region.get_ref().clone(),
            gpu: cluster.has_gpu(),
            api_server: inputs
                .api_server
                .iter()
                .map(|e| ApiServerVars {
                    cidr: IpNet::from(e.ip).to_string(),
                    port: e.port,
                })
                .collect(),
        },
        images: versions::images(&k8s_version),
        stack: StackVars {
            retention_hours: retention_hours(&retention),
            retention,
            gateway_min_replicas: gw.min_replicas,
            gateway_max_replicas: gw.max_replicas,
            persistent_queue: fleet.stack.persistent_queue.as_ref().map(|q| q.get_ref().clone()),
            pii_scrubbing: fleet.stack.pii_scrubbing,
            gpu_profiling: *fleet.stack.gpu_profiling.get_ref(),
        },
        security: SecurityVars {
            non_public_ipv4: crate::net::NON_PUBLIC_IPV4,
            non_public_ipv6: crate::net::NON_PUBLIC_IPV6,
            mtls: fleet.security.mtls,
            gateway_firewall: fleet.security.gateway_firewall,
            grafana_allow_ipv4,
            grafana_allow_ipv6,
        },
        gateway: GatewayVars {
            external_host: inputs
                .gateway_address
                .clone()
                .unwrap_or_else(|| GATEWAY_PLACEHOLDER.to_string()),
            external_cidr: inputs
                .gateway_address
                .as_deref()
                .and_then(|a| a.parse::<IpAddr>().ok())
                .map(|ip| IpNet::from(ip).to_string())
                .unwrap_or_default(),
            external_placeholder: GATEWAY_PLACEHOLDER,
            service_host: GATEWAY_SERVICE_HOST,
            firewall_id: match (fleet.security.gateway_firewall, inputs.firewall_id) {
                (true, Some(id)) => id.to_string(),
                _ => String::new(),
            },
            nodebalancer_tags: naming::cluster_tags(&name, "hub", &user_tags).join(","),
        },
        destinations: destinations(fleet),
        gpu: gpu_vars(inputs.gpu_runtime.as_ref()),
        alertmanager: super::alertmanager::vars(fleet.alerts.as_ref()),
        never_prune: NeverPruneVars {
            key: NEVER_PRUNE.0,
            value: NEVER_PRUNE.1,
        },
        hub: super::ha_context::vars(fleet, inputs.object_store.as_ref()),
    }
}

fn gpu_vars(runtime: Option<&GpuRuntime>) -> GpuVars {
    GpuVars {
        label_key: GPU_LABEL_KEY,
        label_value: GPU_LABEL_VALUE,
        runtime_class: match runtime {
            Some(GpuRuntime::RuntimeClass(name)) => name.clone(),
            _ => String::new(),
        },
        runtime_looked: runtime.is_some(),
    }
}

fn destinations(fleet: &Fleet) -> Vec<DestinationVars> {
    fleet
        .destinations
        .iter()
        .enumerate()
        .map(|(i, d)| {
            // Rendered only for a validated fleet, where every destination has a known type and protocol.
            let kind = d.kind().unwrap_or(DestinationKind::Otlp);
            let protocol = d.protocol().unwrap_or_default();
            // From a fixed list, never the fleet's text: the id is a YAML key in the gateway config.
            let exporter = match (kind, protocol) {
                (DestinationKind::SplunkHec, _) => "splunk_hec",
                (DestinationKind::Datadog, _) => "datadog",
                (DestinationKind::Otlp, OtlpProtocol::Http) => "otlp_http",
                (DestinationKind::Otlp, OtlpProtocol::Grpc) => "otlp_grpc",
            };
            let endpoint = d.endpoint.as_ref().map_or_else(String::new, |e| {
                url::Url::parse(e.get_ref()).map_or_else(
                    |_| e.get_ref().clone(),
                    |u| u.as_str().trim_end_matches('/').to_string(),
                )
            });
            let port = url::Url::parse(&endpoint)
                .ok()
                .and_then(|u| u.port_or_known_default())
                .unwrap_or(443);
            DestinationVars {
                id: format!("{exporter}/dest{i}"),
                port,
                site: d
                    .site
                    .as_ref()
                    .map_or_else(|| "datadoghq.com".to_string(), |s| s.get_ref().clone()),
                env: d.token_env.as_ref().map_or_else(String::new, |t| t.get_ref().clone()),
                signals: d.signals().into_iter().map(|s| s.as_str().to_string()).collect(),
                endpoint,
                protocol: protocol.as_str().to_string(),
                kind: kind.as_str().to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_rounds_up_to_whole_days() {
        assert_eq!(retention_hours("7d"), 168);
        assert_eq!(retention_hours("36h"), 48);
        assert_eq!(retention_hours("2w"), 336);
    }

    #[test]
    fn cidrs_split_and_canonicalise() {
        let (v4, v6) = split_cidrs(&["198.51.100.0/24".into(), "203.0.113.7".into(), "2001:db8::/32".into()]);
        assert_eq!(v4, vec!["198.51.100.0/24", "203.0.113.7/32"]);
        assert_eq!(v6, vec!["2001:db8::/32"]);
    }
}
