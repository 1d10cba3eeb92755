//! `lkeobs loadtest`: finds the hub and the chosen edges, then runs the shared load test
//! (`ops::loadtest`) until it ends or Ctrl-C / SIGTERM, which still removes the generator Jobs.

use std::future::Future;
use std::time::Duration;

use super::{Edge, Options, Report};
use crate::Error;
use crate::fleet::Role;
use crate::k8s::K8s;
use crate::naming;
use crate::ops::{Ctx, connect, discover};
use crate::plan::is_ours;
use crate::probes::Backends;

/// `loadtest`'s flags.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// The edges to run a generator in; empty: every edge.
    pub edges: Vec<String>,
    pub options: Options,
}

/// Runs `loadtest`, stopping early (Jobs removed) when `interrupt` resolves.
pub async fn run(ctx: &Ctx, args: &FleetOptions, interrupt: impl Future<Output = ()>) -> Result<Report, Error> {
    let loaded = ctx.load_fleet()?;
    let fleet = &loaded.fleet;
    let name = fleet.name();
    let known: Vec<&String> = fleet.edges.iter().map(|e| e.name.get_ref()).collect();
    if let Some(unknown) = args.edges.iter().find(|e| !known.contains(e)) {
        return Err(Error::Usage(format!(
            "--edge {unknown}: the fleet has no such edge (its edges: {})",
            known.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        )));
    }
    if known.is_empty() {
        return Err(Error::Usage("the fleet has no edges to run a load test from".into()));
    }
    if args.options.duration < Duration::from_secs(1) {
        return Err(Error::Usage("--duration must be at least 1s".into()));
    }
    let client = ctx.require_linode("loadtest")?;
    let observed = discover::observe(&client, fleet).await?;
    let mut hub = None;
    let mut edges = Vec::new();
    for c in fleet.clusters() {
        let cname = c.name.get_ref();
        if c.role == Role::Edge && !args.edges.is_empty() && !args.edges.contains(cname) {
            continue;
        }
        let label = naming::cluster_label(name, cname);
        let found = observed
            .clusters
            .iter()
            .find(|o| o.cluster.label == label && is_ours(&o.cluster.tags, name))
            .ok_or_else(|| {
                Error::Cluster(format!(
                    "cluster {label} of this fleet does not exist (run `lkeobs up`)"
                ))
            })?;
        let k8s: K8s = connect::connect(&client, found.cluster.id)
            .await?
            .map_err(|why| Error::Cluster(format!("cluster {label}: {why}")))?;
        match c.role {
            Role::Hub => hub = Some(k8s),
            Role::Edge => edges.push(Edge {
                name: cname.clone(),
                k8s,
            }),
        }
    }
    let hub = hub.ok_or_else(|| Error::Cluster("the fleet's hub cannot be reached".into()))?;
    let backends = Backends::of_hub(&hub, fleet);
    let options = Options {
        deadline: ctx.deadline(),
        ..args.options.clone()
    };
    let mut report = super::run(name, &hub, &backends, &edges, &options, interrupt).await?;
    report.api_calls = ctx.api_calls();
    Ok(report)
}
