//! What one probe found: pass, fail, or skip with a reason, with its detail and duration; and the
//! text table of a whole run.

use std::time::Duration;

use serde::Serialize;

/// A probe's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// Not applicable or not checkable here; the detail says why.
    Skip,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
        }
    }
}

/// One probe's result for one cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// e.g. `pods`, `prometheus/series`, `canary/trace`.
    pub name: String,
    /// The cluster the finding is about (`hub`, or an edge's name).
    pub cluster: String,
    pub outcome: Verdict,
    /// What was found; for a failure, what is missing; for a skip, why.
    pub detail: String,
    pub duration_ms: u64,
    /// Canary only: from sending at the edge to finding it at the hub.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
}

impl Outcome {
    fn new(name: &str, cluster: &str, outcome: Verdict, detail: impl Into<String>) -> Self {
        Outcome {
            name: name.to_string(),
            cluster: cluster.to_string(),
            outcome,
            detail: detail.into(),
            duration_ms: 0,
            latency_ms: None,
        }
    }

    pub fn pass(name: &str, cluster: &str, detail: impl Into<String>) -> Self {
        Outcome::new(name, cluster, Verdict::Pass, detail)
    }

    pub fn fail(name: &str, cluster: &str, detail: impl Into<String>) -> Self {
        Outcome::new(name, cluster, Verdict::Fail, detail)
    }

    pub fn skip(name: &str, cluster: &str, reason: impl Into<String>) -> Self {
        Outcome::new(name, cluster, Verdict::Skip, reason)
    }

    /// Sets the duration (what the probe took).
    pub fn took(mut self, d: Duration) -> Self {
        self.duration_ms = millis(d);
        self
    }

    /// Sets the end-to-end latency (canary).
    pub fn with_latency(mut self, d: Duration) -> Self {
        self.latency_ms = Some(millis(d));
        self
    }

    pub fn failed(&self) -> bool {
        self.outcome == Verdict::Fail
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// How many outcomes failed.
pub fn failed(outcomes: &[Outcome]) -> usize {
    outcomes.iter().filter(|o| o.failed()).count()
}

/// `3 passed, 1 failed, 2 skipped`.
pub fn summary(outcomes: &[Outcome]) -> String {
    let count = |v: Verdict| outcomes.iter().filter(|o| o.outcome == v).count();
    format!(
        "{} passed, {} failed, {} skipped",
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Skip)
    )
}

/// `850ms`, `4.2s`, `2m05s`.
pub fn human_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// The text table: one line per outcome (probe, cluster, result, time, detail), then a summary line.
pub fn table(outcomes: &[Outcome]) -> String {
    let probe_w = outcomes.iter().map(|o| o.name.len()).max().unwrap_or(0).max(5);
    let cluster_w = outcomes.iter().map(|o| o.cluster.len()).max().unwrap_or(0).max(7);
    let mut t = format!(
        "{:<probe_w$}  {:<cluster_w$}  {:<6}  {:>8}  detail\n",
        "probe", "cluster", "result", "time"
    );
    for o in outcomes {
        let mut time = human_ms(o.duration_ms);
        if let Some(l) = o.latency_ms {
            time = format!("{} e2e", human_ms(l));
        }
        t.push_str(&format!(
            "{:<probe_w$}  {:<cluster_w$}  {:<6}  {:>8}  {}\n",
            o.name,
            o.cluster,
            o.outcome.as_str(),
            time,
            o.detail
        ));
    }
    t.push_str(&format!("\n{}\n", summary(outcomes)));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_every_outcome_and_a_summary() {
        let outcomes = vec![
            Outcome::pass("pods", "hub", "9 workloads ready").took(Duration::from_millis(120)),
            Outcome::fail("prometheus/series", "eu-west", "no series").took(Duration::from_millis(4200)),
            Outcome::skip("tempo/search", "us-east", "no traced workloads"),
            Outcome::pass("canary/trace", "us-east", "found").with_latency(Duration::from_millis(3100)),
        ];
        let t = table(&outcomes);
        assert!(
            t.contains("pods               hub      pass       120ms  9 workloads ready"),
            "{t}"
        );
        assert!(
            t.contains("prometheus/series  eu-west  fail        4.2s  no series"),
            "{t}"
        );
        assert!(t.contains("3.1s e2e"), "{t}");
        assert!(t.ends_with("\n2 passed, 1 failed, 1 skipped\n"), "{t}");
        assert_eq!(failed(&outcomes), 1);
    }

    #[test]
    fn json_names_the_verdict_in_lowercase_and_omits_absent_latency() {
        let o = Outcome::skip("tempo/search", "us-east", "why");
        let v = serde_json::to_value(&o).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"name": "tempo/search", "cluster": "us-east", "outcome": "skip",
                "detail": "why", "duration_ms": 0})
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_ms(850), "850ms");
        assert_eq!(human_ms(4210), "4.2s");
        assert_eq!(human_ms(125_000), "2m05s");
    }
}
