//! The Job controller (batch/v1) of the fake clusters, and a gateway stand-in whose figures follow the
//! load those Jobs generate. A Job gets its pod (Running, Ready) `rollout` after it appears, then is
//! Complete (pod Succeeded) once the `--duration` its containers were given has passed; a Job that ran
//! past `activeDeadlineSeconds` fails as on a real cluster. Pods whose Job is gone are deleted, as the
//! garbage collector does with background propagation (an orphaning delete leaves them).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::k8s_fake::K8sFake;
use super::world::{Latencies, Memory, lock};

/// The annotation the fake puts on a Job when its pod starts: Unix milliseconds.
pub const STARTED: &str = "fake.lkeobs.test/started-unix-ms";

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// `--name=value` of a container's args.
fn arg<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["args"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find_map(|a| a.strip_prefix(&format!("--{name}=")))
}

/// A container's `--duration` (Go syntax as lkeobs writes it: `<n>ms` or `<n>s`).
fn duration(container: &Value) -> Duration {
    let d = arg(container, "duration").unwrap_or("0ms");
    match d.strip_suffix("ms") {
        Some(ms) => Duration::from_millis(ms.parse().unwrap_or(0)),
        None => Duration::from_secs(d.trim_end_matches('s').parse().unwrap_or(0)),
    }
}

fn containers(job: &Value) -> Vec<Value> {
    job["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// One pass of the Job controller over a cluster.
pub(super) fn jobs(label: &str, k8s: &K8sFake, mem: &mut Memory, latencies: &Latencies) {
    let mut live = Vec::new();
    for job in k8s.list("batch/v1", "Job") {
        let (ns, name, uid) = (
            s(&job["metadata"]["namespace"]).to_string(),
            s(&job["metadata"]["name"]).to_string(),
            s(&job["metadata"]["uid"]).to_string(),
        );
        live.push(uid.clone());
        if job["status"]["succeeded"].as_u64().unwrap_or(0) > 0 || job["status"]["failed"].as_u64().unwrap_or(0) > 0 {
            continue;
        }
        let pod_name = format!("{name}-pod");
        if job["metadata"]["annotations"][STARTED].is_null() {
            if !mem.after(format!("job/{label}/{uid}"), latencies.rollout) {
                continue;
            }
            let template = &job["spec"]["template"];
            let statuses: Vec<Value> = containers(&job)
                .iter()
                .map(|c| {
                    json!({"name": c["name"], "image": c["image"], "ready": true, "started": true,
                    "restartCount": 0, "state": {"running": {"startedAt": "2025-01-01T00:00:00Z"}}})
                })
                .collect();
            k8s.put(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod_name, "namespace": ns, "labels": template["metadata"]["labels"],
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": uid, "controller": true}]},
                "spec": template["spec"],
                "status": {"phase": "Running", "containerStatuses": statuses,
                    "conditions": [{"type": "Ready", "status": "True"}]}}));
            let now = unix_ms();
            k8s.update("batch/v1", "Job", Some(&ns), &name, |o| {
                o["metadata"]["annotations"][STARTED] = json!(now.to_string());
                o["status"] = json!({"startTime": "2025-01-01T00:00:00Z", "active": 1, "ready": 1});
                s(&o["metadata"]["uid"]) == uid
            });
            continue;
        }
        let started: u64 = s(&job["metadata"]["annotations"][STARTED]).parse().unwrap_or(0);
        let ran = Duration::from_millis(unix_ms().saturating_sub(started));
        let longest = containers(&job).iter().map(duration).max().unwrap_or_default();
        let deadline = job["spec"]["activeDeadlineSeconds"].as_u64().map(Duration::from_secs);
        let (phase, status) = if ran >= longest {
            (
                "Succeeded",
                json!({"startTime": "2025-01-01T00:00:00Z", "succeeded": 1, "active": 0,
                "completionTime": "2025-01-01T00:00:01Z", "conditions": [{"type": "Complete", "status": "True"}]}),
            )
        } else if deadline.is_some_and(|d| ran >= d) {
            (
                "Failed",
                json!({"startTime": "2025-01-01T00:00:00Z", "failed": 1, "active": 0, "conditions": [
                {"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                 "message": "Job was active longer than specified deadline"}]}),
            )
        } else {
            continue;
        };
        k8s.update("v1", "Pod", Some(&ns), &pod_name, |p| {
            p["status"]["phase"] = json!(phase);
            true
        });
        k8s.update("batch/v1", "Job", Some(&ns), &name, |o| {
            o["status"] = status;
            s(&o["metadata"]["uid"]) == uid
        });
    }
    for p in k8s.list("v1", "Pod") {
        let owner = p["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["kind"] == "Job" && o["controller"] == true)
            .map(|o| s(&o["uid"]).to_string());
        if owner.is_some_and(|o| !live.contains(&o)) {
            k8s.delete(
                "v1",
                "Pod",
                p["metadata"]["namespace"].as_str(),
                s(&p["metadata"]["name"]),
            );
        }
    }
}

/// The Job controller on its own thread over some fake clusters (for tests without a [`super::world::World`]);
/// stopped when dropped.
pub struct JobRunner {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl JobRunner {
    pub fn start(clusters: Vec<(String, Arc<K8sFake>)>, latencies: Latencies) -> JobRunner {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut mem = Memory::default();
            while !flag.load(Ordering::Relaxed) {
                for (label, k8s) in &clusters {
                    jobs(label, k8s, &mut mem, &latencies);
                }
                // The controller's pace, not a synchronisation.
                std::thread::sleep(latencies.tick.max(Duration::from_millis(1)));
            }
        });
        JobRunner {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for JobRunner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

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
        let mut tally = lock(&self.tally);
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
