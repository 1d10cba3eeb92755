//! `lkeobs validate`: parse and check the fleet file; with a token, also the live catalog (preflight).
//! Prints a one-line summary or every error.

use serde::Serialize;

use crate::fleet::{Cluster, Fleet};
use crate::linode::ApiCalls;
use crate::ops::{Ctx, cost, discover};
use crate::plan::cost::{Budget, Cost};
use crate::stack::Renderer;
use crate::ui::cost_text;

/// What `validate` reports about a valid fleet.
/// How `validate` runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Without the API: no catalog check, no prices.
    pub offline: bool,
}

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

/// What `validate` prints: the summary, whether the live checks ran and the security warnings.
#[derive(Debug, Serialize)]
pub struct Report {
    ok: bool,
    #[serde(flatten)]
    pub summary: Summary,
    #[serde(flatten)]
    pub preflight: Preflight,
    /// Security choices that are allowed but weak (see `fleet::warnings`), on stderr in text mode.
    pub warnings: Vec<String>,
    /// The fleet's monthly cost as planned (with a token; otherwise why not).
    pub cost: Cost,
    /// The fleet file's `max_monthly_cost`, shown (`plan` and `up` enforce it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    api_calls: ApiCalls,
}

impl crate::ui::Report for Report {
    fn text(&self) -> String {
        let mut out = self.summary.line(&self.preflight);
        out.push_str(&cost_text::render(&self.cost, self.budget.as_ref()));
        out
    }
}

/// Runs `validate`.
pub async fn run(ctx: &Ctx, args: &Options) -> Result<Report, crate::Error> {
    let loaded = ctx.load_fleet_to_apply()?;
    let (preflight, cost) = if args.offline {
        (
            Preflight::Skipped {
                reason: "--offline".into(),
            },
            Cost::offline("--offline"),
        )
    } else {
        match ctx.linode_client()? {
            Err(why) => {
                ctx.printer.note(&format!("{why}; checked offline only"));
                (
                    Preflight::Skipped {
                        reason: "no Linode token".into(),
                    },
                    Cost::offline("no Linode token"),
                )
            }
            Ok(client) => {
                discover::preflight(&client, &loaded).await?;
                let renderer = Renderer::new()?;
                let cost = Cost::Priced(cost::price(&client, &loaded.fleet, None, &renderer).await?);
                (Preflight::Passed, cost)
            }
        }
    };
    Ok(Report {
        ok: true,
        summary: Summary::of(&loaded.file, &loaded.fleet),
        preflight,
        warnings: ctx.security_warnings(&loaded.fleet),
        cost,
        budget: Budget::resolve(None, &loaded.fleet),
        api_calls: ctx.api_calls(),
    })
}
