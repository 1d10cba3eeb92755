//! Data freshness for `status`: the age of the newest metric, log line and trace of each cluster,
//! from the same queries the probes run.

use std::collections::BTreeMap;

use serde::Serialize;

use super::backend::Backends;
use super::{loki, now_unix_nanos, prometheus, tempo};

/// How fresh one signal of one cluster is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Fresh {
    /// The newest item is this old.
    Recent { age_seconds: u64 },
    /// Nothing within the window the query looks at.
    Absent { window: String },
    /// The query failed.
    Unknown { reason: String },
}

impl Fresh {
    /// `12s`, `4m`, `none in 5m`, `?`.
    pub fn short(&self) -> String {
        match self {
            Fresh::Recent { age_seconds: s } if *s < 120 => format!("{s}s"),
            Fresh::Recent { age_seconds: s } if *s < 7200 => format!("{}m", s / 60),
            Fresh::Recent { age_seconds: s } => format!("{}h", s / 3600),
            Fresh::Absent { window } => format!("none in {window}"),
            Fresh::Unknown { .. } => "?".into(),
        }
    }

    fn from_newest(now_ns: u128, newest_ns: Option<u128>, window: &str) -> Fresh {
        match newest_ns {
            Some(ns) => Fresh::Recent {
                age_seconds: u64::try_from(now_ns.saturating_sub(ns) / 1_000_000_000).unwrap_or(u64::MAX),
            },
            None => Fresh::Absent { window: window.into() },
        }
    }
}

/// Per signal, for one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Freshness {
    pub metrics: Fresh,
    pub logs: Fresh,
    pub traces: Fresh,
}

/// The freshness of every cluster's metrics (one Prometheus query), logs and traces (one Loki and
/// one Tempo query per cluster), all at once.
pub async fn freshness(hub: &Backends, clusters: &[String]) -> BTreeMap<String, Freshness> {
    let metrics = prometheus::cluster_series(&hub.prometheus, clusters);
    let logs = futures::future::join_all(clusters.iter().map(|c| loki::newest(&hub.loki, c)));
    let traces = futures::future::join_all(clusters.iter().map(|c| tempo::search(&hub.tempo, c)));
    let (metrics, logs, traces) = tokio::join!(metrics, logs, traces);
    let now = now_unix_nanos();
    let unknown = |e: &String| Fresh::Unknown { reason: e.clone() };
    let log_window = format!("{}m", loki::WINDOW.as_secs() / 60);
    let trace_window = format!("{}m", tempo::WINDOW.as_secs() / 60);
    clusters
        .iter()
        .zip(logs.into_iter().zip(traces))
        .map(|(c, (l, t))| {
            let metrics = match &metrics {
                Ok(m) => Fresh::from_newest(now, m.get(c).and_then(|s| s.newest_ns), prometheus::WINDOW),
                Err(e) => unknown(e),
            };
            let logs = match l {
                Ok(n) => Fresh::from_newest(now, n.map(|(ns, _)| ns), &log_window),
                Err(e) => unknown(&e),
            };
            let traces = match t {
                Ok(found) => Fresh::from_newest(now, found.iter().filter_map(|f| f.start_ns).max(), &trace_window),
                Err(e) => unknown(&e),
            };
            (c.clone(), Freshness { metrics, logs, traces })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms() {
        assert_eq!(Fresh::Recent { age_seconds: 12 }.short(), "12s");
        assert_eq!(Fresh::Recent { age_seconds: 600 }.short(), "10m");
        assert_eq!(Fresh::Recent { age_seconds: 10_800 }.short(), "3h");
        assert_eq!(Fresh::Absent { window: "5m".into() }.short(), "none in 5m");
        assert_eq!(Fresh::Unknown { reason: "x".into() }.short(), "?");
    }

    #[test]
    fn serializes_with_a_state_tag() {
        let v = serde_json::to_value(Fresh::Recent { age_seconds: 3 }).expect("json");
        assert_eq!(v, serde_json::json!({"state": "recent", "age_seconds": 3}));
    }
}
