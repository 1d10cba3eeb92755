//! Loki probes through `query_range`: log streams from every cluster (`cluster_id` is an index
//! label, see manifests/hub/21-loki.yaml) in the last 5 minutes, and the newest line per cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::backend::{Backend, query_string};
use super::outcome::Outcome;
use super::prometheus::quote;
use super::{ago, now_unix_nanos};

/// How far back `loki/streams` and `status` look.
pub const WINDOW: Duration = Duration::from_secs(300);

/// One stream of a `query_range` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// Stream labels; Loki 3 merges structured metadata into them unless asked to categorize.
    pub labels: BTreeMap<String, String>,
    /// Structured metadata of each entry when the answer is categorized (third element of a value).
    pub metadata: BTreeMap<String, String>,
    pub newest_ns: Option<u128>,
    pub entries: usize,
}

impl Stream {
    /// A label or structured-metadata value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.labels
            .get(key)
            .or_else(|| self.metadata.get(key))
            .map(String::as_str)
    }
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<RawStream>,
}

#[derive(Deserialize)]
struct RawStream {
    stream: BTreeMap<String, String>,
    values: Vec<Vec<Value>>,
}

/// Parses a `/loki/api/v1/query_range` answer of a log query (`resultType` `streams`).
pub fn parse_streams(body: &[u8]) -> Result<Vec<Stream>, String> {
    let answer: Answer = serde_json::from_slice(body).map_err(|e| format!("not a Loki query answer ({e})"))?;
    if answer.status != "success" {
        return Err(format!("status {}", answer.status));
    }
    let data = answer.data.ok_or("a success answer without data")?;
    if data.result_type != "streams" {
        return Err(format!("expected streams, got {}", data.result_type));
    }
    Ok(data
        .result
        .into_iter()
        .map(|s| {
            let mut metadata = BTreeMap::new();
            let mut newest_ns: Option<u128> = None;
            for v in &s.values {
                let ts = v.first().and_then(Value::as_str).and_then(|t| t.parse::<u128>().ok());
                newest_ns = newest_ns.max(ts);
                if let Some(Value::Object(cat)) = v.get(2) {
                    for part in ["structuredMetadata", "parsed"] {
                        if let Some(Value::Object(m)) = cat.get(part) {
                            for (k, val) in m {
                                if let Some(val) = val.as_str() {
                                    metadata.insert(k.clone(), val.to_string());
                                }
                            }
                        }
                    }
                }
            }
            Stream {
                labels: s.stream,
                metadata,
                newest_ns,
                entries: s.values.len(),
            }
        })
        .collect())
}

/// Runs a log query over `[start_ns, end_ns]`, newest lines first.
pub async fn query_range(
    backend: &Backend,
    logql: &str,
    start_ns: u128,
    end_ns: u128,
    limit: u32,
) -> Result<Vec<Stream>, String> {
    let (start, end, limit) = (start_ns.to_string(), end_ns.to_string(), limit.to_string());
    let path = format!(
        "/loki/api/v1/query_range?{}",
        query_string(&[
            ("query", logql),
            ("start", &start),
            ("end", &end),
            ("limit", &limit),
            ("direction", "backward"),
        ])
    );
    let reply = backend.get(&path).await?;
    if !reply.is_success() {
        return Err(format!("loki {} {}", backend.describe(), reply.answered()));
    }
    parse_streams(&reply.body).map_err(|e| format!("loki {}: {e}", backend.describe()))
}

/// `{cluster_id="<cluster>"}`: every log stream of a cluster.
pub fn cluster_selector(cluster: &str) -> String {
    format!("{{cluster_id={}}}", quote(cluster))
}

/// The newest log line of `cluster` within [`WINDOW`] (unix ns), with how many streams were seen.
pub async fn newest(backend: &Backend, cluster: &str) -> Result<Option<(u128, usize)>, String> {
    let end = now_unix_nanos();
    let start = end.saturating_sub(WINDOW.as_nanos());
    let streams = query_range(backend, &cluster_selector(cluster), start, end, 20).await?;
    let newest = streams.iter().filter_map(|s| s.newest_ns).max();
    Ok(newest.map(|n| (n, streams.len())))
}

/// `loki/streams` for one cluster: log streams with its `cluster_id` in the last 5 minutes.
pub async fn streams(backend: &Backend, cluster: &str) -> Outcome {
    const NAME: &str = "loki/streams";
    match newest(backend, cluster).await {
        Err(e) => Outcome::fail(NAME, cluster, e),
        Ok(None) => Outcome::fail(
            NAME,
            cluster,
            format!(
                "loki: no log streams with cluster_id=\"{cluster}\" in the last {}m",
                WINDOW.as_secs() / 60
            ),
        ),
        Ok(Some((ns, n))) => Outcome::pass(
            NAME,
            cluster,
            format!(
                "{n} stream(s) with cluster_id=\"{cluster}\", newest line {}",
                ago(now_unix_nanos(), Some(ns))
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_streams_with_merged_and_categorized_metadata() {
        let body = br#"{"status":"success","data":{"resultType":"streams","result":[
            {"stream":{"cluster_id":"us-east","service_name":"web","hub_received_at":"otel-gateway-0"},
             "values":[["1700000000000000001","hello"],["1700000000000000009","world"]]},
            {"stream":{"cluster_id":"us-east","service_name":"lkeobs-canary"},
             "values":[["1700000000000000005","canary",{"structuredMetadata":{"lkeobs_canary_id":"abc"}}]]}
            ],"stats":{}}}"#;
        let s = parse_streams(body).expect("streams");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].newest_ns, Some(1_700_000_000_000_000_009));
        assert_eq!(s[0].entries, 2);
        assert_eq!(s[0].get("hub_received_at"), Some("otel-gateway-0"));
        assert_eq!(s[1].get("lkeobs_canary_id"), Some("abc"));
    }

    #[test]
    fn rejects_metric_answers_and_junk() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(parse_streams(body).unwrap_err(), "expected streams, got vector");
        assert!(parse_streams(b"{\"echo\":{}}").is_err());
    }

    #[test]
    fn selector_quotes_the_cluster() {
        assert_eq!(cluster_selector("eu-west"), "{cluster_id=\"eu-west\"}");
    }
}
