//! `lkeobs plan` (also `up --dry-run`): print what `up` would do, what the fleet costs a month and whether
//! it fits the monthly limit (`ops::plan`).

use crate::Error;
use crate::cli::{PlanArgs, UpArgs};
use crate::ops::Ctx;
use crate::ops::plan::{self, Options, Report};

/// The plan options `plan`'s flags ask for.
pub fn options(args: &PlanArgs) -> Options {
    Options {
        offline: args.offline,
        detailed_exitcode: args.detailed_exitcode,
        max_monthly_cost: args.max_monthly_cost,
    }
}

/// The plan options of `up --dry-run` (online, exit code 0 on changes).
pub fn dry_run_options(args: &UpArgs) -> Options {
    Options {
        max_monthly_cost: args.max_monthly_cost,
        ..Options::default()
    }
}

/// Runs `plan`.
pub async fn run(ctx: &Ctx, options: &Options) -> Result<Report, Error> {
    plan::run(ctx, options).await
}
