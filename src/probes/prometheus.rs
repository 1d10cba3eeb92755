//! Prometheus probes through its HTTP query API: series from every cluster (`cluster_id`) carrying
//! `hub_received_at`, node metrics for every node, and the newest sample per cluster (freshness).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::backend::{Backend, query_string};
use super::outcome::Outcome;
use super::{ago, now_unix_nanos};

/// The instant-query lookback Prometheus applies by default: "in the last 5m".
pub const WINDOW: &str = "5m";

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The envelope of every Prometheus HTTP API answer: `status`, then `data` or an error.
#[derive(Deserialize)]
pub(super) struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

impl<T> Envelope<T> {
    /// The data of a success answer, else Prometheus' error as `type: message`.
    pub(super) fn data(self) -> Result<T, String> {
        if self.status != "success" {
            return Err(format!(
                "{}: {}",
                self.error_type.as_deref().unwrap_or("error"),
                self.error.as_deref().unwrap_or("no message")
            ));
        }
        self.data.ok_or_else(|| "a success answer without data".to_string())
    }
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<VectorItem>,
}

#[derive(Deserialize)]
struct VectorItem {
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

/// Parses a `/api/v1/query` answer holding an instant vector.
pub fn parse_vector(body: &[u8]) -> Result<Vec<Sample>, String> {
    let answer: Envelope<Data> =
        serde_json::from_slice(body).map_err(|e| format!("not a Prometheus query answer ({e})"))?;
    let data = answer.data()?;
    if data.result_type != "vector" {
        return Err(format!("expected a vector, got {}", data.result_type));
    }
    Ok(data
        .result
        .into_iter()
        .map(|i| Sample {
            labels: i.metric,
            value: i.value.1.parse().unwrap_or(f64::NAN),
        })
        .collect())
}

/// Runs an instant query at the current time.
pub async fn query(backend: &Backend, promql: &str) -> Result<Vec<Sample>, String> {
    let path = format!("/api/v1/query?{}", query_string(&[("query", promql)]));
    let reply = backend.get(&path).await?;
    match parse_vector(&reply.body) {
        Ok(v) if reply.is_success() => Ok(v),
        Err(e) if reply.is_success() => Err(format!("prometheus {}: {e}", backend.describe())),
        Ok(_) => Err(format!("prometheus {} {}", backend.describe(), reply.answered())),
        Err(e) => Err(format!(
            "prometheus {} answered {}: {e}",
            backend.describe(),
            reply.status
        )),
    }
}

/// Escapes a value for a PromQL string literal.
pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `a|b|c` with regex metacharacters escaped, for `=~`.
pub fn alternatives(names: &[String]) -> String {
    let esc = |n: &String| -> String {
        n.chars()
            .map(|c| {
                if "\\.+*?()|[]{}^$".contains(c) {
                    format!("\\\\{c}")
                } else if c == '"' {
                    "\\\"".to_string()
                } else {
                    c.to_string()
                }
            })
            .collect()
    };
    names.iter().map(esc).collect::<Vec<_>>().join("|")
}

/// Newest sample (unix nanoseconds) per `cluster_id`, and whether any of its series carries `hub_received_at`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterSeries {
    pub newest_ns: Option<u128>,
    pub with_hub_label: usize,
    pub without_hub_label: usize,
    pub hub_values: BTreeSet<String>,
}

/// Metrics every cluster's agent sends for every node (kubelet stats, every 20s), the clock of
/// [`newest_query`]. kubelet stats' node metrics carry no data-point attributes, so two of them on
/// one node have the same labels once `timestamp()` drops the names: each gets its own `timestamp()`.
pub const HEARTBEAT_METRICS: [&str; 2] = ["k8s_node_cpu_usage", "k8s_node_memory_working_set_bytes"];

/// Presence behind `prometheus/series`: how many series each cluster has in the last 5m, per
/// `hub_received_at`. Counting keeps `__name__` until the aggregation, so series that differ only
/// in their name never collide (no `timestamp()` over many names).
pub fn series_query(clusters: &[String]) -> String {
    format!(
        "count by (cluster_id, hub_received_at) ({{cluster_id=~\"{}\"}})",
        alternatives(clusters)
    )
}

/// The newest sample time per cluster: `timestamp()` applied to one metric name at a time (a
/// selector of one name cannot hold two series with the same labels), joined with `or`.
pub fn newest_query(clusters: &[String]) -> String {
    let re = alternatives(clusters);
    let parts: Vec<String> = HEARTBEAT_METRICS
        .iter()
        .map(|m| format!("timestamp({m}{{cluster_id=~\"{re}\"}})"))
        .collect();
    format!("max by (cluster_id) ({})", parts.join(" or "))
}

/// Runs [`series_query`] and [`newest_query`] at once and folds the answers per cluster.
pub async fn cluster_series(backend: &Backend, clusters: &[String]) -> Result<BTreeMap<String, ClusterSeries>, String> {
    let (series_q, newest_q) = (series_query(clusters), newest_query(clusters));
    let (series, newest) = tokio::join!(query(backend, &series_q), query(backend, &newest_q));
    let mut out: BTreeMap<String, ClusterSeries> = BTreeMap::new();
    for s in newest? {
        if let Some(cluster) = s.labels.get("cluster_id") {
            let entry = out.entry(cluster.clone()).or_default();
            entry.newest_ns = entry.newest_ns.max(Some((s.value * 1e9) as u128));
        }
    }
    for s in series? {
        let Some(cluster) = s.labels.get("cluster_id") else {
            continue;
        };
        let entry = out.entry(cluster.clone()).or_default();
        match s.labels.get("hub_received_at").filter(|v| !v.is_empty()) {
            Some(v) => {
                entry.with_hub_label += 1;
                entry.hub_values.insert(v.clone());
            }
            None => entry.without_hub_label += 1,
        }
    }
    Ok(out)
}

/// `prometheus/series`, one outcome per cluster: series with its `cluster_id` in the last 5m, and
/// the `hub_received_at` label on them.
pub async fn series(backend: &Backend, clusters: &[String]) -> Vec<Outcome> {
    const NAME: &str = "prometheus/series";
    let found = match cluster_series(backend, clusters).await {
        Ok(f) => f,
        Err(e) => return clusters.iter().map(|c| Outcome::fail(NAME, c, e.clone())).collect(),
    };
    let now = now_unix_nanos();
    clusters
        .iter()
        .map(|c| match found.get(c) {
            None => Outcome::fail(
                NAME,
                c,
                format!("prometheus: no series with cluster_id=\"{c}\" in the last {WINDOW}"),
            ),
            Some(s) if s.with_hub_label == 0 => Outcome::fail(
                NAME,
                c,
                format!(
                    "prometheus: series with cluster_id=\"{c}\" lack the hub_received_at label (not written through the gateway?)"
                ),
            ),
            Some(s) => {
                let mut detail = format!(
                    "series with cluster_id=\"{c}\", newest sample {}; hub_received_at={}",
                    ago(now, s.newest_ns),
                    s.hub_values.iter().cloned().collect::<Vec<_>>().join(",")
                );
                if s.without_hub_label > 0 {
                    detail.push_str(" (some series lack hub_received_at)");
                }
                Outcome::pass(NAME, c, detail)
            }
        })
        .collect()
}

/// What we know of a cluster's nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nodes {
    Known(Vec<String>),
    /// Why they could not be listed.
    Unknown(String),
}

/// Node metrics (kubelet stats `k8s_node_*`, labelled `k8s_node_name`) per cluster and node in the
/// last 5m. Counted, not timestamped: many node metrics share one label set once names are dropped.
pub fn nodes_query(clusters: &[String]) -> String {
    format!(
        "count by (cluster_id, k8s_node_name) ({{__name__=~\"k8s_node_.+\", cluster_id=~\"{}\"}})",
        alternatives(clusters)
    )
}

/// `prometheus/nodes`, one outcome per cluster: node metrics in the last 5m for every node it has.
pub async fn nodes(backend: &Backend, expected: &[(String, Nodes)]) -> Vec<Outcome> {
    const NAME: &str = "prometheus/nodes";
    let clusters: Vec<String> = expected.iter().map(|(c, _)| c.clone()).collect();
    let samples = match query(backend, &nodes_query(&clusters)).await {
        Ok(s) => s,
        Err(e) => return clusters.iter().map(|c| Outcome::fail(NAME, c, e.clone())).collect(),
    };
    let mut seen: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in &samples {
        if let (Some(c), Some(n)) = (s.labels.get("cluster_id"), s.labels.get("k8s_node_name")) {
            seen.entry(c).or_default().insert(n);
        }
    }
    expected
        .iter()
        .map(|(c, nodes)| {
            let have = seen.get(c.as_str()).cloned().unwrap_or_default();
            match nodes {
                Nodes::Unknown(why) if have.is_empty() => Outcome::fail(
                    NAME,
                    c,
                    format!("prometheus: no node metrics (k8s_node_*) with cluster_id=\"{c}\" in the last {WINDOW}; its node list is unknown: {why}"),
                ),
                Nodes::Unknown(why) => Outcome::skip(
                    NAME,
                    c,
                    format!("node metrics for {} node(s), but the node list to compare with is unknown: {why}", have.len()),
                ),
                Nodes::Known(list) if list.is_empty() => Outcome::fail(NAME, c, "the cluster has no nodes"),
                Nodes::Known(list) => {
                    let missing: Vec<&str> = list.iter().map(String::as_str).filter(|n| !have.contains(n)).collect();
                    if missing.is_empty() {
                        Outcome::pass(NAME, c, format!("node metrics for all {} node(s)", list.len()))
                    } else {
                        Outcome::fail(
                            NAME,
                            c,
                            format!(
                                "prometheus: no node metrics (k8s_node_*) with cluster_id=\"{c}\" in the last {WINDOW} for node(s) {} ({} of {} nodes have them)",
                                missing.join(", "),
                                list.len() - missing.len(),
                                list.len()
                            ),
                        )
                    }
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_instant_vector() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"cluster_id":"hub","hub_received_at":"otel-gateway"},"value":[1700000000.5,"1699999999.25"]}]}}"#;
        let v = parse_vector(body).expect("vector");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].labels["cluster_id"], "hub");
        assert_eq!(v[0].value, 1_699_999_999.25);
    }

    #[test]
    fn reports_prometheus_errors() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
        assert_eq!(parse_vector(body).unwrap_err(), "bad_data: parse error at char 3");
        assert!(parse_vector(b"{\"echo\":1}").is_err());
    }

    #[test]
    fn cluster_names_are_escaped_in_queries() {
        assert_eq!(
            series_query(&["hub".into(), "us-east".into()]),
            "count by (cluster_id, hub_received_at) ({cluster_id=~\"hub|us-east\"})"
        );
        assert_eq!(
            newest_query(&["hub".into()]),
            "max by (cluster_id) (timestamp(k8s_node_cpu_usage{cluster_id=~\"hub\"}) or timestamp(k8s_node_memory_working_set_bytes{cluster_id=~\"hub\"}))"
        );
        assert_eq!(alternatives(&["a.b".into()]), "a\\\\.b");
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
    }
}
