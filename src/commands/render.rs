//! `lkeobs render`: renders each cluster's manifests (`ops::render`).

use crate::Error;
use crate::cli::RenderArgs;
use crate::ops::Ctx;
use crate::ops::render::{self, Options, Report};

/// Runs `render`.
pub fn run(ctx: &Ctx, args: &RenderArgs) -> Result<Report, Error> {
    let options = Options {
        out: args.out.clone(),
        cluster: args.cluster.clone(),
    };
    render::run(ctx, &options)
}
