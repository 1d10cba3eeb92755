//! `lkeobs status`: the fleet as it runs (`ops::status`).

use crate::Error;
use crate::ops::Ctx;
use crate::ops::status::{self, Report};

/// Runs `status`.
pub async fn run(ctx: &Ctx) -> Result<Report, Error> {
    status::run(ctx).await
}
