//! `lkeobs remove-edge NAME`: removes one edge, its cluster and what it leaves behind, and its table from
//! the fleet file (`ops::remove_edge`).

use crate::Error;
use crate::cli::RemoveEdgeArgs;
use crate::ops::Ctx;
use crate::ops::remove_edge::{self, Options, Report};

/// Runs `remove-edge`.
pub async fn run(ctx: &Ctx, args: &RemoveEdgeArgs) -> Result<Report, Error> {
    let options = Options {
        name: args.name.clone(),
    };
    remove_edge::run(ctx, &options).await
}
