//! `--canary`: POST a trace, a log and a metric with a unique run id to an edge's agent, then find each
//! at the hub with that edge's `cluster.id` and a `hub.received_at`, and report its end-to-end latency.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::poll::Step;

use super::backend::{Backend, Backends, Reply};
use super::otlp::{self, Canary};
use super::outcome::Outcome;
use super::prometheus::quote;
use super::{loki, now_unix_nanos, prometheus, tempo};

/// The longest a canary is looked for (everything on the way batches and queues).
pub const MAX_WAIT: Duration = Duration::from_secs(180);
/// Pause between lookups.
pub const POLL: Duration = Duration::from_secs(2);

/// What a lookup saw: not there yet, or there with its `cluster.id` and `hub.received_at`.
type Seen = Option<(Option<String>, Option<String>)>;

async fn post(agent: &Backend, path: &str, payload: &serde_json::Value) -> Result<(), String> {
    let body = serde_json::to_vec(payload).map_err(|e| format!("encoding the canary: {e}"))?;
    let reply: Reply = agent.post(path, "application/json", body).await?;
    if !reply.is_success() {
        return Err(format!("{} POST {path} {}", agent.describe(), reply.answered()));
    }
    match otlp::rejected(&reply.body) {
        Some((n, msg)) => Err(format!(
            "{} POST {path}: the agent rejected {n} item(s): {msg}",
            agent.describe()
        )),
        None => Ok(()),
    }
}

async fn find_trace(tempo_backend: &Backend, c: &Canary) -> Result<Seen, String> {
    let Some(resources) = tempo::trace_by_id(tempo_backend, &c.trace_id).await? else {
        return Ok(None);
    };
    let r = resources
        .iter()
        .find(|r| r.get(otlp::ID_ATTRIBUTE) == Some(&c.run_id))
        .or(resources.first());
    Ok(Some((
        r.and_then(|r| r.get("cluster.id").cloned()),
        r.and_then(|r| r.get("hub.received_at").cloned()),
    )))
}

/// `{service_name="lkeobs-canary"} | lkeobs_canary_id="<run id>"` (the id is structured metadata).
pub fn log_query(c: &Canary) -> String {
    format!(
        "{{service_name={}}} | lkeobs_canary_id={}",
        quote(otlp::SERVICE),
        quote(&c.run_id)
    )
}

async fn find_log(loki_backend: &Backend, c: &Canary) -> Result<Seen, String> {
    let start = c.time_ns.saturating_sub(300_000_000_000);
    let end = now_unix_nanos() + 60_000_000_000;
    let streams = loki::query_range(loki_backend, &log_query(c), start, end, 10).await?;
    Ok(streams.first().map(|s| {
        (
            s.get("cluster_id").map(str::to_string),
            s.get("hub_received_at").map(str::to_string),
        )
    }))
}

/// `lkeobs_canary{lkeobs_canary_id="<run id>"}`.
pub fn metric_query(c: &Canary) -> String {
    format!("lkeobs_canary{{lkeobs_canary_id={}}}", quote(&c.run_id))
}

async fn find_metric(prom: &Backend, c: &Canary) -> Result<Seen, String> {
    let samples = prometheus::query(prom, &metric_query(c)).await?;
    Ok(samples.first().map(|s| {
        (
            s.labels.get("cluster_id").cloned(),
            s.labels.get("hub_received_at").cloned(),
        )
    }))
}

/// Polls `look` until it sees the canary or `until` passes; judges what it found.
async fn await_signal<F, Fut>(name: &str, edge: &str, store: &str, sent: Instant, until: Instant, look: F) -> Outcome
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Seen, String>>,
{
    let polled = crate::poll::until(POLL, until, || async {
        Ok::<_, std::convert::Infallible>(match look().await {
            Ok(Some(seen)) => Step::Done(seen),
            Ok(None) => Step::Pending(None),
            Err(e) => Step::Pending(Some(e)),
        })
    })
    .await;
    let (cluster, hub) = match polled {
        Ok(Ok(seen)) => seen,
        Ok(Err(timed_out)) => {
            let waited = sent.elapsed().as_secs();
            let why = timed_out.last.map(|e| format!("; last error: {e}")).unwrap_or_default();
            return Outcome::fail(name, edge, format!("not found in {store} after {waited}s{why}"))
                .took(sent.elapsed());
        }
        Err(never) => match never {},
    };
    let latency = sent.elapsed();
    let outcome = match (cluster.as_deref(), hub.as_deref()) {
        (Some(c), Some(h)) if c == edge && !h.is_empty() => Outcome::pass(
            name,
            edge,
            format!("found in {store} with cluster.id={c}, hub.received_at={h}"),
        )
        .with_latency(latency),
        (Some(c), _) if c != edge => Outcome::fail(
            name,
            edge,
            format!("found in {store} but with cluster.id={c}, not {edge}"),
        )
        .with_latency(latency),
        (None, _) => Outcome::fail(name, edge, format!("found in {store} without a cluster.id")).with_latency(latency),
        _ => Outcome::fail(name, edge, format!("found in {store} without a hub.received_at")).with_latency(latency),
    };
    outcome.took(latency)
}

/// Sends one canary at `edge`'s agent and looks for it at the hub: three outcomes
/// (`canary/trace`, `canary/log`, `canary/metric`).
pub async fn run(edge: &str, agent: &Backend, hub: &Backends, deadline: Instant) -> Vec<Outcome> {
    let until = deadline.min(Instant::now() + MAX_WAIT);
    let c = Canary::new(now_unix_nanos());
    let sent = Instant::now();
    let payloads = (c.traces(), c.logs(), c.metrics());
    let (traces, logs, metrics) = tokio::join!(
        post(agent, "/v1/traces", &payloads.0),
        post(agent, "/v1/logs", &payloads.1),
        post(agent, "/v1/metrics", &payloads.2),
    );
    let id = format!("run id {}", c.run_id);
    let trace = async {
        match traces {
            Err(e) => Outcome::fail("canary/trace", edge, e).took(sent.elapsed()),
            Ok(()) => {
                let store = format!("Tempo (trace {}, {id})", c.trace_id);
                await_signal("canary/trace", edge, &store, sent, until, || find_trace(&hub.tempo, &c)).await
            }
        }
    };
    let log = async {
        match logs {
            Err(e) => Outcome::fail("canary/log", edge, e).took(sent.elapsed()),
            Ok(()) => {
                let store = format!("Loki ({id})");
                await_signal("canary/log", edge, &store, sent, until, || find_log(&hub.loki, &c)).await
            }
        }
    };
    let metric = async {
        match metrics {
            Err(e) => Outcome::fail("canary/metric", edge, e).took(sent.elapsed()),
            Ok(()) => {
                let store = format!("Prometheus ({id})");
                await_signal("canary/metric", edge, &store, sent, until, || {
                    find_metric(&hub.prometheus, &c)
                })
                .await
            }
        }
    };
    let (t, l, m) = tokio::join!(trace, log, metric);
    vec![t, l, m]
}

/// Runs the canary at every edge at once.
pub async fn run_all(edges: &BTreeMap<String, Backend>, hub: &Backends, deadline: Instant) -> Vec<Outcome> {
    let runs = edges.iter().map(|(edge, agent)| run(edge, agent, hub, deadline));
    futures::future::join_all(runs).await.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_filter_on_the_run_id() {
        let c = Canary::new(1);
        assert_eq!(
            log_query(&c),
            format!("{{service_name=\"lkeobs-canary\"}} | lkeobs_canary_id=\"{}\"", c.run_id)
        );
        assert_eq!(
            metric_query(&c),
            format!("lkeobs_canary{{lkeobs_canary_id=\"{}\"}}", c.run_id)
        );
    }
}
