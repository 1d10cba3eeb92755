//! `lkeobs validate`: parse and check the fleet file; with a token, also the live catalog (preflight).
//! Prints a one-line summary or every error.

use serde::Serialize;

use super::{Ctx, discover};
use crate::cli::ValidateArgs;
use crate::fleet::{Cluster, Fleet};
use crate::linode::ApiCalls;

/// What `validate` reports about a valid fleet.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub fleet: String,
    pub file: String,
    pub clusters: usize,
    pub edges: usize,
    pub pools: usize,
    pub nodes: u32,
    pub gpu_pools: usize,
}

impl Summary {
    pub fn of(file: &str, f: &Fleet) -> Self {
        Summary {
            fleet: f.name().to_string(),
            file: file.to_string(),
            clusters: f.clusters().count(),
            edges: f.edges.len(),
            pools: f.clusters().map(|c| c.pools.len()).sum(),
            nodes: f.clusters().map(Cluster::node_count).sum(),
            gpu_pools: f.clusters().flat_map(|c| c.pools.iter()).filter(|p| p.is_gpu()).count(),
        }
    }

    pub fn line(&self, preflight: &Preflight) -> String {
        let how = match preflight {
            Preflight::Passed => ", checked against the Linode catalog",
            Preflight::Skipped { .. } => " (offline checks only)",
        };
        format!(
            "{}: fleet {:?} is valid{how}: {} cluster(s) (hub + {} edge(s)), {} pool(s), {} node(s), {} GPU pool(s)\n",
            self.file, self.fleet, self.clusters, self.edges, self.pools, self.nodes, self.gpu_pools
        )
    }
}

/// Whether the live checks ran.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "preflight", rename_all = "snake_case")]
pub enum Preflight {
    Passed,
    Skipped { reason: String },
}

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    #[serde(flatten)]
    summary: &'a Summary,
    #[serde(flatten)]
    preflight: &'a Preflight,
    /// Security choices that are allowed but weak (see `fleet::warnings`).
    warnings: &'a [String],
    api_calls: ApiCalls,
}

/// Runs `validate`.
pub async fn run(ctx: &Ctx, args: &ValidateArgs) -> Result<Summary, crate::Error> {
    let loaded = ctx.load_fleet()?;
    let preflight = if args.offline {
        Preflight::Skipped {
            reason: "--offline".into(),
        }
    } else {
        match ctx.linode_client()? {
            Err(why) => {
                ctx.printer.note(&format!("{why}; checked offline only"));
                Preflight::Skipped {
                    reason: "no Linode token".into(),
                }
            }
            Ok(client) => {
                discover::preflight(&client, &loaded).await?;
                Preflight::Passed
            }
        }
    };
    let summary = Summary::of(&loaded.file, &loaded.fleet);
    let warnings = crate::fleet::warnings::security_warnings(&loaded.fleet);
    if ctx.printer.json() {
        ctx.printer.report_json(&Report {
            ok: true,
            summary: &summary,
            preflight: &preflight,
            warnings: &warnings,
            api_calls: ctx.api_calls(),
        });
    } else {
        for w in &warnings {
            ctx.printer.warn(w);
        }
        ctx.printer.report(&summary.line(&preflight));
    }
    Ok(summary)
}
