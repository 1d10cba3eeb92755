//! `lkeobs teardown`: deletes everything the fleet owns, after the person confirms (`ops::teardown`).

use crate::Error;
use crate::ops::Ctx;
use crate::ops::sweep::Report;

/// Runs `teardown`.
pub async fn run(ctx: &Ctx) -> Result<Report, Error> {
    crate::ops::teardown::run(ctx).await
}
