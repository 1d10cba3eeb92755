//! The hub gateway's own figures following the load the clusters generate: every running telemetrygen
//! Job (a load test's generator, run by [`super::jobs`]) in a cluster whose data reaches the hub adds
//! `--rate × --workers` items per second of its signal to the gateway's `otelcol_*` counters, of which a
//! share set by a fault is refused; its exporters' queues fill with the rate being sent. The items a generator
//! marks (`--telemetry-attributes`, `--service`) reach the stores, as they would through an agent.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

use super::data_store::{Entry, Labels, Span, Store};
use super::jobs::{STARTED, arg, containers, duration, s, unix_ms};
use super::kube::KubeApi;
use super::world::lock;

/// The gateway's exporters with a sending queue (manifests/hub/24-otel-gateway.yaml), the signal each
/// carries and each replica's queue capacity (`sending_queue.queue_size`).
pub const QUEUES: [(&str, &str, f64); 2] = [
    ("otlp_grpc/tempo", "spans", 5000.0),
    ("otlp_http/loki", "log_records", 5000.0),
];

/// The fleet's own traffic the gateway had taken of each signal, so a healthy gateway never reads as
/// idle (kept constant: a load test's figures are the generators' alone).
const BASELINE: f64 = 500.0;

/// telemetrygen's subcommands and the counter suffix of their items.
fn suffix(subcommand: &str) -> Option<&'static str> {
    match subcommand {
        "traces" => Some("spans"),
        "metrics" => Some("metric_points"),
        "logs" => Some("log_records"),
        _ => None,
    }
}

/// One generator container of a started Job.
struct Generator {
    uid: String,
    signal: &'static str,
    per_sec: f64,
    ran: Duration,
    runs_for: Duration,
    started_ms: u64,
    service: String,
    attributes: Labels,
}

/// `k="v"` pairs of `--telemetry-attributes` (repeatable), unquoted.
fn telemetry_attributes(c: &Value) -> Labels {
    c["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str()?.strip_prefix("--telemetry-attributes="))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

fn generators(k8s: &KubeApi) -> Vec<Generator> {
    let mut out = Vec::new();
    for job in k8s.list("batch/v1", "Job") {
        let Ok(started_ms) = s(&job["metadata"]["annotations"][STARTED]).parse::<u64>() else {
            continue;
        };
        let ran = Duration::from_millis(unix_ms().saturating_sub(started_ms));
        for c in containers(&job) {
            let Some(signal) = c["args"][0].as_str().and_then(suffix) else {
                continue;
            };
            let rate = arg(&c, "rate").and_then(|r| r.parse::<f64>().ok()).unwrap_or(0.0);
            let workers = arg(&c, "workers").and_then(|w| w.parse::<f64>().ok()).unwrap_or(1.0);
            out.push(Generator {
                uid: s(&job["metadata"]["uid"]).to_string(),
                signal,
                per_sec: rate * workers,
                ran,
                runs_for: duration(&c),
                started_ms,
                service: arg(&c, "service").unwrap_or("telemetrygen").to_string(),
                attributes: telemetry_attributes(&c),
            });
        }
    }
    out
}

/// The gateway's figures: what each generator has sent so far (kept after its Job is deleted, as
/// counters only grow) and the share refused.
pub(crate) struct GatewayLoad {
    refuse: Mutex<f64>,
    tally: Mutex<BTreeMap<(String, &'static str), f64>>,
}

/// A cluster whose data reaches the hub, as the gateway sees it.
pub(crate) struct Source<'a> {
    pub cluster: &'a str,
    pub role: &'a str,
    pub k8s: &'a KubeApi,
}

impl GatewayLoad {
    pub(crate) fn new() -> GatewayLoad {
        GatewayLoad {
            refuse: Mutex::new(0.0),
            tally: Mutex::new(BTreeMap::new()),
        }
    }

    /// From now on the gateway refuses `share` (0 to 1) of what the generators send.
    pub(crate) fn refuse(&self, share: f64) {
        *lock(&self.refuse) = if share.is_finite() { share.clamp(0.0, 1.0) } else { 0.0 };
    }

    /// Adds the gateway replicas' (`pods`) counters and queues at `now_s` to `store` (with `counters`), and
    /// the items the generators of `sources` marked.
    pub(crate) fn record(
        &self,
        sources: &[Source<'_>],
        pods: &[String],
        counters: bool,
        store: &mut Store,
        now_s: f64,
    ) {
        let mut sending: BTreeMap<&str, f64> = BTreeMap::new();
        let mut tally = lock(&self.tally);
        for src in sources {
            for g in generators(src.k8s) {
                if g.ran < g.runs_for {
                    *sending.entry(g.signal).or_insert(0.0) += g.per_sec;
                }
                tally.insert(
                    (g.uid.clone(), g.signal),
                    g.per_sec * g.ran.min(g.runs_for).as_secs_f64(),
                );
                marked(
                    src,
                    &g,
                    pods.first().map_or("otel-gateway", String::as_str),
                    store,
                    now_s,
                );
            }
        }
        let mut by_signal: BTreeMap<&str, f64> = BTreeMap::new();
        for ((_, sfx), items) in tally.iter() {
            *by_signal.entry(sfx).or_insert(0.0) += items;
        }
        drop(tally);
        if pods.is_empty() || !counters {
            return;
        }
        let refuse = *lock(&self.refuse);
        let baseline = BASELINE;
        let replicas = pods.len() as f64;
        for pod in pods {
            let instance = format!("{pod}:8888");
            let series = |name: String, extra: &[(&str, &str)]| {
                let mut l: Labels = [
                    ("__name__", name.as_str()),
                    ("job", "otel-gateway"),
                    ("instance", &instance),
                ]
                .iter()
                .chain(extra)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
                l.retain(|_, v| !v.is_empty());
                l
            };
            for sfx in ["spans", "metric_points", "log_records"] {
                let items = by_signal.get(sfx).copied().unwrap_or(0.0);
                let refused = items * refuse;
                let accepted = items - refused + baseline;
                for (what, v) in [
                    ("receiver_accepted", accepted),
                    ("receiver_refused", refused),
                    ("exporter_sent", accepted),
                ] {
                    let l = series(format!("otelcol_{what}_{sfx}_total"), &[]);
                    store.sample(l, now_s, v / replicas);
                }
            }
            for (exporter, signal, capacity) in QUEUES {
                let exporter = [("exporter", exporter)];
                let rate = sending.get(signal).copied().unwrap_or(0.0);
                let size = (rate / 100.0 / replicas).min(capacity);
                store.sample(series("otelcol_exporter_queue_size".into(), &exporter), now_s, size);
                store.sample(
                    series("otelcol_exporter_queue_capacity".into(), &exporter),
                    now_s,
                    capacity,
                );
            }
        }
    }
}

/// The items a generator has sent so far, as the hub stores them: its span, log line or metric point
/// carrying its telemetry attributes, from its cluster.
fn marked(src: &Source<'_>, g: &Generator, pod: &str, store: &mut Store, now_s: f64) {
    let started_ns = u128::from(g.started_ms) * 1_000_000;
    let last_s = (g.started_ms as f64 / 1e3 + g.ran.min(g.runs_for).as_secs_f64()).min(now_s);
    let resource: Labels = [
        ("service.name", g.service.as_str()),
        ("cluster.id", src.cluster),
        ("cluster.role", src.role),
        ("hub.received_at", pod),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let prom = |k: &str| super::otlp_intake::sanitize(k);
    match g.signal {
        "spans" => store.span(Span {
            trace_id: format!("{:0>32}", g.uid.replace('-', "")),
            name: "lets-go".into(),
            start_ns: started_ns,
            resource,
            attributes: g.attributes.clone(),
        }),
        "log_records" => {
            let labels: Labels = [
                ("service_name", g.service.as_str()),
                ("cluster_id", src.cluster),
                ("cluster_role", src.role),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            let mut metadata: Labels = g.attributes.iter().map(|(k, v)| (prom(k), v.clone())).collect();
            metadata.insert("hub_received_at".into(), pod.into());
            let entry = Entry {
                ns: started_ns,
                line: "the message".into(),
                metadata,
            };
            if !store
                .streams
                .iter()
                .any(|s| s.labels == labels && s.entries.contains(&entry))
            {
                store.log(labels, entry);
            }
        }
        _ => {
            let mut labels: Labels = g.attributes.iter().map(|(k, v)| (prom(k), v.clone())).collect();
            labels.insert("__name__".into(), "gen".into());
            labels.insert("job".into(), g.service.clone());
            labels.insert("cluster_id".into(), src.cluster.into());
            labels.insert("cluster_role".into(), src.role.into());
            labels.insert("hub_received_at".into(), "otel-gateway".into());
            store.sample(labels, last_s, 1.0);
        }
    }
}
