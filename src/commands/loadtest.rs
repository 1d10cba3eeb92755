//! `lkeobs loadtest`: load generators in the chosen edges until the duration ends or Ctrl-C / SIGTERM,
//! which still removes the generator Jobs (`ops::loadtest::fleet`).

use std::future::Future;

use crate::Error;
use crate::cli::LoadtestArgs;
use crate::ops::Ctx;
use crate::ops::loadtest::fleet::{self, FleetOptions};
use crate::ops::loadtest::{Options, Rates, Report};

/// Runs `loadtest`, stopping early (Jobs removed) when `interrupt` resolves.
pub async fn run(ctx: &Ctx, args: &LoadtestArgs, interrupt: impl Future<Output = ()>) -> Result<Report, Error> {
    let options = FleetOptions {
        edges: args.edges.clone(),
        options: Options {
            rates: Rates {
                traces: args.traces_per_sec,
                metrics: args.metrics_per_sec,
                logs: args.logs_per_sec,
            },
            duration: args.duration,
            max_refused_percent: args.max_refused_percent,
            progress: crate::ui::progress::Mode::detect(),
            deadline: None,
        },
    };
    fleet::run(ctx, &options, interrupt).await
}
