//! `lkeobs verify`: finds the fleet's clusters, runs the probes and reports a table,
//! JSON or JUnit; exit 3 when a probe fails. `--wait` repeats rounds until `--passes` pass in a row.

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;
use tokio::time::Instant;

use crate::Error;
use crate::fleet::Fleet;
use crate::linode::Client;
use crate::naming;
use crate::ops::rounds::{self, Ended, Rounds};
use crate::ops::{Ctx, connect, discover};
use crate::plan::is_ours;
use crate::probes::{self, Outcome, Target};

/// How long one round may take when the command has no `--timeout`.
pub const ROUND_BUDGET: Duration = Duration::from_secs(300);
/// The pause between rounds (`--wait`, `--passes`); a short `--wait` pauses a tenth of it.
pub const ROUND_PAUSE: Duration = Duration::from_secs(15);

/// `verify`'s flags.
#[derive(Debug, Clone)]
pub struct Options {
    /// Send a canary at every edge and find it at the hub.
    pub canary: bool,
    /// Also write the outcomes as JUnit XML here.
    pub junit: Option<PathBuf>,
    /// Keep repeating rounds for this long until `passes` pass in a row.
    pub wait: Option<Duration>,
    /// Consecutive all-pass rounds required (at least 1).
    pub passes: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            canary: false,
            junit: None,
            wait: None,
            passes: 1,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub fleet: String,
    /// Whether the required passes in a row were reached.
    pub passed: bool,
    pub rounds: u32,
    pub passes_required: u32,
    pub passes_in_a_row: u32,
    /// The last round's outcomes.
    pub outcomes: Vec<Outcome>,
    pub api_calls: crate::linode::ApiCalls,
    /// `--wait`, for the failure message.
    #[serde(skip)]
    wait: Option<Duration>,
}

impl crate::ui::Report for Report {
    fn text(&self) -> String {
        let mut text = format!("Fleet {:?}", self.fleet);
        if self.rounds > 1 {
            text.push_str(&format!(
                " (round {}, {} of {} passes in a row)",
                self.rounds, self.passes_in_a_row, self.passes_required
            ));
        }
        text.push_str("\n\n");
        text.push_str(&probes::table(&self.outcomes));
        text
    }

    fn outcome(&self) -> crate::ui::Outcome {
        use crate::ui::{Failure, Outcome};
        if probes::failed(&self.outcomes) > 0 {
            return Outcome::failed(
                Failure::VerifyFailed,
                format!("verification failed: {}", failures(&self.outcomes)),
            );
        }
        if !self.passed {
            let why = match self.wait {
                Some(w) => format!("--wait {}s ran out", w.as_secs()),
                None => "the --timeout ran out".into(),
            };
            return Outcome::failed(
                Failure::VerifyFailed,
                format!(
                    "verification failed: {} of {} required passes in a row before {why}",
                    self.passes_in_a_row, self.passes_required
                ),
            );
        }
        Outcome::Done
    }
}

/// The fleet's reachable clusters, and a failed `cluster` outcome for each one that is not.
pub async fn targets(client: &Client, fleet: &Fleet) -> Result<(Vec<Target>, Vec<Outcome>), Error> {
    let observed = discover::observe(client, fleet).await?;
    let name = fleet.name();
    // Every cluster connected at once, at most FAN_OUT at a time; the fleet's order kept.
    let found: Vec<Result<Target, Outcome>> = futures::stream::iter(fleet.clusters())
        .map(|c| {
            let observed = &observed;
            async move {
                let cname = c.name.get_ref();
                let label = naming::cluster_label(name, cname);
                let fail = |detail: String| Outcome::fail("cluster", cname, detail);
                let Some(o) = observed.clusters.iter().find(|o| o.cluster.label == label) else {
                    return Err(fail(format!("cluster {label} does not exist (run `lkeobs up`)")));
                };
                if !is_ours(&o.cluster.tags, name) {
                    return Err(fail(format!(
                        "cluster {label} exists but does not carry this fleet's tags: it is not ours"
                    )));
                }
                match connect::connect(client, o.cluster.id).await {
                    Ok(Ok(k8s)) => Ok(Target {
                        name: cname.clone(),
                        role: c.role,
                        k8s,
                    }),
                    Ok(Err(why)) => Err(fail(format!("cluster {label}: {why}"))),
                    Err(e) => Err(fail(format!("cluster {label}: {e}"))),
                }
            }
        })
        .buffered(super::FAN_OUT)
        .collect()
        .await;
    let (mut targets, mut problems) = (Vec::new(), Vec::new());
    for f in found {
        match f {
            Ok(t) => targets.push(t),
            Err(o) => problems.push(o),
        }
    }
    Ok((targets, problems))
}

/// `2 of 17 probes failed: prometheus/series on eu-west, loki/streams on eu-west`.
fn failures(outcomes: &[Outcome]) -> String {
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| o.failed())
        .map(|o| format!("{} on {}", o.name, o.cluster))
        .collect();
    format!(
        "{} of {} probes failed: {}",
        failed.len(),
        outcomes.len(),
        failed.join(", ")
    )
}

/// One round: connect (reusing `cached` when every cluster was reachable last time) and probe.
async fn round(
    ctx: &Ctx,
    client: &Client,
    fleet: &Fleet,
    cached: &mut Option<Vec<Target>>,
    canary: bool,
) -> Result<Vec<Outcome>, Error> {
    let (targets, mut outcomes) = match cached.clone() {
        Some(t) => (t, Vec::new()),
        None => targets(client, fleet).await?,
    };
    if outcomes.is_empty() {
        *cached = Some(targets.clone());
    }
    let now = Instant::now();
    let deadline = ctx.deadline().map_or(now + ROUND_BUDGET, |d| d.min(now + ROUND_BUDGET));
    let options = probes::Options { canary, deadline };
    outcomes.extend(probes::run(fleet, &targets, &options).await);
    let order: Vec<String> = fleet.clusters().map(|c| c.name.get_ref().clone()).collect();
    outcomes.sort_by_key(|o| order.iter().position(|c| *c == o.cluster).unwrap_or(usize::MAX));
    Ok(outcomes)
}

/// Runs `verify`.
pub async fn run(ctx: &Ctx, options: &Options) -> Result<Report, Error> {
    let loaded = ctx.load_fleet()?;
    let fleet = &loaded.fleet;
    let client = ctx.require_linode("verify")?;
    let passes = options.passes.max(1);
    let wait_until = options.wait.map(|w| {
        let end = Instant::now() + w;
        ctx.deadline().map_or(end, |d| d.min(end))
    });
    let pause = options
        .wait
        .map_or(ROUND_PAUSE, |w| (w / 10).clamp(Duration::from_millis(100), ROUND_PAUSE));
    let rules = Rounds {
        passes,
        until: wait_until,
        deadline: ctx.deadline(),
        pause,
    };
    let mut cached = None;
    let ended = rounds::repeat(
        &rules,
        async |failed_before| {
            if failed_before {
                // A failed round's connections may be stale (a cluster that was not ready yet).
                cached = None;
            }
            round(ctx, &client, fleet, &mut cached, options.canary).await
        },
        |b| {
            let status = if b.failed == 0 {
                format!("passed ({} of {} in a row)", b.streak, b.passes)
            } else {
                failures(b.outcomes)
            };
            ctx.printer.note(&format!(
                "round {}: {status}; next round in {}",
                b.round,
                probes::outcome::human_ms(b.pause.as_millis() as u64)
            ));
        },
    )
    .await?;
    let Ended {
        outcomes,
        rounds,
        streak,
    } = ended;
    let passed = streak >= passes;
    let report = Report {
        fleet: fleet.name().to_string(),
        passed,
        rounds,
        passes_required: passes,
        passes_in_a_row: streak,
        outcomes,
        api_calls: ctx.api_calls(),
        wait: options.wait,
    };
    if let Some(path) = &options.junit {
        std::fs::write(path, probes::junit(&report.outcomes))
            .map_err(|e| Error::io(format!("write the JUnit report {}", path.display()), e))?;
    }
    Ok(report)
}
