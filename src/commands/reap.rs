//! `lkeobs reap`: deletes every fleet whose expiry tag has passed (`ops::reap`).

use crate::Error;
use crate::cli::ReapArgs;
use crate::ops::Ctx;
use crate::ops::reap::{self, Options, Report};

/// Runs `reap`.
pub async fn run(ctx: &Ctx, args: &ReapArgs) -> Result<Report, Error> {
    reap::run(ctx, &Options { dry_run: args.dry_run }).await
}
