//! `lkeobs add-edge REGION`: adds an `[edges.<name>]` table to the fleet file (comments and order kept,
//! the result validated before it is written), then runs `up` for that edge alone (the hub's stack is only
//! read; with mTLS the new edge's gateway credential is added there and the gateway restarted) and re-syncs
//! the gateway firewall to every edge.

use crate::Error;
use crate::fleet::edit::{self, NewEdge};
use crate::ops::Ctx;
use crate::ops::converge::{self, Report};
use crate::ui::progress::Mode;

/// The edge `add-edge` adds and how it is brought up.
#[derive(Debug, Clone)]
pub struct Options {
    pub region: String,
    /// The edge's name (default: its region).
    pub name: Option<String>,
    pub node_type: Option<String>,
    pub count: Option<u32>,
    pub gpu: Option<String>,
    pub verify: bool,
    pub verify_wait: std::time::Duration,
    pub merge_kubeconfig: bool,
    pub merge_simulated_kubeconfig: bool,
}

/// Runs `add-edge`. The fleet file is written before the edge is brought up, so a failed or interrupted
/// bring-up is finished by `lkeobs up` (or by running `add-edge` again, which then only brings it up).
pub async fn run(ctx: &Ctx, args: &Options) -> Result<Report, Error> {
    let edge = NewEdge::from_flags(
        &args.region,
        args.name.as_deref(),
        args.node_type.as_deref(),
        args.count,
        args.gpu.as_deref(),
    )?;
    let name = args.name.clone().unwrap_or_else(|| args.region.clone());
    let loaded = ctx.load_fleet_to_apply()?;
    let already = loaded.fleet.edges.iter().any(|e| *e.name.get_ref() == name);
    let loaded = if already {
        ctx.printer
            .note(&format!("edge {name:?} is already in {}: bringing it up", loaded.file));
        loaded
    } else {
        let text = edit::add_edge(&loaded.source, &loaded.file, &edge)?;
        let updated = crate::fleet::parse(&loaded.file, &text)?;
        // The catalog check runs before the file changes: a region without Kubernetes is refused here.
        if let Ok(client) = ctx.linode_client()? {
            crate::ops::discover::preflight(&client, &updated).await?;
        }
        edit::write_fleet_file(&ctx.fleet_path, &text)?;
        ctx.printer.note(&format!("added [edges.{name}] to {}", loaded.file));
        updated
    };
    let opts = converge::Options {
        concurrency: 8,
        rotate_certs: false,
        verify: args.verify,
        only_edge: Some(name),
        merge_kubeconfig: args.merge_kubeconfig,
        merge_simulated_kubeconfig: args.merge_simulated_kubeconfig,
        progress: Mode::detect(),
        verify_wait: args.verify_wait,
        // The fleet file's `max_monthly_cost` still applies.
        max_monthly_cost: None,
        // add-edge upgrades nothing: only the new edge is converged.
        upgrade_concurrency: 1,
        // add-edge leaves the hub's stack as it runs.
        accept_new_hub_storage: false,
    };
    converge::converge(ctx, &loaded, &opts).await
}
