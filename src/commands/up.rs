//! `lkeobs up`: converge the account to the fleet file (`ops::converge`); `--dry-run` is `plan`,
//! dispatched by `run`.

use crate::Error;
use crate::cli::UpArgs;
use crate::ops::Ctx;
use crate::ops::converge::{self, Options, Report};
use crate::ui::progress::Mode;

/// The converge options `up`'s flags ask for.
pub fn options(args: &UpArgs) -> Options {
    Options {
        concurrency: usize::from(args.concurrency),
        rotate_certs: args.rotate_certs,
        verify: !args.no_verify,
        only_edge: None,
        merge_kubeconfig: !args.no_kubeconfig,
        merge_simulated_kubeconfig: args.merge_kubeconfig,
        progress: Mode::detect(),
        verify_wait: args.verify_wait,
        max_monthly_cost: args.max_monthly_cost,
        upgrade_concurrency: usize::from(args.upgrade_concurrency),
        accept_new_hub_storage: args.accept_new_hub_storage,
    }
}

/// Runs `up`.
pub async fn run(ctx: &Ctx, args: &UpArgs) -> Result<Report, Error> {
    converge::run(ctx, &options(args)).await
}
