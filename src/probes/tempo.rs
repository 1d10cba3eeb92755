//! Tempo probes: `/ready`, a TraceQL search by `cluster.id` (skipped, with the reason, for clusters
//! without traced workloads) and a trace looked up by id (the canary).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use serde::Deserialize;
use serde_json::Value;

use super::backend::{Backend, query_string};
use super::outcome::Outcome;
use super::{ago, now_unix_nanos};
use crate::k8s::K8s;
use crate::objects;

/// How far back the search looks: traced workloads may be quiet for a while.
pub const WINDOW: Duration = Duration::from_secs(3600);

/// Namespaces whose pods are ours or the platform's, never a user's traced workload.
const SYSTEM_NAMESPACES: [&str; 5] = [
    objects::OBSERVABILITY,
    objects::OBSERVABILITY_HUB,
    objects::MONITORING,
    "kube-system",
    "kube-public",
];

/// `tempo/ready`: GET /ready answers 200.
pub async fn ready(backend: &Backend) -> Outcome {
    const NAME: &str = "tempo/ready";
    match backend.get("/ready").await {
        Ok(r) if r.is_success() => Outcome::pass(
            NAME,
            "hub",
            format!("{} /ready answers {}", backend.describe(), r.status),
        ),
        Ok(r) => Outcome::fail(NAME, "hub", format!("tempo: /ready {}", r.answered())),
        Err(e) => Outcome::fail(NAME, "hub", e),
    }
}

/// One trace of a search answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub trace_id: String,
    pub start_ns: Option<u128>,
}

#[derive(Deserialize)]
struct SearchAnswer {
    #[serde(default)]
    traces: Vec<SearchTrace>,
}

#[derive(Deserialize)]
struct SearchTrace {
    #[serde(rename = "traceID")]
    trace_id: String,
    #[serde(default, rename = "startTimeUnixNano")]
    start: Option<String>,
}

/// Parses a `/api/search` answer.
pub fn parse_search(body: &[u8]) -> Result<Vec<Found>, String> {
    let a: SearchAnswer = serde_json::from_slice(body).map_err(|e| format!("not a Tempo search answer ({e})"))?;
    Ok(a.traces
        .into_iter()
        .map(|t| Found {
            trace_id: t.trace_id,
            start_ns: t.start.and_then(|s| s.parse().ok()),
        })
        .collect())
}

/// `{ resource.cluster.id = "<cluster>" }`.
pub fn cluster_traceql(cluster: &str) -> String {
    format!("{{ resource.cluster.id = {} }}", super::prometheus::quote(cluster))
}

/// Searches the traces of `cluster` in the last [`WINDOW`].
pub async fn search(backend: &Backend, cluster: &str) -> Result<Vec<Found>, String> {
    let end = now_unix_nanos() / 1_000_000_000 + 1;
    let start = end.saturating_sub(u128::from(WINDOW.as_secs()));
    let (start, end) = (start.to_string(), end.to_string());
    let q = cluster_traceql(cluster);
    let path = format!(
        "/api/search?{}",
        query_string(&[("q", &q), ("start", &start), ("end", &end), ("limit", "20")])
    );
    let reply = backend.get(&path).await?;
    if !reply.is_success() {
        return Err(format!("tempo {} search {}", backend.describe(), reply.answered()));
    }
    parse_search(&reply.body).map_err(|e| format!("tempo {}: {e}", backend.describe()))
}

/// Pods outside the system namespaces that are set up to send traces: an `OTEL_EXPORTER_OTLP_*` or
/// `OTEL_TRACES_EXPORTER` variable, or an OpenTelemetry operator injection annotation.
pub async fn traced_workloads(k8s: &K8s) -> Result<Vec<String>, String> {
    let api: Api<Pod> = Api::all(k8s.client().clone());
    let pods = api
        .list(&ListParams::default())
        .await
        .map_err(|e| format!("list pods: {e}"))?;
    let traced = pods.items.iter().filter(|p| {
        let ns = p.metadata.namespace.as_deref().unwrap_or_default();
        if SYSTEM_NAMESPACES.contains(&ns) {
            return false;
        }
        let annotated = p.metadata.annotations.as_ref().is_some_and(|a| {
            a.keys()
                .any(|k| k.starts_with("instrumentation.opentelemetry.io/inject-"))
        });
        let env = p.spec.as_ref().is_some_and(|s| {
            s.containers
                .iter()
                .flat_map(|c| c.env.iter().flatten())
                .any(|e| e.name.starts_with("OTEL_EXPORTER_OTLP") || e.name == "OTEL_TRACES_EXPORTER")
        });
        annotated || env
    });
    Ok(traced
        .map(|p| {
            format!(
                "{}/{}",
                p.metadata.namespace.as_deref().unwrap_or_default(),
                p.metadata.name.as_deref().unwrap_or_default()
            )
        })
        .collect())
}

/// `tempo/search` for one cluster. Without traces in the last hour the probe fails only when the
/// cluster has traced workloads (`k8s` given); otherwise it is skipped, saying why.
pub async fn search_cluster(backend: &Backend, cluster: &str, k8s: Option<&K8s>) -> Outcome {
    const NAME: &str = "tempo/search";
    let found = match search(backend, cluster).await {
        Ok(f) => f,
        Err(e) => return Outcome::fail(NAME, cluster, e),
    };
    let window = WINDOW.as_secs() / 60;
    if !found.is_empty() {
        let newest = found.iter().filter_map(|f| f.start_ns).max();
        return Outcome::pass(
            NAME,
            cluster,
            format!(
                "{} trace(s) with cluster.id=\"{cluster}\" in the last {window}m, newest started {}",
                found.len(),
                ago(now_unix_nanos(), newest)
            ),
        );
    }
    let Some(k8s) = k8s else {
        return Outcome::skip(
            NAME,
            cluster,
            format!(
                "no traces with cluster.id=\"{cluster}\" in the last {window}m, and its pods cannot be listed to tell whether any workload sends traces"
            ),
        );
    };
    match traced_workloads(k8s).await {
        Err(e) => Outcome::fail(NAME, cluster, format!("no traces with cluster.id=\"{cluster}\"; {e}")),
        Ok(pods) if pods.is_empty() => Outcome::skip(
            NAME,
            cluster,
            format!(
                "no traced workloads: no traces with cluster.id=\"{cluster}\" in the last {window}m and no pod sets OTEL_EXPORTER_OTLP_* or an instrumentation annotation"
            ),
        ),
        Ok(pods) => {
            let shown: Vec<&str> = pods.iter().take(3).map(String::as_str).collect();
            Outcome::fail(
                NAME,
                cluster,
                format!(
                    "tempo: no traces with cluster.id=\"{cluster}\" in the last {window}m, though {} pod(s) are set up to send traces ({}{})",
                    pods.len(),
                    shown.join(", "),
                    if pods.len() > 3 { ", …" } else { "" }
                ),
            )
        }
    }
}

/// The resource attributes of every resource in a trace-by-id answer: Tempo's `/api/traces/<id>`
/// (`batches`), OTLP JSON (`resourceSpans`) or `/api/v2/traces/<id>` (`trace.resourceSpans`).
pub fn trace_resources(body: &[u8]) -> Result<Vec<BTreeMap<String, String>>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not a Tempo trace ({e})"))?;
    let batches = v
        .get("batches")
        .or_else(|| v.get("resourceSpans"))
        .or_else(|| v.get("trace").and_then(|t| t.get("resourceSpans")))
        .and_then(Value::as_array)
        .ok_or("a trace without batches or resourceSpans")?;
    Ok(batches
        .iter()
        .map(|b| {
            b.pointer("/resource/attributes")
                .and_then(Value::as_array)
                .map(|attrs| {
                    attrs
                        .iter()
                        .filter_map(|a| {
                            let key = a.get("key")?.as_str()?;
                            let value = a.pointer("/value/stringValue")?.as_str()?;
                            Some((key.to_string(), value.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect())
}

/// Looks a trace up by its hex id: `Ok(None)` while Tempo does not have it (404).
pub async fn trace_by_id(backend: &Backend, trace_id: &str) -> Result<Option<Vec<BTreeMap<String, String>>>, String> {
    let reply = backend.get(&format!("/api/traces/{trace_id}")).await?;
    match reply.status {
        404 => Ok(None),
        s if (200..300).contains(&s) => trace_resources(&reply.body).map(Some),
        _ => Err(format!("tempo: GET /api/traces/{trace_id} {}", reply.answered())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_search_answer() {
        let body = br#"{"traces":[{"traceID":"2f3e0cee77ae5dc9c17ade3689eb2e54","rootServiceName":"shop",
            "rootTraceName":"checkout","startTimeUnixNano":"1684778327699392724","durationMs":557}],
            "metrics":{"inspectedBytes":"1","completedJobs":1,"totalJobs":1}}"#;
        let f = parse_search(body).expect("search");
        assert_eq!(f[0].trace_id, "2f3e0cee77ae5dc9c17ade3689eb2e54");
        assert_eq!(f[0].start_ns, Some(1_684_778_327_699_392_724));
        assert!(parse_search(br#"{"metrics":{}}"#).expect("empty").is_empty());
    }

    #[test]
    fn reads_resource_attributes_of_every_trace_shape() {
        let attrs = r#"{"resource":{"attributes":[{"key":"cluster.id","value":{"stringValue":"us-east"}},
            {"key":"hub.received_at","value":{"stringValue":"otel-gateway-0"}},{"key":"n","value":{"intValue":"1"}}]},
            "scopeSpans":[]}"#;
        for body in [
            format!("{{\"batches\":[{attrs}]}}"),
            format!("{{\"resourceSpans\":[{attrs}]}}"),
            format!("{{\"trace\":{{\"resourceSpans\":[{attrs}]}}}}"),
        ] {
            let r = trace_resources(body.as_bytes()).expect("trace");
            assert_eq!(r[0]["cluster.id"], "us-east");
            assert_eq!(r[0]["hub.received_at"], "otel-gateway-0");
            assert!(!r[0].contains_key("n"));
        }
        assert!(trace_resources(b"{}").is_err());
    }

    #[test]
    fn traceql_quotes_the_cluster() {
        assert_eq!(cluster_traceql("us-east"), "{ resource.cluster.id = \"us-east\" }");
    }
}
