//! The probes `up` runs: at its end against every cluster of the run, and after each cluster's upgrade
//! against that cluster (and the hub it sends to), repeating rounds for up to `--verify-wait` until one
//! passes (a new or recycled cluster needs a moment before its data flows).

use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::time::Instant;

use super::Shared;
use crate::ops::rounds::{self, Rounds};
use crate::probes::{self, Outcome};

/// Time between verification rounds.
const VERIFY_PAUSE: Duration = Duration::from_secs(15);

/// Runs the probes against `targets` in rounds until one passes or the wait ends; the last round's
/// outcomes, only those about `only` when given.
pub(super) async fn rounds(shared: &Shared, targets: &[probes::Target], only: Option<&str>) -> Vec<Outcome> {
    let rules = Rounds {
        passes: 1,
        until: Some((Instant::now() + shared.verify_wait).min(shared.deadline)),
        deadline: Some(shared.deadline),
        pause: VERIFY_PAUSE,
    };
    let options = probes::Options {
        canary: false,
        deadline: shared.deadline,
    };
    // Each round owns what it reads: the rounds run inside each cluster's spawned task, and a future
    // borrowing from the caller cannot be proven Send there.
    let whose = only.map(|c| format!(" of {c}")).unwrap_or_default();
    let (fleet, targets, only) = (shared.fleet.clone(), targets.to_vec(), only.map(str::to_string));
    let round = move |_| -> BoxFuture<'static, Result<Vec<Outcome>, std::convert::Infallible>> {
        let (fleet, targets, options, only) = (fleet.clone(), targets.clone(), options.clone(), only.clone());
        async move {
            let outcomes = probes::run(&fleet, &targets, &options).await;
            Ok(outcomes
                .into_iter()
                .filter(|o| only.as_ref().is_none_or(|c| o.cluster == *c))
                .collect())
        }
        .boxed()
    };
    let ended = rounds::repeat(&rules, round, |b| {
        let whose = whose.clone();
        shared.progress.line(&format!(
            "verification round {}{whose}: {} probe(s) not passing yet; next round in {}s",
            b.round,
            b.failed,
            b.pause.as_secs()
        ))
    })
    .await;
    match ended {
        Ok(e) => e.outcomes,
        Err(never) => match never {},
    }
}
