//! Every container image lkeobs deploys, pinned in this one place (docs/stack.md, "Component versions", explains each choice).

use serde::Serialize;

/// The images for one cluster.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Images {
    pub otelcol: String,
    pub prometheus: String,
    pub loki: String,
    pub tempo: String,
    pub grafana: String,
    pub kube_state_metrics: String,
    pub dcgm_exporter: String,
    pub metrics_server: String,
    pub alertmanager: String,
    /// An `ha` hub's metrics store.
    pub mimir: String,
}

/// OpenTelemetry Collector contrib: newest release reviewed (docs/stack.md); configs use its snake_case component names.
pub const OTELCOL: &str = "otel/opentelemetry-collector-contrib:0.159.0";
/// The collector project's load generator at the collector's own version (`lkeobs loadtest`); the
/// flags lkeobs passes are checked against this version's (`ops::loadtest::job::TELEMETRYGEN_FLAGS`).
pub const TELEMETRYGEN: &str = "ghcr.io/open-telemetry/opentelemetry-collector-contrib/telemetrygen:v0.159.0";
/// Prometheus 3.5 LTS: remote-write receiver, out-of-order window, exemplar storage.
pub const PROMETHEUS: &str = "quay.io/prometheus/prometheus:v3.5.5";
/// Loki 3.7: native OTLP ingestion (the collector's `loki` exporter is gone since 0.131), schema v13 on tsdb.
pub const LOKI: &str = "grafana/loki:3.7.6";
/// Tempo 2.10: monolithic single binary, scoped overrides for the metrics generator.
pub const TEMPO: &str = "grafana/tempo:2.10.8";
/// Grafana Mimir 3.1 (an `ha` hub's metrics, docs/hub-ha.md): the newest patch found (release PR grafana/mimir#16082,
/// "Prepare release 3.1.3"); classic architecture, monolithic `-target=all`.
pub const MIMIR: &str = "grafana/mimir:3.1.3";
/// Grafana 13: `tracesToLogsV2`, Loki structured-metadata derived fields.
pub const GRAFANA: &str = "grafana/grafana:13.2.0";
/// Alertmanager 0.35: the newest release; `receiver_name` on its notification counters behind
/// `--enable-feature=receiver-name-in-metrics` (0.27+). Its config stays within what Debian's amtool 0.25 checks.
pub const ALERTMANAGER: &str = "quay.io/prometheus/alertmanager:v0.35.1";
/// NVIDIA DCGM exporter 4.x for GPU pools.
pub const DCGM_EXPORTER: &str = "nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04";

/// metrics-server, deployed where an HPA runs and no metrics API exists (LKE ships none).
/// Its compatibility matrix (metrics-server's README): 0.8.x for Kubernetes 1.31+, 0.9.x for 1.34+ (0.9.0's
/// manifests are 0.8.1's with another image). So v0.8.1 (the newest 0.8) below 1.34, v0.9.0 from it.
const METRICS_SERVER: [(u32, &str); 2] = [(31, "v0.8.1"), (34, "v0.9.0")];
const METRICS_SERVER_REPO: &str = "registry.k8s.io/metrics-server/metrics-server";

/// The metrics-server tag for a Kubernetes minor version like "1.33".
pub fn metrics_server_tag(k8s_version: &str) -> &'static str {
    let minor = minor(k8s_version);
    METRICS_SERVER
        .iter()
        .rev()
        .find(|(m, _)| minor >= *m)
        .map_or(METRICS_SERVER[0].1, |(_, tag)| tag)
}

fn minor(k8s_version: &str) -> u32 {
    k8s_version
        .split_once('.')
        .and_then(|(_, m)| m.parse::<u32>().ok())
        .unwrap_or(0)
}

/// kube-state-metrics follows the Kubernetes minor (KSM compatibility matrix): v2.17↔1.33 … v2.20↔1.36.
const KUBE_STATE_METRICS: [(u32, &str); 4] = [(33, "v2.17.0"), (34, "v2.18.0"), (35, "v2.19.0"), (36, "v2.20.0")];
const KSM_REPO: &str = "registry.k8s.io/kube-state-metrics/kube-state-metrics";

/// The kube-state-metrics tag for a Kubernetes minor version like "1.33" (older → oldest listed, newer → newest).
pub fn kube_state_metrics_tag(k8s_version: &str) -> &'static str {
    let minor = minor(k8s_version);
    let (first, last) = (KUBE_STATE_METRICS[0], KUBE_STATE_METRICS[KUBE_STATE_METRICS.len() - 1]);
    if minor <= first.0 {
        return first.1;
    }
    KUBE_STATE_METRICS
        .iter()
        .find(|(m, _)| *m == minor)
        .map_or(last.1, |(_, tag)| tag)
}

/// The images for a cluster running `k8s_version`.
pub fn images(k8s_version: &str) -> Images {
    Images {
        otelcol: OTELCOL.into(),
        prometheus: PROMETHEUS.into(),
        loki: LOKI.into(),
        tempo: TEMPO.into(),
        grafana: GRAFANA.into(),
        kube_state_metrics: format!("{KSM_REPO}:{}", kube_state_metrics_tag(k8s_version)),
        dcgm_exporter: DCGM_EXPORTER.into(),
        metrics_server: format!("{METRICS_SERVER_REPO}:{}", metrics_server_tag(k8s_version)),
        alertmanager: ALERTMANAGER.into(),
        mimir: MIMIR.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telemetrygen_is_pinned_at_the_collectors_version() {
        let collector = OTELCOL.rsplit(':').next().unwrap_or_default();
        assert_eq!(TELEMETRYGEN.rsplit(':').next(), Some(format!("v{collector}").as_str()));
    }

    #[test]
    fn kube_state_metrics_follows_the_kubernetes_minor() {
        assert_eq!(kube_state_metrics_tag("1.33"), "v2.17.0");
        assert_eq!(kube_state_metrics_tag("1.35"), "v2.19.0");
        assert_eq!(kube_state_metrics_tag("1.31"), "v2.17.0");
        assert_eq!(kube_state_metrics_tag("1.40"), "v2.20.0");
    }

    #[test]
    fn metrics_server_follows_its_compatibility_matrix() {
        assert_eq!(metrics_server_tag("1.32"), "v0.8.1");
        assert_eq!(metrics_server_tag("1.33"), "v0.8.1");
        assert_eq!(metrics_server_tag("1.34"), "v0.9.0");
        assert_eq!(metrics_server_tag("1.36"), "v0.9.0");
        assert_eq!(metrics_server_tag("1.29"), "v0.8.1");
    }

    #[test]
    fn no_image_floats() {
        let i = images("1.33");
        for image in [
            &i.otelcol,
            &i.prometheus,
            &i.loki,
            &i.tempo,
            &i.grafana,
            &i.kube_state_metrics,
            &i.dcgm_exporter,
            &i.metrics_server,
            &i.alertmanager,
            &i.mimir,
        ] {
            let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
            assert!(!tag.is_empty() && tag != "latest", "{image} is not pinned");
        }
    }
}
