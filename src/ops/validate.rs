//! `lkeobs validate`: parse and check the fleet file; print a one-line summary or every error.

use serde::Serialize;

use super::Ctx;
use crate::fleet::Fleet;

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

    pub fn line(&self) -> String {
        format!(
            "{}: fleet {:?} is valid: {} cluster(s) (hub + {} edge(s)), {} pool(s), {} node(s), {} GPU pool(s)\n",
            self.file, self.fleet, self.clusters, self.edges, self.pools, self.nodes, self.gpu_pools
        )
    }
}

use crate::fleet::Cluster;

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    #[serde(flatten)]
    summary: &'a Summary,
}

/// Runs `validate`.
pub fn run(ctx: &Ctx) -> Result<Summary, crate::Error> {
    let loaded = ctx.load_fleet()?;
    let summary = Summary::of(&loaded.file, &loaded.fleet);
    if ctx.printer.json() {
        ctx.printer.report_json(&Report {
            ok: true,
            summary: &summary,
        });
    } else {
        ctx.printer.report(&summary.line());
    }
    Ok(summary)
}
