//! What `lkeobs loadtest` reports: per signal the rate asked of the generators and the rate the gateway
//! accepted, refused and dropped; the peak queue, the marked items' latency, the gateway's replicas, and
//! how each edge's generator ended. Exit 3 when refusals or drops pass the threshold.

use serde::Serialize;

use super::gateway::{Queue, Replicas};
use super::job::{Rates, Signal};
use super::marked::Latency;
use crate::ui::{Failure, Outcome};

/// How one edge's generator Job ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeRun {
    pub edge: String,
    pub job: String,
    /// `completed`, `failed: <why>`, `did not finish before the deadline`.
    pub state: String,
    pub completed: bool,
}

/// One signal's figures over the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalFigures {
    pub signal: Signal,
    /// Items per second asked of the generators, every edge together (telemetrygen does not report
    /// what it sent; this is the rate it was told to keep).
    pub sent_per_sec: f64,
    /// Accepted by the gateway's receivers per second of generator time (other traffic of the fleet
    /// included).
    pub accepted_per_sec: f64,
    pub accepted: f64,
    /// Refused or failed by the gateway's receivers.
    pub refused: f64,
    /// Accepted by the gateway but not delivered (send failures, a full queue).
    pub dropped: f64,
    /// (refused + dropped) / (accepted + refused), in percent.
    pub lost_percent: f64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub fleet: String,
    pub run_id: String,
    pub duration_s: f64,
    /// The rates each edge's generator was asked for.
    pub rates_per_edge: Rates,
    pub edges: Vec<EdgeRun>,
    /// `None` when the gateway's figures could not be read (see `problems`).
    pub signals: Option<Vec<SignalFigures>>,
    /// The fullest a gateway sending queue was seen, as size against capacity.
    pub peak_queue: Option<Queue>,
    /// Time from the generators' start until the first marked item was found at the hub, per signal
    /// (measured at the sampling interval).
    pub latency: Vec<Latency>,
    pub sample_interval_ms: u64,
    /// The gateway's autoscaler at the end, with the most replicas seen during the run.
    pub replicas: Option<Replicas>,
    pub peak_replicas: Option<i32>,
    pub max_refused_percent: f64,
    /// The Jobs removed afterwards, as `edge/namespace/name`.
    pub removed: Vec<String>,
    /// What could not be read or removed.
    pub problems: Vec<String>,
    pub api_calls: crate::linode::ApiCalls,
}

fn rate(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}/s")
    } else {
        format!("{v:.1}/s")
    }
}

impl crate::ui::Report for Report {
    fn text(&self) -> String {
        let mut t = format!(
            "Fleet {:?}: load test {} for {}s at {} spans/s, {} metric points/s, {} log records/s per edge\n\n",
            self.fleet,
            self.run_id,
            self.duration_s,
            self.rates_per_edge.traces,
            self.rates_per_edge.metrics,
            self.rates_per_edge.logs
        );
        t.push_str(&format!("{:<16} {}\n", "edge", "generator"));
        for e in &self.edges {
            t.push_str(&format!("{:<16} {} ({})\n", e.edge, e.state, e.job));
        }
        match &self.signals {
            None => t.push_str("\ngateway figures: unknown (see the problems below)\n"),
            Some(signals) => {
                t.push_str(&format!(
                    "\n{:<14} {:>12} {:>12} {:>10} {:>10} {:>7}\n",
                    "signal", "sent", "accepted", "refused", "dropped", "lost"
                ));
                for s in signals {
                    t.push_str(&format!(
                        "{:<14} {:>12} {:>12} {:>10.0} {:>10.0} {:>6.2}%\n",
                        s.signal.items(),
                        rate(s.sent_per_sec),
                        rate(s.accepted_per_sec),
                        s.refused,
                        s.dropped,
                        s.lost_percent
                    ));
                }
            }
        }
        t.push('\n');
        match &self.peak_queue {
            Some(q) => t.push_str(&format!(
                "peak queue: {:.0} of {:.0} ({:.0}%) at {}\n",
                q.size,
                q.capacity,
                q.fill() * 100.0,
                q.exporter
            )),
            None => t.push_str("peak queue: unknown\n"),
        }
        match (&self.replicas, self.peak_replicas) {
            (Some(r), Some(peak)) => t.push_str(&format!(
                "gateway replicas: peak {peak}, now {} (autoscaler {}..{})\n",
                r.current, r.min, r.max
            )),
            _ => t.push_str("gateway replicas: unknown (no autoscaler read)\n"),
        }
        t.push_str(&format!(
            "first marked item at the hub (after the generators started, sampled every {:.1}s):\n",
            self.sample_interval_ms as f64 / 1000.0
        ));
        for l in &self.latency {
            let when = match (l.found_after_ms, &l.error) {
                (Some(ms), _) => format!("{:.1}s", ms as f64 / 1000.0),
                (None, Some(e)) => format!("not found ({e})"),
                (None, None) => "not found".into(),
            };
            t.push_str(&format!("  {:<14} {when}\n", l.signal.items()));
        }
        t.push_str(&format!("removed: {}\n", self.removed.join(", ")));
        for p in &self.problems {
            t.push_str(&format!("  ! {p}\n"));
        }
        t
    }

    fn outcome(&self) -> Outcome {
        if let Some(signals) = &self.signals {
            let over: Vec<String> = signals
                .iter()
                .filter(|s| s.lost_percent > self.max_refused_percent)
                .map(|s| format!("{:.2}% of {}", s.lost_percent, s.signal.items()))
                .collect();
            if !over.is_empty() {
                return Outcome::failed(
                    Failure::VerifyFailed,
                    format!(
                        "the gateway refused or dropped {} (more than --max-refused-percent {})",
                        over.join(", "),
                        self.max_refused_percent
                    ),
                );
            }
        }
        let unfinished: Vec<String> = self
            .edges
            .iter()
            .filter(|e| !e.completed)
            .map(|e| format!("{}: {}", e.edge, e.state))
            .collect();
        if !unfinished.is_empty() {
            return Outcome::failed(
                Failure::Incomplete,
                format!("the load test did not run everywhere: {}", unfinished.join("; ")),
            );
        }
        if self.signals.is_none() {
            return Outcome::failed(
                Failure::Incomplete,
                format!("the gateway's figures could not be read: {}", self.problems.join("; ")),
            );
        }
        Outcome::Done
    }
}
