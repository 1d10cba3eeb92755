//! A gateway stand-in whose figures follow the load the simulator's load-test Jobs generate (the Job
//! controller itself is the simulator's: `lkeobs::sim::jobs`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use lkeobs::sim::jobs::{Runner as JobRunner, STARTED};
use lkeobs::sim::jobs::{arg, containers, duration, s, unix_ms};
use serde_json::{Value, json};

use super::k8s_fake::K8sFake;

/// The hub gateway as its internal metrics describe it, driven by the load-test Jobs in the edges:
/// every running Job's containers add `--rate × --workers` items per second of their signal, of which
/// `refuse` (0..1) are refused. Counters only grow (a Job's share is kept after it is deleted).
pub struct GatewaySim {
    edges: Vec<Arc<K8sFake>>,
    refuse: f64,
    /// Items per Job uid and counter suffix, as last computed.
    tally: Mutex<BTreeMap<(String, &'static str), f64>>,
    started: Instant,
}

/// The queue's capacity (the gateway's `sending_queue.queue_size`).
pub const QUEUE_CAPACITY: f64 = 1000.0;

fn suffix(subcommand: &str) -> &'static str {
    match subcommand {
        "traces" => "spans",
        "metrics" => "metric_points",
        _ => "log_records",
    }
}

impl GatewaySim {
    pub fn new(edges: Vec<Arc<K8sFake>>, refuse: f64) -> GatewaySim {
        GatewaySim {
            edges,
            refuse,
            tally: Mutex::new(BTreeMap::new()),
            started: Instant::now(),
        }
    }

    /// Items generated so far per counter suffix, and the rate of the Jobs sending now.
    fn generated(&self) -> (BTreeMap<&'static str, f64>, f64) {
        let mut tally = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        let mut sending = 0.0;
        for k8s in &self.edges {
            for job in k8s.list("batch/v1", "Job") {
                let Ok(started) = s(&job["metadata"]["annotations"][STARTED]).parse::<u64>() else {
                    continue;
                };
                let ran = Duration::from_millis(unix_ms().saturating_sub(started));
                for c in containers(&job) {
                    let signal = c["args"][0].as_str().unwrap_or_default();
                    let per_sec = arg(&c, "rate").and_then(|r| r.parse::<f64>().ok()).unwrap_or(0.0)
                        * arg(&c, "workers").and_then(|w| w.parse::<f64>().ok()).unwrap_or(1.0);
                    let d = duration(&c);
                    if ran < d {
                        sending += per_sec;
                    }
                    let items = per_sec * ran.min(d).as_secs_f64();
                    tally.insert((s(&job["metadata"]["uid"]).to_string(), suffix(signal)), items);
                }
            }
        }
        let mut by_signal = BTreeMap::new();
        for ((_, sfx), items) in tally.iter() {
            *by_signal.entry(*sfx).or_insert(0.0) += items;
        }
        (by_signal, sending)
    }

    /// The answer to the gateway counters query: `otelcol_*_total` samples.
    pub fn counters(&self) -> Vec<(Value, f64)> {
        let (generated, _) = self.generated();
        // A little traffic of the fleet's own, so a healthy gateway never reads as idle.
        let baseline = self.started.elapsed().as_secs_f64() * 10.0;
        let mut out = Vec::new();
        for sfx in ["spans", "metric_points", "log_records"] {
            let items = generated.get(sfx).copied().unwrap_or(0.0);
            let refused = items * self.refuse;
            let accepted = items - refused + baseline;
            for (what, v) in [
                ("receiver_accepted", accepted),
                ("receiver_refused", refused),
                ("exporter_sent", accepted),
            ] {
                out.push((json!({"__name__": format!("otelcol_{what}_{sfx}_total")}), v));
            }
        }
        out
    }

    /// The answer to the queue query: size grows with the rate being sent.
    pub fn queues(&self) -> Vec<(Value, f64)> {
        let (_, sending) = self.generated();
        let size = (sending / 100.0).min(QUEUE_CAPACITY);
        let exporter = "otlp_http/prometheus";
        vec![
            (
                json!({"__name__": "otelcol_exporter_queue_size", "exporter": exporter}),
                size,
            ),
            (
                json!({"__name__": "otelcol_exporter_queue_capacity", "exporter": exporter}),
                QUEUE_CAPACITY,
            ),
        ]
    }

    /// Whether `query` names the run id of a Job that has started sending in some edge: its marked
    /// items have reached the hub.
    pub fn marked_in(&self, query: &str) -> bool {
        self.edges.iter().any(|k| {
            k.list("batch/v1", "Job").iter().any(|j| {
                let run = s(&j["metadata"]["labels"]["lkeobs.io/loadtest"]);
                !run.is_empty() && query.contains(run) && !j["metadata"]["annotations"][STARTED].is_null()
            })
        })
    }
}
