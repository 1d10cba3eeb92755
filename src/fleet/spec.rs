//! The typed fleet file: what a parsed, span-carrying `lkeobs.toml` holds.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// A value and the byte range it came from in the fleet file.
pub type Spanned<T> = toml::Spanned<T>;

/// Builds a spanned value (for defaults, the span of the table that omits the key).
pub fn spanned<T>(span: Range<usize>, value: T) -> Spanned<T> {
    toml::Spanned::new(span, value)
}

/// A whole fleet file.
#[derive(Debug, Clone, Serialize)]
pub struct Fleet {
    pub fleet: FleetMeta,
    pub hub: Cluster,
    pub edges: Vec<Cluster>,
    pub security: Security,
    pub stack: Stack,
    pub destinations: Vec<Destination>,
    /// `[alerts]`: where the hub's Alertmanager sends; absent, no Alertmanager is deployed.
    pub alerts: Option<super::alerts::Alerts>,
    /// `[hub] mode` and `[hub.ha]`: how the hub stores what it receives.
    pub hub_mode: super::hub_mode::HubMode,
}

/// `[fleet]`.
#[derive(Debug, Clone, Serialize)]
pub struct FleetMeta {
    pub name: Spanned<String>,
    pub k8s_version: Spanned<String>,
    pub tags: Vec<Spanned<String>>,
    pub ttl: Option<Spanned<String>>,
    /// `max_monthly_cost`: US dollars a month the fleet as planned may cost (`--max-monthly-cost` overrides it).
    pub max_monthly_cost: Option<Spanned<f64>>,
}

/// Whether a cluster stores (hub) or forwards (edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Hub,
    Edge,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Hub => "hub",
            Role::Edge => "edge",
        }
    }
}

/// `[hub]` or one `[edges.<name>]`.
#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    /// `hub`, or the key under `[edges]`.
    pub name: Spanned<String>,
    pub role: Role,
    pub region: Spanned<String>,
    /// `high_availability` (false, spanned at the table header, when absent).
    pub high_availability: Spanned<bool>,
    pub pools: Vec<Pool>,
    /// Span of the `pools` value (the table header when absent), for errors about the pools as a whole.
    #[serde(skip)]
    pub pools_span: Range<usize>,
    /// Span of the cluster's table header, for errors about the cluster as a whole.
    #[serde(skip)]
    pub span: Range<usize>,
}

impl Cluster {
    pub fn has_gpu(&self) -> bool {
        self.pools.iter().any(Pool::is_gpu)
    }

    pub fn node_count(&self) -> u32 {
        self.pools.iter().map(|p| *p.count.get_ref()).sum()
    }
}

/// One node pool.
#[derive(Debug, Clone, Serialize)]
pub struct Pool {
    #[serde(rename = "type")]
    pub node_type: Spanned<String>,
    pub count: Spanned<u32>,
    pub autoscale: Option<Spanned<Autoscale>>,
    /// The pool's own Kubernetes node labels (`labels = { k = "v" }`), besides lkeobs' GPU label.
    pub labels: Vec<NodeLabel>,
    /// The pool's own node taints (`taints = [{ key, value, effect }]`); lkeobs adds none.
    pub taints: Vec<NodeTaint>,
    #[serde(skip)]
    pub span: Range<usize>,
}

/// One `labels` entry of a pool; the key keeps its own span for errors.
#[derive(Debug, Clone, Serialize)]
pub struct NodeLabel {
    pub key: Spanned<String>,
    pub value: Spanned<String>,
}

/// One `taints` entry of a pool. `value` may be empty (left out); `effect` is checked by validation.
#[derive(Debug, Clone, Serialize)]
pub struct NodeTaint {
    pub key: Spanned<String>,
    pub value: Spanned<String>,
    pub effect: Spanned<String>,
    #[serde(skip)]
    pub span: Range<usize>,
}

impl Pool {
    /// GPU plans carry `gpu` in their id (`g2-gpu-rtx4000a1-s`, `g1-gpu-rtx6000-1`).
    pub fn is_gpu(&self) -> bool {
        self.node_type.get_ref().split('-').any(|part| part == "gpu")
    }
}

/// `autoscale = { min, max }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    pub min: u32,
    pub max: u32,
}

/// `[security]`.
#[derive(Debug, Clone, Serialize)]
pub struct Security {
    pub gateway_firewall: bool,
    pub mtls: bool,
    pub grafana_allow: Vec<Spanned<String>>,
    pub control_plane_acl: Vec<Spanned<String>>,
    /// Span of the `control_plane_acl` value, for errors about the ACL as a whole.
    #[serde(skip)]
    pub control_plane_acl_span: Range<usize>,
    /// Where `mtls` is written, when it is.
    #[serde(skip)]
    pub mtls_span: Option<Range<usize>>,
    /// Where `gateway_firewall` is written, when it is.
    #[serde(skip)]
    pub gateway_firewall_span: Option<Range<usize>>,
    /// Whether the file sets `control_plane_acl` at all: absent leaves a cluster's ACL as it is; an empty list
    /// turns an existing ACL off.
    #[serde(skip)]
    pub control_plane_acl_set: bool,
}

/// `[stack]`.
#[derive(Debug, Clone, Serialize)]
pub struct Stack {
    pub retention: Spanned<String>,
    pub gateway: Spanned<GatewayScale>,
    pub persistent_queue: Option<Spanned<String>>,
    pub pii_scrubbing: bool,
    /// DCGM profiling (DCP) metrics, which need `SYS_ADMIN` in the exporter; off by default.
    pub gpu_profiling: Spanned<bool>,
}

/// `gateway = { min_replicas, max_replicas }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayScale {
    #[serde(default = "GatewayScale::default_min")]
    pub min_replicas: u32,
    #[serde(default = "GatewayScale::default_max")]
    pub max_replicas: u32,
}

impl GatewayScale {
    fn default_min() -> u32 {
        2
    }
    fn default_max() -> u32 {
        10
    }
}

impl Default for GatewayScale {
    fn default() -> Self {
        GatewayScale {
            min_replicas: Self::default_min(),
            max_replicas: Self::default_max(),
        }
    }
}

/// One `[[destinations]]` entry: a fan-out exporter on the gateway.
#[derive(Debug, Clone, Serialize)]
pub struct Destination {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    pub endpoint: Option<Spanned<String>>,
    pub token_env: Option<Spanned<String>>,
    /// Datadog site, e.g. `datadoghq.eu`.
    pub site: Option<Spanned<String>>,
    /// `grpc` (default) or `http`, for `otlp`.
    pub protocol: Option<Spanned<String>>,
    pub signals: Vec<Spanned<String>>,
    #[serde(skip)]
    pub span: Range<usize>,
}

impl Security {
    /// Where the file turns mTLS off, when it does.
    pub fn mtls_off_span(&self) -> Option<Range<usize>> {
        (!self.mtls).then(|| self.mtls_span.clone()).flatten()
    }

    /// Where the file turns the gateway firewall off, when it does.
    pub fn gateway_firewall_off_span(&self) -> Option<Range<usize>> {
        (!self.gateway_firewall)
            .then(|| self.gateway_firewall_span.clone())
            .flatten()
    }
}

impl Cluster {
    /// The cluster's path in diagnostics: `hub`, or `edges.<name>`.
    pub fn field_path(&self) -> String {
        match self.role {
            Role::Hub => "hub".to_string(),
            Role::Edge => format!("edges.{}", self.name.get_ref()),
        }
    }
}

impl Fleet {
    /// The hub first, then the edges in file order.
    pub fn clusters(&self) -> impl Iterator<Item = &Cluster> {
        std::iter::once(&self.hub).chain(self.edges.iter())
    }

    pub fn name(&self) -> &str {
        self.fleet.name.get_ref()
    }

    /// The user's `[fleet] tags`, added to every resource lkeobs creates.
    pub fn user_tags(&self) -> Vec<String> {
        self.fleet.tags.iter().map(|t| t.get_ref().clone()).collect()
    }

    /// The clusters a `--cluster NAME` option selects (all when absent), or why the name matches none.
    pub fn select(&self, only: Option<&str>) -> Result<Vec<&Cluster>, String> {
        let Some(name) = only else {
            return Ok(self.clusters().collect());
        };
        if let Some(c) = self.cluster(name) {
            return Ok(vec![c]);
        }
        let names: Vec<&str> = self.clusters().map(|c| c.name.get_ref().as_str()).collect();
        let hint = super::diag::did_you_mean(name, &names)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        Err(format!(
            "--cluster {name}: no such cluster in fleet {:?}{hint}; clusters: {}",
            self.name(),
            names.join(", ")
        ))
    }

    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters().find(|c| c.name.get_ref() == name)
    }
}
