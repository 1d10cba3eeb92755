//! `lkeobs alerts test`: a synthetic alert per receiver through the hub's real Alertmanager (reached by a
//! port-forward like every hub query), and each receiver's delivery as Alertmanager's own notification
//! counters tell it.

use std::time::Duration;

use serde::Serialize;

use super::{Ctx, connect, discover};
use crate::probes::Backend;
use crate::probes::alertmanager::{self, Counts};
use crate::{Error, naming, objects};

/// What `alerts test` is asked.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only this receiver (a `[[alerts.receivers]]` name).
    pub receiver: Option<String>,
    /// How long to wait for Alertmanager to try each receiver.
    pub wait: Duration,
}

/// One receiver's delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub receiver: String,
    /// `delivered`, `failed`, or `not tried` (Alertmanager did not notify within the wait).
    pub result: &'static str,
    /// The integrations Alertmanager counts for it (`slack`, `webhook`, …).
    pub integrations: Vec<String>,
    /// Notifications attempted and failed during the test (from the counters' growth).
    pub attempts: f64,
    pub failed: f64,
}

/// What `alerts test` reports.
#[derive(Debug, Serialize)]
pub struct Report {
    pub fleet: String,
    pub deliveries: Vec<Delivery>,
}

impl Report {
    /// The receivers that did not get the test alert.
    pub fn failing(&self) -> Vec<&str> {
        self.deliveries
            .iter()
            .filter(|d| d.result != "delivered")
            .map(|d| d.receiver.as_str())
            .collect()
    }
}

/// Sends the test alert to each receiver (or the one asked) and reports what Alertmanager did with it.
pub async fn run(ctx: &Ctx, opts: &Options) -> Result<Report, Error> {
    let loaded = ctx.load_fleet()?;
    let fleet = &loaded.fleet;
    let Some(alerts) = &fleet.alerts else {
        return Err(Error::Usage(format!(
            "fleet {:?} has no [alerts]: there is no Alertmanager to test (add [alerts] with a receiver and run `lkeobs up`)",
            fleet.name()
        )));
    };
    let names: Vec<&str> = alerts.receivers.iter().map(|r| r.name.get_ref().as_str()).collect();
    let wanted: Vec<String> = match &opts.receiver {
        None => names.iter().map(|s| s.to_string()).collect(),
        Some(r) if names.contains(&r.as_str()) => vec![r.clone()],
        Some(r) => {
            let hint = crate::fleet::diag::did_you_mean(r, &names)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(Error::Usage(format!(
                "--receiver {r}: no such receiver in [alerts]{hint}; receivers: {}",
                names.join(", ")
            )));
        }
    };
    let client = ctx.require_linode("alerts test")?;
    let observed = discover::observe(&client, fleet).await?;
    let label = naming::cluster_label(fleet.name(), "hub");
    let Some(hub) = observed.clusters.iter().find(|o| o.cluster.label == label) else {
        return Err(Error::Runtime(format!(
            "the hub of fleet {:?} does not exist: run `lkeobs up` first",
            fleet.name()
        )));
    };
    let k8s = connect::connect(&client, hub.cluster.id)
        .await?
        .map_err(|why| Error::Runtime(format!("cannot reach the hub's Kubernetes API: {why}")))?;
    let am = Backend::service(&k8s, objects::ALERTMANAGER, alertmanager::PORT);
    test(&am, fleet.name(), &wanted, opts.wait).await
}

/// The test against an Alertmanager reached by `am`.
pub async fn test(am: &Backend, fleet: &str, wanted: &[String], wait: Duration) -> Result<Report, Error> {
    let loaded = alertmanager::loaded(am)
        .await
        .map_err(|e| Error::Runtime(format!("the hub's Alertmanager: {e}")))?;
    let before = alertmanager::counters(am).await.map_err(Error::Runtime)?;
    let starts = std::time::SystemTime::now();
    for r in wanted {
        if !loaded.contains(r) {
            continue; // reported below as not tried: the running config does not have it
        }
        alertmanager::send_test(am, r, &crate::clock::rfc3339(starts), None)
            .await
            .map_err(Error::Runtime)?;
    }
    let deadline = tokio::time::Instant::now() + wait;
    let grown = |after: &alertmanager::Counters, r: &str| {
        let b = before.receivers.get(r).copied().unwrap_or_default();
        let a = after.receivers.get(r).copied().unwrap_or_default();
        Counts {
            attempts: a.attempts - b.attempts,
            failed: a.failed - b.failed,
        }
    };
    let settled = |after: &alertmanager::Counters| {
        wanted.iter().all(|r| {
            let g = grown(after, r);
            g.attempts > 0.0 || g.failed > 0.0 || !loaded.contains(r)
        })
    };
    // Until every receiver tried (or is not loaded), else what the counters say at the deadline.
    let polled = crate::poll::until(Duration::from_millis(500), deadline, || async {
        let after = alertmanager::counters(am).await.map_err(Error::Runtime)?;
        Ok::<_, Error>(if settled(&after) {
            crate::poll::Step::Done(after)
        } else {
            crate::poll::Step::Pending(after)
        })
    })
    .await?;
    let after = polled.unwrap_or_else(|t| t.last);
    // Resolve the test alerts so they do not linger (a failure here changes nothing reported).
    let now = crate::clock::rfc3339(std::time::SystemTime::now());
    for r in wanted.iter().filter(|r| loaded.contains(r)) {
        let _ = alertmanager::send_test(am, r, &crate::clock::rfc3339(starts), Some(&now)).await;
    }
    let deliveries = wanted
        .iter()
        .map(|r| {
            let g = grown(&after, r);
            let result = if g.failed > 0.0 {
                "failed"
            } else if g.attempts > 0.0 {
                "delivered"
            } else {
                "not tried"
            };
            Delivery {
                receiver: r.clone(),
                result,
                integrations: after.integrations.get(r).cloned().unwrap_or_default(),
                attempts: g.attempts,
                failed: g.failed,
            }
        })
        .collect();
    Ok(Report {
        fleet: fleet.to_string(),
        deliveries,
    })
}
