//! The alerts firing at the hub, from Prometheus' `/api/v1/alerts` (the rules in `alerts.yml` of
//! manifests/hub/20-prometheus.yaml), for `status`: reached like the freshness queries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::backend::Backend;
use super::prometheus::Envelope;

/// One firing alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// `alertname`, e.g. `LkeobsMetricsSilent`.
    pub name: String,
    /// The cluster it is about (its `cluster_id` label), when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// `critical`, `warning`, … (the `severity` label); empty when the rule sets none.
    pub severity: String,
    /// The rule's `summary` annotation: what is wrong and which lkeobs command helps.
    pub summary: String,
    /// When the alert became active (RFC 3339, as Prometheus says it).
    pub active_since: String,
    /// Every label of the alert.
    pub labels: BTreeMap<String, String>,
}

/// What `status` knows of the hub's alerts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum HubAlerts {
    /// Prometheus answered: these fire (pending ones are left out).
    Read { firing: Vec<Alert> },
    /// Prometheus could not be asked.
    Unknown { reason: String },
}

#[derive(Deserialize)]
struct Data {
    alerts: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    state: String,
    #[serde(default, rename = "activeAt")]
    active_at: Option<String>,
}

/// The firing alerts of an `/api/v1/alerts` answer, most severe first, then by cluster and name.
pub fn parse_firing(body: &[u8]) -> Result<Vec<Alert>, String> {
    let answer: Envelope<Data> =
        serde_json::from_slice(body).map_err(|e| format!("not a Prometheus alerts answer ({e})"))?;
    let data = answer.data()?;
    let mut firing: Vec<Alert> = data
        .alerts
        .into_iter()
        .filter(|a| a.state == "firing")
        .map(|a| {
            // Labels and annotations come from the cluster: none reaches a terminal or CI log raw.
            let safe = |s: &str| crate::text::escape_controls(s).into_owned();
            let labels: BTreeMap<String, String> = a.labels.iter().map(|(k, v)| (safe(k), safe(v))).collect();
            Alert {
                name: labels.get("alertname").cloned().unwrap_or_default(),
                cluster: labels.get("cluster_id").filter(|c| !c.is_empty()).cloned(),
                severity: labels.get("severity").cloned().unwrap_or_default(),
                summary: a.annotations.get("summary").map(|s| safe(s)).unwrap_or_default(),
                active_since: safe(&a.active_at.unwrap_or_default()),
                labels,
            }
        })
        .collect();
    firing.sort_by(|a, b| {
        (rank(&a.severity), &a.cluster, &a.name, &a.labels).cmp(&(rank(&b.severity), &b.cluster, &b.name, &b.labels))
    });
    Ok(firing)
}

/// Sort key: critical first, then warning, then anything else.
fn rank(severity: &str) -> u8 {
    match severity {
        "critical" => 0,
        "warning" => 1,
        _ => 2,
    }
}

/// Asks Prometheus for its alerts and keeps the firing ones.
pub async fn firing(prometheus: &Backend) -> HubAlerts {
    let reply = match prometheus.get("/api/v1/alerts").await {
        Ok(r) => r,
        Err(reason) => return HubAlerts::Unknown { reason },
    };
    if !reply.is_success() {
        let why = parse_firing(&reply.body).err().unwrap_or_else(|| reply.excerpt(200));
        return HubAlerts::Unknown {
            reason: format!(
                "prometheus {} answered {} to /api/v1/alerts: {why}",
                prometheus.describe(),
                reply.status
            ),
        };
    }
    match parse_firing(&reply.body) {
        Ok(firing) => HubAlerts::Read { firing },
        Err(e) => HubAlerts::Unknown {
            reason: format!("prometheus {}: {e}", prometheus.describe()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &[u8] = br#"{"status":"success","data":{"alerts":[
        {"labels":{"alertname":"LkeobsExporterFailing","cluster_id":"hub","exporter":"splunk_hec/1","severity":"warning"},
         "annotations":{"summary":"exporter failing"},"state":"firing","activeAt":"2026-08-01T10:00:00Z","value":"1e+01"},
        {"labels":{"alertname":"LkeobsTracesSilent","cluster_id":"eu-west","severity":"warning"},
         "annotations":{"summary":"pending one"},"state":"pending","activeAt":"2026-08-01T10:05:00Z","value":"1e+00"},
        {"labels":{"alertname":"LkeobsMetricsSilent","cluster_id":"us-east","severity":"critical"},
         "annotations":{"summary":"Cluster us-east has sent no metrics"},"state":"firing","activeAt":"2026-08-01T10:01:00Z","value":"1e+00"}]}}"#;

    #[test]
    fn keeps_firing_alerts_most_severe_first() {
        let firing = parse_firing(ANSWER).expect("alerts");
        let names: Vec<&str> = firing.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["LkeobsMetricsSilent", "LkeobsExporterFailing"]);
        assert_eq!(firing[0].cluster.as_deref(), Some("us-east"));
        assert_eq!(firing[0].summary, "Cluster us-east has sent no metrics");
        assert_eq!(firing[0].active_since, "2026-08-01T10:01:00Z");
        assert_eq!(firing[1].labels["exporter"], "splunk_hec/1");
    }

    #[test]
    fn control_characters_from_the_cluster_are_escaped() {
        let body = br#"{"status":"success","data":{"alerts":[{"labels":{"alertname":"X\u001b]0;owned\u0007","cluster_id":"a\n::add-mask::b"},
         "annotations":{"summary":"line\n::warning::fake"},"state":"firing","activeAt":"2026-08-01T10:00:00Z"}]}}"#;
        let firing = parse_firing(body).expect("alerts");
        let a = &firing[0];
        for text in [&a.name, &a.summary, a.cluster.as_deref().unwrap_or_default()] {
            assert!(!text.chars().any(crate::text::is_control), "{text:?}");
        }
        assert_eq!(a.summary, "line\\n::warning::fake");
    }

    #[test]
    fn reports_prometheus_errors() {
        let body = br#"{"status":"error","errorType":"unavailable","error":"rule manager not ready"}"#;
        assert_eq!(parse_firing(body).unwrap_err(), "unavailable: rule manager not ready");
        assert!(parse_firing(b"404 page not found").is_err());
    }

    #[test]
    fn serializes_with_a_state_tag() {
        let v = serde_json::to_value(HubAlerts::Read { firing: vec![] }).expect("json");
        assert_eq!(v, serde_json::json!({"state": "read", "firing": []}));
    }
}
