//! `lkeobs add-edge REGION`: adds an edge to the fleet file and brings it up (`ops::add_edge`).

use crate::Error;
use crate::cli::AddEdgeArgs;
use crate::ops::Ctx;
use crate::ops::add_edge::{self, Options};
use crate::ops::converge::Report;

/// Runs `add-edge`.
pub async fn run(ctx: &Ctx, args: &AddEdgeArgs) -> Result<Report, Error> {
    let options = Options {
        region: args.region.clone(),
        name: args.name.clone(),
        node_type: args.node_type.clone(),
        count: args.count,
        gpu: args.gpu.clone(),
        verify: !args.no_verify,
        verify_wait: args.verify_wait,
        merge_kubeconfig: !args.no_kubeconfig,
        merge_simulated_kubeconfig: args.merge_kubeconfig,
    };
    add_edge::run(ctx, &options).await
}
