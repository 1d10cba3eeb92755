//! `lkeobs loadtest`: a `telemetrygen` Job in each chosen edge sends traces, metrics and logs through that
//! edge's agent and the real mTLS path to the hub gateway; meanwhile the gateway's figures are sampled and
//! the run's marked items looked for at the hub; afterwards the Jobs are removed (also when interrupted).

pub mod fleet;
pub mod gateway;
pub mod job;
pub mod jobs;
pub mod marked;
pub mod report;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::Error;
use crate::k8s::K8s;
use crate::probes::{Backends, now_unix_nanos};
use crate::ui::progress::{Mode, Progress};
pub use job::{Rates, Signal};
pub use report::Report;

use gateway::{Reading, Replicas};
use marked::Latency;
use report::{EdgeRun, SignalFigures};

/// The longest pause between two samples; shorter runs sample a tenth of their duration.
pub const MAX_SAMPLE: Duration = Duration::from_secs(5);
/// How long a deleted Job may take to disappear.
const REMOVE_WAIT: Duration = Duration::from_secs(30);

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub rates: Rates,
    pub duration: Duration,
    /// Exit 3 above this share of refused or dropped items, in percent.
    pub max_refused_percent: f64,
    pub progress: Mode,
    /// The command's `--timeout`: the run stops sampling then (the Jobs are still removed).
    pub deadline: Option<Instant>,
}

/// An edge to run a generator in.
#[derive(Debug, Clone)]
pub struct Edge {
    pub name: String,
    pub k8s: K8s,
}

/// The pause between samples: a tenth of the run, between 100 ms and [`MAX_SAMPLE`].
pub fn sample_interval(duration: Duration) -> Duration {
    (duration / 10).clamp(Duration::from_millis(100), MAX_SAMPLE)
}

fn run_id() -> String {
    (0..4).map(|_| format!("{:02x}", fastrand::u8(..))).collect()
}

/// What the sampling loop saw.
struct Watch {
    started: Option<Instant>,
    states: BTreeMap<String, jobs::State>,
    last: Option<Reading>,
    peak_queue: Option<gateway::Queue>,
    replicas: Option<Replicas>,
    peak_replicas: Option<i32>,
    latency: BTreeMap<Signal, Latency>,
    problems: BTreeMap<String, String>,
}

impl Watch {
    fn finished(&self) -> bool {
        self.states
            .values()
            .all(|s| matches!(s, jobs::State::Completed | jobs::State::Failed(_) | jobs::State::Gone))
    }
}

/// One sample: every Job's state, the gateway's figures and autoscaler, the marked items not found yet.
async fn sample(
    hub: &K8s,
    backends: &Backends,
    edges: &[Edge],
    job: &str,
    run_id: &str,
    since_ns: u128,
    w: &mut Watch,
) {
    for e in edges {
        match jobs::state(&e.k8s, job).await {
            Ok(s) => {
                if matches!(s, jobs::State::Running | jobs::State::Completed) && w.started.is_none() {
                    w.started = Some(Instant::now());
                }
                w.states.insert(e.name.clone(), s);
                w.problems.remove(&format!("job/{}", e.name));
            }
            Err(err) => {
                w.problems.insert(format!("job/{}", e.name), err);
            }
        }
    }
    match gateway::read(&backends.prometheus).await {
        Ok(r) => {
            for q in &r.queues {
                if w.peak_queue.as_ref().is_none_or(|p| q.fill() > p.fill()) {
                    w.peak_queue = Some(q.clone());
                }
            }
            w.last = Some(r);
            w.problems.remove("gateway");
        }
        Err(e) => {
            w.problems.insert("gateway".into(), e);
        }
    }
    match gateway::replicas(hub).await {
        Ok(r) => {
            if let Some(r) = r {
                w.peak_replicas = Some(w.peak_replicas.unwrap_or(0).max(r.current));
            }
            w.replicas = r;
        }
        Err(e) => {
            w.problems.insert("replicas".into(), e);
        }
    }
    let Some(started) = w.started else { return };
    for l in w.latency.values_mut().filter(|l| l.found_after_ms.is_none()) {
        match marked::found(backends, l.signal, run_id, since_ns).await {
            Ok(true) => {
                l.found_after_ms = Some(started.elapsed().as_millis() as u64);
                l.error = None;
            }
            Ok(false) => l.error = None,
            Err(e) => l.error = Some(e),
        }
    }
}

/// `running; gateway accepted 950 spans/s …` for the live lines.
fn progress_text(state: &jobs::State, first: Option<&Reading>, w: &Watch, elapsed: Duration) -> String {
    let job = match state {
        jobs::State::Pending => "starting".to_string(),
        jobs::State::Running => "sending".to_string(),
        jobs::State::Completed => "done".to_string(),
        jobs::State::Failed(why) => format!("failed: {why}"),
        jobs::State::Gone => "gone".to_string(),
    };
    let (Some(first), Some(last)) = (first, &w.last) else {
        return job;
    };
    let secs = elapsed.as_secs_f64().max(0.001);
    let figures: Vec<String> = Signal::ALL
        .iter()
        .map(|s| {
            let p = first.passed(last, *s);
            format!(
                "{:.0} {}/s ({:.0} refused)",
                p.accepted / secs,
                s.items(),
                p.refused + p.dropped
            )
        })
        .collect();
    let queue = w
        .peak_queue
        .as_ref()
        .map(|q| format!("; peak queue {:.0}%", q.fill() * 100.0))
        .unwrap_or_default();
    format!("{job}; gateway accepted {}{queue}", figures.join(", "))
}

/// Runs the load test in `edges`, watching the gateway in `hub`, until the Jobs end or `interrupt`
/// resolves; the Jobs are removed either way. Interrupted, it returns [`Error::Interrupted`] once they are.
pub async fn run(
    fleet: &str,
    hub: &K8s,
    backends: &Backends,
    edges: &[Edge],
    options: &Options,
    interrupt: impl Future<Output = ()>,
) -> Result<Report, Error> {
    let run_id = run_id();
    let job_name = job::name(&run_id);
    let interval = sample_interval(options.duration);
    let progress = Progress::new(options.progress, edges.iter().map(|e| e.name.as_str()));
    let since_ns = now_unix_nanos().saturating_sub(60_000_000_000);
    let mut w = Watch {
        started: None,
        states: edges.iter().map(|e| (e.name.clone(), jobs::State::Pending)).collect(),
        last: None,
        peak_queue: None,
        replicas: None,
        peak_replicas: None,
        latency: Signal::ALL
            .iter()
            .filter(|s| options.rates.of(**s) > 0.0)
            .map(|s| {
                let l = Latency {
                    signal: *s,
                    found_after_ms: None,
                    error: None,
                };
                (*s, l)
            })
            .collect(),
        problems: BTreeMap::new(),
    };
    let first = match gateway::read(&backends.prometheus).await {
        Ok(r) => Some(r),
        Err(e) => {
            w.problems.insert("gateway-start".into(), e);
            None
        }
    };
    tokio::pin!(interrupt);
    let mut created = Vec::new();
    let mut failure = None;
    let mut interrupted = false;
    for e in edges {
        let spec = job::Spec {
            fleet,
            edge: &e.name,
            run_id: &run_id,
            rates: options.rates,
            duration: options.duration,
        };
        progress.step(&e.name, "creating the load generator Job");
        let manifest = job::manifest(&spec);
        let create = jobs::create(&e.k8s, &manifest);
        let outcome = tokio::select! {
            r = create => r,
            () = &mut interrupt => { interrupted = true; Err("interrupted".into()) }
        };
        // A create cut short may still have reached the API server: remove it too.
        created.push(e);
        if let Err(why) = outcome {
            failure = Some(format!("{}: {why}", e.name));
            break;
        }
    }
    let run_started = Instant::now();
    let deadline = run_started + options.duration + job::START_GRACE;
    if failure.is_none() && !interrupted {
        loop {
            tokio::select! {
                () = sample(hub, backends, edges, &job_name, &run_id, since_ns, &mut w) => {}
                () = &mut interrupt => { interrupted = true; break; }
            }
            for e in edges {
                let state = w.states.get(&e.name).cloned().unwrap_or(jobs::State::Pending);
                let text = progress_text(&state, first.as_ref(), &w, run_started.elapsed());
                progress.step(&e.name, &text);
            }
            let now = Instant::now();
            if w.finished() || now >= deadline || options.deadline.is_some_and(|d| now >= d) {
                break;
            }
            let stop = options.deadline.map_or(deadline, |d| d.min(deadline));
            tokio::select! {
                () = tokio::time::sleep_until((now + interval).min(stop)) => {}
                () = &mut interrupt => { interrupted = true; break; }
            }
        }
        if !interrupted && w.finished() {
            // One more sample after the pipeline had time to deliver the last batches.
            tokio::select! {
                () = async {
                    tokio::time::sleep(interval).await;
                    sample(hub, backends, edges, &job_name, &run_id, since_ns, &mut w).await;
                } => {}
                () = &mut interrupt => { interrupted = true; }
            }
        }
    }
    let mut removed = Vec::new();
    for e in created {
        progress.step(&e.name, "removing the load generator Job");
        match jobs::remove(&e.k8s, &job_name, REMOVE_WAIT).await {
            Ok(()) => {
                removed.push(format!("{}/{}/{job_name}", e.name, crate::objects::OBSERVABILITY));
                progress.finish(&e.name, "Job removed");
            }
            Err(why) => {
                w.problems.insert(format!("remove/{}", e.name), why.clone());
                progress.finish(&e.name, &why);
            }
        }
    }
    if interrupted {
        progress.abandon();
        return Err(Error::Interrupted(format!(
            "the load test {run_id} was stopped; its Jobs were removed ({})",
            if removed.is_empty() {
                "none had been created".to_string()
            } else {
                removed.join(", ")
            }
        )));
    }
    if let Some(f) = failure {
        return Err(Error::Cluster(format!(
            "the load test could not start: {f}; Jobs removed: {}",
            removed.join(", ")
        )));
    }
    Ok(build_report(
        fleet,
        &run_id,
        &job_name,
        edges,
        options,
        interval,
        first.as_ref(),
        w,
        removed,
    ))
}

#[allow(clippy::too_many_arguments)]
fn build_report(
    fleet: &str,
    run_id: &str,
    job_name: &str,
    edges: &[Edge],
    options: &Options,
    interval: Duration,
    first: Option<&Reading>,
    w: Watch,
    removed: Vec<String>,
) -> Report {
    let edge_runs = edges
        .iter()
        .map(|e| {
            let state = w.states.get(&e.name).cloned().unwrap_or(jobs::State::Pending);
            let (text, completed) = match state {
                jobs::State::Completed => ("completed".to_string(), true),
                jobs::State::Failed(why) => (format!("failed: {why}"), false),
                jobs::State::Gone => ("gone before it finished".to_string(), false),
                jobs::State::Pending | jobs::State::Running => {
                    ("did not finish before the deadline".to_string(), false)
                }
            };
            EdgeRun {
                edge: e.name.clone(),
                job: job_name.to_string(),
                state: text,
                completed,
            }
        })
        .collect();
    let secs = options.duration.as_secs_f64().max(0.001);
    let signals = match (first, &w.last) {
        (Some(first), Some(last)) => Some(
            Signal::ALL
                .iter()
                .map(|s| {
                    let p = first.passed(last, *s);
                    let received = p.accepted + p.refused;
                    let lost = p.refused + p.dropped;
                    SignalFigures {
                        signal: *s,
                        sent_per_sec: options.rates.of(*s) * edges.len() as f64,
                        accepted_per_sec: p.accepted / secs,
                        accepted: p.accepted,
                        refused: p.refused,
                        dropped: p.dropped,
                        lost_percent: if received > 0.0 { lost / received * 100.0 } else { 0.0 },
                    }
                })
                .collect(),
        ),
        _ => None,
    };
    Report {
        fleet: fleet.to_string(),
        run_id: run_id.to_string(),
        duration_s: options.duration.as_secs_f64(),
        rates_per_edge: options.rates,
        edges: edge_runs,
        signals,
        peak_queue: w.peak_queue,
        latency: w.latency.into_values().collect(),
        sample_interval_ms: interval.as_millis() as u64,
        replicas: w.replicas,
        peak_replicas: w.peak_replicas,
        max_refused_percent: options.max_refused_percent,
        removed,
        problems: w.problems.into_iter().map(|(k, v)| format!("{k}: {v}")).collect(),
        api_calls: Default::default(),
    }
}
