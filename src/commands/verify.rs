//! `lkeobs verify`: the fleet's probes, in rounds until they pass or the wait ends (`ops::verify`).

use crate::Error;
use crate::cli::VerifyArgs;
use crate::ops::Ctx;
use crate::ops::verify::{self, Options, Report};

/// Runs `verify`.
pub async fn run(ctx: &Ctx, args: &VerifyArgs) -> Result<Report, Error> {
    let options = Options {
        canary: args.canary,
        junit: args.junit.clone(),
        wait: args.wait,
        passes: args.passes,
    };
    verify::run(ctx, &options).await
}
