//! The hub gateway's figures during a load test, read as `verify` reads them: its collector internal
//! metrics from the hub's Prometheus (job `otel-gateway`, every replica) through a port-forward, and
//! its HorizontalPodAutoscaler's status from the hub's Kubernetes API.

use std::collections::BTreeMap;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::Api;
use serde::Serialize;

use super::job::Signal;
use crate::k8s::K8s;
use crate::objects::GATEWAY;
use crate::probes::{Backend, gateway, prometheus};

/// One exporter's sending queue, summed over the gateway's replicas.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Queue {
    pub exporter: String,
    pub size: f64,
    pub capacity: f64,
}

impl Queue {
    /// How full it is, 0 to 1 (0 without a capacity).
    pub fn fill(&self) -> f64 {
        if self.capacity > 0.0 {
            self.size / self.capacity
        } else {
            0.0
        }
    }
}

/// The gateway's counters (name without `_total` → value, summed over replicas) and queues at one moment.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub counters: BTreeMap<String, f64>,
    pub queues: Vec<Queue>,
}

/// What passed through the gateway between two readings, for one signal.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Passed {
    /// Accepted by its receivers.
    pub accepted: f64,
    /// Refused or failed by its receivers (memory limiter, a full pipeline).
    pub refused: f64,
    /// Accepted but not delivered: send failures and items a full queue could not take.
    pub dropped: f64,
}

impl Reading {
    fn get(&self, what: &str, s: Signal) -> f64 {
        self.counters
            .get(&format!("otelcol_{what}_{}", s.counter()))
            .copied()
            .unwrap_or(0.0)
    }

    /// What passed between `self` (earlier) and `later`. A counter that went down (a replica
    /// restarted) counts from zero.
    pub fn passed(&self, later: &Reading, s: Signal) -> Passed {
        let delta = |what: &str| {
            let (a, b) = (self.get(what, s), later.get(what, s));
            if b >= a { b - a } else { b }
        };
        Passed {
            accepted: delta("receiver_accepted"),
            refused: delta("receiver_refused") + delta("receiver_failed"),
            dropped: delta("exporter_send_failed") + delta("exporter_enqueue_failed"),
        }
    }
}

/// `sum by (__name__, exporter)` of the gateway's queue size and capacity.
pub fn queue_query() -> String {
    "sum by (__name__, exporter) ({job=\"otel-gateway\", __name__=~\"otelcol_exporter_queue_(size|capacity)\"})".into()
}

/// Reads the gateway's counters and queues from the hub's Prometheus.
pub async fn read(prom: &Backend) -> Result<Reading, String> {
    let (counters_q, queue_q) = (gateway::counters_query(), queue_query());
    let (counters, queues) = tokio::join!(prometheus::query(prom, &counters_q), prometheus::query(prom, &queue_q));
    let mut reading = Reading::default();
    for s in counters? {
        if let Some(name) = s.labels.get("__name__") {
            *reading
                .counters
                .entry(name.trim_end_matches("_total").to_string())
                .or_insert(0.0) += s.value;
        }
    }
    let mut by_exporter: BTreeMap<String, Queue> = BTreeMap::new();
    for s in queues? {
        let exporter = s.labels.get("exporter").cloned().unwrap_or_default();
        let q = by_exporter.entry(exporter.clone()).or_insert(Queue {
            exporter,
            size: 0.0,
            capacity: 0.0,
        });
        match s.labels.get("__name__").map(String::as_str) {
            Some("otelcol_exporter_queue_size") => q.size += s.value,
            Some("otelcol_exporter_queue_capacity") => q.capacity += s.value,
            _ => {}
        }
    }
    reading.queues = by_exporter.into_values().collect();
    Ok(reading)
}

/// The gateway's autoscaler: replicas now and its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Replicas {
    pub current: i32,
    pub desired: i32,
    pub min: i32,
    pub max: i32,
}

/// Reads the gateway's HorizontalPodAutoscaler; `None` when it has none (or it cannot be read).
pub async fn replicas(hub: &K8s) -> Result<Option<Replicas>, String> {
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(hub.client().clone(), GATEWAY.namespace);
    let hpa = api
        .get_opt(GATEWAY.name)
        .await
        .map_err(|e| format!("reading the gateway's HorizontalPodAutoscaler {GATEWAY}: {e}"))?;
    Ok(hpa.map(|h| {
        let spec = h.spec.unwrap_or_default();
        let status = h.status.unwrap_or_default();
        Replicas {
            current: status.current_replicas.unwrap_or(0),
            desired: status.desired_replicas,
            min: spec.min_replicas.unwrap_or(1),
            max: spec.max_replicas,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(pairs: &[(&str, f64)]) -> Reading {
        Reading {
            counters: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            queues: Vec::new(),
        }
    }

    #[test]
    fn what_passed_is_the_difference_and_a_reset_counts_from_zero() {
        let a = reading(&[
            ("otelcol_receiver_accepted_spans", 100.0),
            ("otelcol_receiver_refused_spans", 10.0),
        ]);
        let b = reading(&[
            ("otelcol_receiver_accepted_spans", 400.0),
            ("otelcol_receiver_refused_spans", 4.0),
            ("otelcol_receiver_failed_spans", 1.0),
            ("otelcol_exporter_enqueue_failed_spans", 2.0),
        ]);
        let p = a.passed(&b, Signal::Traces);
        assert_eq!((p.accepted, p.refused, p.dropped), (300.0, 5.0, 2.0));
        assert_eq!(a.passed(&b, Signal::Logs), Passed::default());
    }
}
