//! Verification probes, run concurrently: each yields a named outcome per cluster (pass,
//! fail, or skip with a reason), reaching its service through a [`Backend`] (port-forward or URL).

pub mod alertmanager;
pub mod alerts;
pub mod backend;
pub mod buckets;
pub mod canary;
pub mod freshness;
pub mod gateway;
pub mod junit;
pub mod loki;
pub mod otlp;
pub mod outcome;
pub mod pods;
pub mod prometheus;
pub mod rings;
pub mod tempo;

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use tokio::time::Instant;

pub use backend::{Backend, Backends};
pub use junit::junit;
pub use outcome::{Outcome, Verdict, failed, table};

use crate::fleet::{Fleet, Role};
use crate::k8s::K8s;
use prometheus::Nodes;

/// A cluster of the fleet the probes can reach.
#[derive(Clone, Debug)]
pub struct Target {
    /// The cluster's name in the fleet (`hub`, `us-east`).
    pub name: String,
    pub role: Role,
    pub k8s: K8s,
}

/// What to run and until when.
#[derive(Clone, Debug)]
pub struct Options {
    /// Also send a canary at every edge and find it at the hub.
    pub canary: bool,
    /// Probes still running then fail, saying so.
    pub deadline: Instant,
}

/// Unix time in nanoseconds.
pub fn now_unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// `12s ago`, `4m ago`, `2h ago` (a time a little in the future reads `just now`).
pub fn ago(now_ns: u128, then_ns: Option<u128>) -> String {
    let Some(then) = then_ns else {
        return "at an unknown time".into();
    };
    let secs = now_ns.saturating_sub(then) / 1_000_000_000;
    match secs {
        0 => "just now".into(),
        s if s < 120 => format!("{s}s ago"),
        s if s < 7200 => format!("{}m ago", s / 60),
        s => format!("{}h ago", s / 3600),
    }
}

/// A group of probes run as one task, and the outcomes to report if it misses the deadline.
struct Job<'a> {
    expected: Vec<(&'static str, String)>,
    run: BoxFuture<'a, Vec<Outcome>>,
}

impl<'a> Job<'a> {
    fn new(expected: Vec<(&'static str, String)>, run: BoxFuture<'a, Vec<Outcome>>) -> Self {
        Job { expected, run }
    }

    fn one(name: &'static str, cluster: &str, run: BoxFuture<'a, Outcome>) -> Self {
        Job::new(vec![(name, cluster.to_string())], run.map(|o| vec![o]).boxed())
    }

    /// Runs it, timing it and failing what is left at the deadline.
    async fn finish(self, deadline: Instant) -> Vec<Outcome> {
        let start = Instant::now();
        match tokio::time::timeout_at(deadline, self.run).await {
            Ok(outcomes) => outcomes
                .into_iter()
                .map(|o| if o.duration_ms == 0 { o.took(start.elapsed()) } else { o })
                .collect(),
            Err(_) => self
                .expected
                .iter()
                .map(|(name, cluster)| {
                    Outcome::fail(name, cluster, "no answer before the deadline (--timeout)").took(start.elapsed())
                })
                .collect(),
        }
    }
}

/// Runs every probe against the fleet: the Kubernetes probes on each target, the data probes
/// against the hub's backends through port-forwards to its pods, and the canary when asked.
pub async fn run(fleet: &Fleet, targets: &[Target], options: &Options) -> Vec<Outcome> {
    let hub = targets.iter().find(|t| t.role == Role::Hub);
    let backends = hub.map(|h| Backends::of_hub(&h.k8s, fleet));
    let agents: BTreeMap<String, Backend> = targets
        .iter()
        .filter(|t| t.role == Role::Edge)
        .map(|t| (t.name.clone(), backend::agent(&t.k8s)))
        .collect();
    run_with(fleet, targets, backends.as_ref(), &agents, options).await
}

/// Probes running at once: each holds a request through a port-forward (the canary's poll up to its wait),
/// so a fleet of hundreds of edges neither opens hundreds of streams at the hub's API server nor runs them
/// one by one.
pub const PROBES_AT_ONCE: usize = 64;

/// [`run`] with the backends given: `hub` `None` when the hub cannot be reached; `agents` the edges'
/// OTLP/HTTP receivers for the canary, by cluster name.
pub async fn run_with(
    fleet: &Fleet,
    targets: &[Target],
    hub: Option<&Backends>,
    agents: &BTreeMap<String, Backend>,
    options: &Options,
) -> Vec<Outcome> {
    let clusters: Vec<String> = fleet.clusters().map(|c| c.name.get_ref().clone()).collect();
    let target = |name: &str| targets.iter().find(|t| t.name == name);
    let mut jobs: Vec<Job<'_>> = Vec::new();

    let renderer = crate::stack::Renderer::new().map_err(|e| format!("rendering the stack: {e}"));
    for t in targets {
        let workloads = renderer
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|r| pods::workloads(r, fleet, &t.name));
        jobs.push(Job::one(
            "pods",
            &t.name,
            async move {
                match workloads {
                    Ok(w) => pods::stack(t, &w).await,
                    Err(e) => Outcome::fail("pods", &t.name, e),
                }
            }
            .boxed(),
        ));
        jobs.push(Job::one("agent", &t.name, pods::agent(t).boxed()));
    }

    match hub {
        None => jobs.push(Job::one(
            "backends",
            "hub",
            async {
                Outcome::fail(
                    "backends",
                    "hub",
                    "the hub cannot be reached, so the gateway, Prometheus, Loki, Tempo and canary probes did not run",
                )
            }
            .boxed(),
        )),
        Some(b) => {
            jobs.push(Job::one(
                "gateway/health",
                "hub",
                gateway::health(&b.gateway_health).boxed(),
            ));
            jobs.push(Job::one(
                "gateway/counters",
                "hub",
                gateway::counters(&b.prometheus).boxed(),
            ));
            jobs.push(Job::one("tempo/ready", "hub", tempo::ready(&b.tempo).boxed()));
            let each = |name: &'static str| clusters.iter().map(|c| (name, c.clone())).collect::<Vec<_>>();
            jobs.push(Job::new(
                each("prometheus/series"),
                prometheus::series(&b.prometheus, &clusters).boxed(),
            ));
            let node_lists = clusters.iter().map(|c| async move {
                let nodes = match target(c) {
                    None => Nodes::Unknown("no Kubernetes access to the cluster".into()),
                    Some(t) => match pods::node_names(&t.k8s).await {
                        Ok(n) => Nodes::Known(n),
                        Err(e) => Nodes::Unknown(e),
                    },
                };
                (c.clone(), nodes)
            });
            let nodes_job = async move {
                let expected = futures::future::join_all(node_lists).await;
                prometheus::nodes(&b.prometheus, &expected).await
            };
            jobs.push(Job::new(each("prometheus/nodes"), nodes_job.boxed()));
            for c in &clusters {
                jobs.push(Job::one("loki/streams", c, loki::streams(&b.loki, c).boxed()));
                let k8s = target(c).map(|t| &t.k8s);
                jobs.push(Job::one(
                    "tempo/search",
                    c,
                    tempo::search_cluster(&b.tempo, c, k8s).boxed(),
                ));
            }
            if options.canary {
                jobs.extend(canary_jobs(fleet, agents, b, options.deadline));
            }
        }
    }

    // An `ha` hub: each engine's ring with every replica ACTIVE, and what the engines flushed to their buckets.
    if let Some(t) = targets.iter().find(|t| t.role == Role::Hub)
        && fleet.hub_mode.ha().is_some()
    {
        for ring in rings::of_hub(&t.k8s, fleet) {
            let name = ring.probe_name();
            jobs.push(Job::one(name, "hub", async move { rings::probe(&ring).await }.boxed()));
        }
        let names = ["bucket/mimir", "bucket/loki", "bucket/tempo"];
        jobs.push(Job::new(
            names.iter().map(|n| (*n, "hub".to_string())).collect(),
            buckets::probe(&t.k8s, fleet).boxed(),
        ));
    }

    // With [alerts]: the hub's Alertmanager ready, its config loaded, no receiver failing.
    if fleet.alerts.is_some()
        && let Some(t) = targets.iter().find(|t| t.role == Role::Hub)
    {
        let am = Backend::service(&t.k8s, crate::objects::ALERTMANAGER, alertmanager::PORT);
        jobs.push(Job::one(
            "alertmanager",
            "hub",
            async move { alertmanager::probe(&am).await }.boxed(),
        ));
    }

    let deadline = options.deadline;
    let finishing: Vec<_> = jobs.into_iter().map(|j| j.finish(deadline)).collect();
    let finished: Vec<Vec<Outcome>> = futures::stream::iter(finishing)
        .buffered(PROBES_AT_ONCE)
        .collect()
        .await;
    let mut outcomes: Vec<Outcome> = finished.into_iter().flatten().collect();
    // Grouped by cluster in fleet order (hub first), probes in the order above.
    let rank = |c: &str| clusters.iter().position(|x| x == c).unwrap_or(usize::MAX);
    outcomes.sort_by_key(|o| rank(&o.cluster));
    outcomes
}

fn canary_jobs<'a>(
    fleet: &'a Fleet,
    agents: &'a BTreeMap<String, Backend>,
    hub: &'a Backends,
    deadline: Instant,
) -> Vec<Job<'a>> {
    const SIGNALS: [&str; 3] = ["canary/trace", "canary/log", "canary/metric"];
    let mut jobs = Vec::new();
    if fleet.edges.is_empty() {
        jobs.push(Job::one(
            "canary",
            "hub",
            async { Outcome::skip("canary", "hub", "the fleet has no edges to send a canary from") }.boxed(),
        ));
    }
    for edge in &fleet.edges {
        let name = edge.name.get_ref();
        let expected = SIGNALS.iter().map(|s| (*s, name.clone())).collect();
        match agents.get(name) {
            Some(agent) => jobs.push(Job::new(expected, canary::run(name, agent, hub, deadline).boxed())),
            None => jobs.push(Job::one(
                "canary",
                name,
                async move { Outcome::skip("canary", name, "no Kubernetes access to its agent") }.boxed(),
            )),
        }
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_naturally() {
        let s = 1_000_000_000u128;
        assert_eq!(ago(100 * s, Some(100 * s)), "just now");
        assert_eq!(ago(100 * s, Some(101 * s)), "just now");
        assert_eq!(ago(100 * s, Some(88 * s)), "12s ago");
        assert_eq!(ago(1000 * s, Some(700 * s)), "5m ago");
        assert_eq!(ago(10_000 * s, Some(100 * s)), "2h ago");
        assert_eq!(ago(1, None), "at an unknown time");
    }
}
