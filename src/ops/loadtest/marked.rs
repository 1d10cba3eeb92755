//! Finding a load test's marked items at the hub: every generated span, log record and metric point
//! carries the run id ([`RUN_ATTRIBUTE`]); Tempo, Loki and Prometheus are asked for it by that id.

use serde::Serialize;

use super::job::{RUN_ATTRIBUTE, SERVICE, Signal};
use crate::probes::backend::query_string;
use crate::probes::prometheus::quote;
use crate::probes::{Backends, loki, now_unix_nanos, prometheus, tempo};

/// The run id as a Loki structured-metadata key and a Prometheus label (dots become underscores).
pub fn label() -> String {
    RUN_ATTRIBUTE.replace('.', "_")
}

/// `{ span.lkeobs.loadtest.run = "<id>" }`.
pub fn traceql(run_id: &str) -> String {
    format!("{{ span.{RUN_ATTRIBUTE} = {} }}", quote(run_id))
}

/// `{service_name="lkeobs-loadtest"} | lkeobs_loadtest_run="<id>"`.
pub fn logql(run_id: &str) -> String {
    format!("{{service_name={}}} | {}={}", quote(SERVICE), label(), quote(run_id))
}

/// `count({lkeobs_loadtest_run="<id>"})`: one sample once any point of the run is stored.
pub fn promql(run_id: &str) -> String {
    format!("count({{{}={}}})", label(), quote(run_id))
}

/// Whether any item of `signal` marked with `run_id` is at the hub; `since_ns` bounds the search.
pub async fn found(hub: &Backends, signal: Signal, run_id: &str, since_ns: u128) -> Result<bool, String> {
    let end_ns = now_unix_nanos() + 60_000_000_000;
    match signal {
        Signal::Traces => {
            let (start, end) = (
                (since_ns / 1_000_000_000).to_string(),
                (end_ns / 1_000_000_000).to_string(),
            );
            let q = traceql(run_id);
            let path = format!(
                "/api/search?{}",
                query_string(&[("q", &q), ("start", &start), ("end", &end), ("limit", "1")])
            );
            let reply = hub.tempo.get(&path).await?;
            if !reply.is_success() {
                return Err(format!("tempo {} search {}", hub.tempo.describe(), reply.answered()));
            }
            Ok(!tempo::parse_search(&reply.body)?.is_empty())
        }
        Signal::Logs => Ok(!loki::query_range(&hub.loki, &logql(run_id), since_ns, end_ns, 1)
            .await?
            .is_empty()),
        Signal::Metrics => Ok(!prometheus::query(&hub.prometheus, &promql(run_id)).await?.is_empty()),
    }
}

/// How long after the generators started the first marked item of a signal was found at the hub.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latency {
    pub signal: Signal,
    /// `None`: not found before the run ended.
    pub found_after_ms: Option<u64>,
    /// The last lookup error, if the store could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_select_the_run_id() {
        assert_eq!(traceql("ab12"), "{ span.lkeobs.loadtest.run = \"ab12\" }");
        assert_eq!(
            logql("ab12"),
            "{service_name=\"lkeobs-loadtest\"} | lkeobs_loadtest_run=\"ab12\""
        );
        assert_eq!(promql("ab12"), "count({lkeobs_loadtest_run=\"ab12\"})");
    }
}
