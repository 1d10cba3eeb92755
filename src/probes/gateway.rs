//! Gateway probes: its health check (:13133) answers, and its internal counters, which Prometheus
//! scrapes from every replica (job `otel-gateway`), show accepted data and few refusals or failures.

use std::collections::BTreeMap;

use super::backend::Backend;
use super::outcome::Outcome;
use super::prometheus;

/// The share of refused/failed items above which the gateway counts as unhealthy.
pub const MAX_LOSS: f64 = 0.01;

const SIGNALS: [(&str, &str); 3] = [
    ("spans", "spans"),
    ("metric_points", "metric points"),
    ("log_records", "log records"),
];

/// `gateway/health`: GET / on the health-check port answers 200.
pub async fn health(backend: &Backend) -> Outcome {
    const NAME: &str = "gateway/health";
    match backend.get("/").await {
        Ok(r) if r.is_success() => {
            let status = serde_json::from_slice::<serde_json::Value>(&r.body)
                .ok()
                .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(str::to_string))
                .unwrap_or_else(|| "ok".into());
            Outcome::pass(NAME, "hub", format!("health check answers {} ({status})", r.status))
        }
        Ok(r) => Outcome::fail(NAME, "hub", format!("gateway health check {}", r.answered())),
        Err(e) => Outcome::fail(NAME, "hub", e),
    }
}

/// The counters, summed over every gateway replica, by metric name. Collector 0.159.0 exposes them
/// through a `readers` pull exporter, which appends `_total` (core v0.119.0, #11611); the regex
/// accepts both forms.
pub fn counters_query() -> String {
    "sum by (__name__) ({job=\"otel-gateway\", __name__=~\"otelcol_(receiver_(accepted|refused|failed)|exporter_(sent|send_failed|enqueue_failed))_(spans|metric_points|log_records)(_total)?\"})".to_string()
}

/// Judges the counters (name without `_total` → value).
pub fn judge(counters: &BTreeMap<String, f64>) -> Outcome {
    const NAME: &str = "gateway/counters";
    if counters.is_empty() {
        return Outcome::fail(
            NAME,
            "hub",
            "prometheus: no otelcol_* counters from job=\"otel-gateway\" (is Prometheus scraping the gateway's :8888?)",
        );
    }
    let get = |what: &str, signal: &str| {
        counters
            .get(&format!("otelcol_{what}_{signal}"))
            .copied()
            .unwrap_or(0.0)
    };
    let mut problems = Vec::new();
    let mut accepted_parts = Vec::new();
    let mut total_accepted = 0.0;
    for (signal, label) in SIGNALS {
        let accepted = get("receiver_accepted", signal);
        let refused = get("receiver_refused", signal) + get("receiver_failed", signal);
        let sent = get("exporter_sent", signal);
        let failed = get("exporter_send_failed", signal) + get("exporter_enqueue_failed", signal);
        total_accepted += accepted;
        accepted_parts.push(format!("{accepted:.0} {label}"));
        if refused > MAX_LOSS * (accepted + refused) && refused > 0.0 {
            problems.push(format!(
                "refused or failed {refused:.0} of {:.0} {label} received",
                accepted + refused
            ));
        }
        if failed > MAX_LOSS * (sent + failed) && failed > 0.0 {
            problems.push(format!(
                "could not send or enqueue {failed:.0} of {:.0} {label}",
                sent + failed
            ));
        }
    }
    let accepted = accepted_parts.join(", ");
    if total_accepted <= 0.0 {
        return Outcome::fail(
            NAME,
            "hub",
            "the gateway has accepted no spans, metric points or log records yet",
        );
    }
    if problems.is_empty() {
        Outcome::pass(
            NAME,
            "hub",
            format!("accepted {accepted}; refused/failed under {}%", MAX_LOSS * 100.0),
        )
    } else {
        Outcome::fail(
            NAME,
            "hub",
            format!("gateway: {} (accepted {accepted})", problems.join("; ")),
        )
    }
}

/// `gateway/counters`, read from Prometheus.
pub async fn counters(prometheus: &Backend) -> Outcome {
    match prometheus::query(prometheus, &counters_query()).await {
        Err(e) => Outcome::fail("gateway/counters", "hub", e),
        Ok(samples) => {
            let mut by_name = BTreeMap::new();
            for s in samples {
                if let Some(name) = s.labels.get("__name__") {
                    let name = name.trim_end_matches("_total").to_string();
                    *by_name.entry(name).or_insert(0.0) += s.value;
                }
            }
            judge(&by_name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn healthy_counters_pass() {
        let o = judge(&counters(&[
            ("otelcol_receiver_accepted_spans", 1000.0),
            ("otelcol_receiver_refused_spans", 5.0),
            ("otelcol_exporter_sent_spans", 1000.0),
            ("otelcol_receiver_accepted_metric_points", 50_000.0),
        ]));
        assert!(!o.failed(), "{o:?}");
        assert!(
            o.detail
                .contains("accepted 1000 spans, 50000 metric points, 0 log records"),
            "{o:?}"
        );
    }

    #[test]
    fn refusals_and_send_failures_fail_naming_the_signal() {
        let o = judge(&counters(&[
            ("otelcol_receiver_accepted_log_records", 100.0),
            ("otelcol_receiver_refused_log_records", 10.0),
            ("otelcol_exporter_sent_spans", 10.0),
            ("otelcol_exporter_send_failed_spans", 90.0),
        ]));
        assert!(o.failed());
        assert!(
            o.detail.contains("refused or failed 10 of 110 log records received"),
            "{o:?}"
        );
        assert!(o.detail.contains("could not send or enqueue 90 of 100 spans"), "{o:?}");
    }

    #[test]
    fn no_counters_or_no_data_fail() {
        assert!(judge(&BTreeMap::new()).detail.contains("no otelcol_* counters"));
        let o = judge(&counters(&[("otelcol_exporter_sent_spans", 0.0)]));
        assert!(o.failed() && o.detail.contains("accepted no"), "{o:?}");
    }
}
