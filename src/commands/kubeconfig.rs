//! `lkeobs kubeconfig`: writes the fleet's contexts (`ops::kubeconfig`).

use crate::Error;
use crate::cli::KubeconfigArgs;
use crate::ops::Ctx;
use crate::ops::kubeconfig::{self, Options, Report};

/// Runs `kubeconfig`.
pub async fn run(ctx: &Ctx, args: &KubeconfigArgs) -> Result<Report, Error> {
    let options = Options {
        merge: args.merge,
        out: args.out.clone(),
        use_cluster: args.use_cluster.clone(),
    };
    kubeconfig::run(ctx, &options).await
}
