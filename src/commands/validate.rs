//! `lkeobs validate`: checks the fleet file, and with a token the catalog and the monthly cost
//! (`ops::validate`).

use crate::Error;
use crate::cli::ValidateArgs;
use crate::ops::Ctx;
use crate::ops::validate::{self, Options, Report};

/// Runs `validate`.
pub async fn run(ctx: &Ctx, args: &ValidateArgs) -> Result<Report, Error> {
    validate::run(ctx, &Options { offline: args.offline }).await
}
