//! The well-known Kubernetes objects lkeobs manages and looks for, as typed references in one place: the
//! namespaces, Services, Secrets and labels that `stack`, `k8s`, `pki`, `plan`, `probes` and `ops` share.

use std::collections::BTreeMap;

use serde::Serialize;

/// A Kubernetes object identity: what `plan` lists and `up` applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// A namespaced object known by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Named {
    pub namespace: &'static str,
    pub name: &'static str,
}

impl Named {
    const fn new(namespace: &'static str, name: &'static str) -> Self {
        Named { namespace, name }
    }

    /// `(namespace, name)`.
    pub const fn pair(self) -> (&'static str, &'static str) {
        (self.namespace, self.name)
    }

    /// This name as a Secret's [`ObjectRef`].
    pub fn secret_ref(self) -> ObjectRef {
        ObjectRef {
            api_version: "v1".into(),
            kind: "Secret".into(),
            namespace: Some(self.namespace.into()),
            name: self.name.into(),
        }
    }
}

impl std::fmt::Display for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The hub's stores and Grafana.
pub const MONITORING: &str = "monitoring";
/// The collectors on every cluster (agent, scraper, kube-state-metrics, DCGM).
pub const OBSERVABILITY: &str = "observability";
/// The hub's gateway and the fleet CA.
pub const OBSERVABILITY_HUB: &str = "observability-hub";

/// The gateway workload (and its in-cluster Service).
pub const GATEWAY: Named = Named::new(OBSERVABILITY_HUB, "otel-gateway");
/// The gateway's LoadBalancer Service, the edges' way in.
pub const GATEWAY_LB: Named = Named::new(OBSERVABILITY_HUB, "otel-gateway-external");
/// The gateway's in-cluster Service, as a host name.
pub const GATEWAY_SERVICE_HOST: &str = "otel-gateway.observability-hub.svc.cluster.local";
/// Grafana's workload and Service (a LoadBalancer when `grafana_allow` is set).
pub const GRAFANA: Named = Named::new(MONITORING, "grafana");
/// The hub's Alertmanager (only with `[alerts]`), port 9093.
pub const ALERTMANAGER: Named = Named::new(MONITORING, "alertmanager");
pub const PROMETHEUS: Named = Named::new(MONITORING, "prometheus");
pub const LOKI: Named = Named::new(MONITORING, "loki");
pub const TEMPO: Named = Named::new(MONITORING, "tempo");
/// An `ha` hub's metrics store (replaces [`PROMETHEUS`]): its ClusterIP Service, HTTP on [`MIMIR_HTTP_PORT`].
pub const MIMIR: Named = Named::new(MONITORING, "mimir");
/// Mimir's HTTP port (remote write `/api/v1/push`, the Prometheus API under [`MIMIR_PROMETHEUS_PREFIX`]).
pub const MIMIR_HTTP_PORT: u16 = 8080;
/// The path prefix of Mimir's Prometheus-compatible query API (`/prometheus/api/v1/query`, `…/alerts`).
pub const MIMIR_PROMETHEUS_PREFIX: &str = "/prometheus";
/// Mimir's remote-write path (after [`MIMIR_HTTP_PORT`]).
pub const MIMIR_PUSH_PATH: &str = "/api/v1/push";
/// The headless Services the `ha` engines' memberlist gossip joins through, port [`MEMBERLIST_PORT`].
pub const MIMIR_MEMBERLIST: Named = Named::new(MONITORING, "mimir-memberlist");
pub const LOKI_MEMBERLIST: Named = Named::new(MONITORING, "loki-memberlist");
pub const TEMPO_MEMBERLIST: Named = Named::new(MONITORING, "tempo-memberlist");
/// An `ha` hub's headless Tempo Service: the queriers' frontend address and the gateway's round-robin OTLP target.
pub const TEMPO_HEADLESS: Named = Named::new(MONITORING, "tempo-headless");
/// The gossip port of every `ha` engine.
pub const MEMBERLIST_PORT: u16 = 7946;
/// The gRPC port of every `ha` engine (ring and query traffic between replicas).
pub const ENGINE_GRPC_PORT: u16 = 9095;
/// An `ha` hub's Object Storage key (`up` creates it): env keys [`OBJECT_STORAGE_ACCESS_KEY`] and
/// [`OBJECT_STORAGE_SECRET_KEY`], read by Mimir, Loki and Tempo.
pub const OBJECT_STORAGE_SECRET: Named = Named::new(MONITORING, "lkeobs-object-storage");
pub const OBJECT_STORAGE_ACCESS_KEY: &str = "AWS_ACCESS_KEY_ID";
pub const OBJECT_STORAGE_SECRET_KEY: &str = "AWS_SECRET_ACCESS_KEY";
/// The agent DaemonSet (and its Service) on every cluster.
pub const AGENT: Named = Named::new(OBSERVABILITY, "otel-agent");

/// The fleet CA (`ca.crt`, `ca.key`), in the hub; never mounted by a pod.
pub const CA_SECRET: Named = Named::new(OBSERVABILITY_HUB, "lkeobs-ca");
/// The gateway's server certificate.
pub const GATEWAY_TLS_SECRET: Named = Named::new(OBSERVABILITY_HUB, "otel-gateway-tls");
/// Grafana's server certificate (`grafana_allow` set: Grafana serves HTTPS).
pub const GRAFANA_TLS_SECRET: Named = Named::new(MONITORING, "grafana-tls");
/// Grafana's admin user and generated password.
pub const GRAFANA_ADMIN_SECRET: Named = Named::new(MONITORING, "grafana-admin");
/// The alert receivers' secrets (one key per variable of `[alerts]`), mounted by Alertmanager only.
pub const ALERTMANAGER_SECRET: Named = Named::new(MONITORING, "lkeobs-alertmanager");
/// The destinations' tokens, read from the environment by `up`.
pub const DESTINATIONS_SECRET: Named = Named::new(OBSERVABILITY_HUB, "lkeobs-destinations");
/// An edge's client certificate, in that edge.
pub const CLIENT_TLS_SECRET: Named = Named::new(OBSERVABILITY, "otel-client-tls");
/// Each edge's gateway password (one key per edge), in the hub; never mounted by a pod.
pub const EDGE_CREDENTIALS_SECRET: Named = Named::new(OBSERVABILITY_HUB, "lkeobs-edge-credentials");
/// The gateway's htpasswd file, derived from [`EDGE_CREDENTIALS_SECRET`].
pub const GATEWAY_HTPASSWD_SECRET: Named = Named::new(OBSERVABILITY_HUB, "otel-gateway-htpasswd");
/// An edge's copy of its gateway credential, in that edge.
pub const EDGE_AUTH_SECRET: Named = Named::new(OBSERVABILITY, "otel-edge-auth");

/// The attribute the `verify --canary` items carry their run id in (`lkeobs_canary_id` once Loki and
/// Prometheus translate it).
pub const CANARY_ID_ATTRIBUTE: &str = "lkeobs.canary.id";

/// The APIService that serves the resource metrics API a CPU HorizontalPodAutoscaler needs.
pub const METRICS_APISERVICE: &str = "v1beta1.metrics.k8s.io";

/// Node label lkeobs puts on GPU pools (no taint: NVIDIA's device plugin tolerates only `nvidia.com/gpu`).
pub const GPU_LABEL_KEY: &str = "lkeobs.io/gpu";
pub const GPU_LABEL_VALUE: &str = "true";

/// The label that keeps an object out of `up`'s prune, and its value (metrics-server: see
/// manifests/metrics-server/40-metrics-server.yaml).
pub const NEVER_PRUNE: (&str, &str) = ("lkeobs.io/prune", "never");

/// The ownership labels every object lkeobs creates carries: managed by lkeobs, of a fleet, in a cluster.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "lkeobs");
pub const FLEET_LABEL: &str = "lkeobs.io/fleet";
pub const CLUSTER_LABEL: &str = "lkeobs.io/cluster";

/// The ownership labels of an object lkeobs creates outside the rendered stack (its Secrets).
pub fn labels(fleet: &str, cluster: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
        (FLEET_LABEL.to_string(), fleet.to_string()),
        (CLUSTER_LABEL.to_string(), cluster.to_string()),
    ])
}

/// The label selector of everything lkeobs owns of `fleet` (`managed-by=lkeobs,lkeobs.io/fleet=<fleet>`).
pub fn fleet_selector(fleet: &str) -> String {
    format!("{}={},{FLEET_LABEL}={fleet}", MANAGED_BY.0, MANAGED_BY.1)
}

/// Whether `labels` mark an object as `fleet`'s (managed by lkeobs, of that fleet).
pub fn is_fleets(labels: &BTreeMap<String, String>, fleet: &str) -> bool {
    labels.get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
        && labels.get(FLEET_LABEL).map(String::as_str) == Some(fleet)
}

/// One address the cluster's API server really answers on (the `kubernetes` Endpoints, where the
/// Service IP's DNAT leads): what an egress NetworkPolicy for an API watch must name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ApiServerEndpoint {
    pub ip: std::net::IpAddr,
    pub port: u16,
}

/// Whether a cluster serves the resource metrics API ([`METRICS_APISERVICE`]), and whose it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsApi {
    /// None: a fresh LKE cluster (and what offline rendering assumes). lkeobs deploys metrics-server.
    #[default]
    Missing,
    /// The metrics-server lkeobs deployed: kept up to date.
    Ours,
    /// Someone else's: left alone, no metrics-server of ours is rendered.
    Foreign,
}

impl MetricsApi {
    /// Whether lkeobs' metrics-server is rendered (for a cluster that runs an HPA).
    pub fn deploys_ours(self) -> bool {
        self != MetricsApi::Foreign
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ownership_labels_mark_the_fleets_objects() {
        let l = labels("prod", "hub");
        assert!(is_fleets(&l, "prod"));
        assert!(!is_fleets(&l, "staging"));
        assert_eq!(l.get("lkeobs.io/cluster").map(String::as_str), Some("hub"));
        assert!(!is_fleets(&BTreeMap::new(), "prod"));
    }

    #[test]
    fn the_gateway_host_is_its_service() {
        assert_eq!(
            GATEWAY_SERVICE_HOST,
            format!("{}.{}.svc.cluster.local", GATEWAY.name, GATEWAY.namespace)
        );
    }
}
