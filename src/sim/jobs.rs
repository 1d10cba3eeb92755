//! The Job controller (batch/v1) of the simulated clusters: a Job gets its pod (Running, Ready) `rollout`
//! after it appears, then is Complete (pod Succeeded) once the `--duration` its containers were given has
//! passed; a Job that runs past `activeDeadlineSeconds` fails as on a real cluster. Pods whose Job is gone
//! are deleted, as the garbage collector does with background propagation. [`Runner`] runs it alone over
//! some clusters (for a setup without a [`super::World`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::kube::KubeApi;
use super::latencies::Latencies;
use super::world::Memory;

/// The annotation the simulator puts on a Job when its pod starts: Unix milliseconds.
pub const STARTED: &str = "sim.lkeobs.io/started-unix-ms";

pub fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// `--name=value` of a container's args.
pub fn arg<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["args"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find_map(|a| a.strip_prefix(&format!("--{name}=")))
}

/// A container's `--duration` (Go syntax as lkeobs writes it: `<n>ms` or `<n>s`).
pub fn duration(container: &Value) -> Duration {
    let d = arg(container, "duration").unwrap_or("0ms");
    match d.strip_suffix("ms") {
        Some(ms) => Duration::from_millis(ms.parse().unwrap_or(0)),
        None => Duration::from_secs(d.trim_end_matches('s').parse().unwrap_or(0)),
    }
}

pub fn containers(job: &Value) -> Vec<Value> {
    job["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// One pass of the Job controller over a cluster.
pub(crate) fn jobs(label: &str, k8s: &KubeApi, mem: &mut Memory, latencies: &Latencies) {
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

/// The Job controller on its own thread over some fake clusters (without a [`super::World`]);
/// stopped when dropped.
pub struct Runner {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Runner {
    pub fn start(clusters: Vec<(String, Arc<KubeApi>)>, latencies: Latencies) -> Runner {
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
        Runner {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
