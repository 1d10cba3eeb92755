//! `lkeobs remove-edge NAME`: teardown for one edge (DESIGN §4–§5): its LoadBalancer Services and PVCs while it
//! runs, the cluster, its node Linodes gone, its leftovers swept; then the gateway firewall re-synced to the
//! remaining edges, its kubeconfig entry removed, and its table removed from the fleet file (last, so a re-run
//! after any failure resumes).

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::teardown::{Owned, drain, node_ids, sweep, wait_gone};
use super::{Ctx, discover};
use crate::cli::RemoveEdgeArgs;
use crate::fleet::{Role, edit};
use crate::plan::is_ours;
use crate::ui::prompt;
use crate::{Error, firewall, kubeconfig, naming};

const DEFAULT_BUDGET: Duration = Duration::from_secs(30 * 60);

#[derive(Debug, Serialize)]
pub struct Report {
    pub fleet: String,
    pub edge: String,
    /// The deleted cluster's id (none when it was already gone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<u64>,
    pub swept_nodebalancers: Vec<u64>,
    pub swept_volumes: Vec<u64>,
    /// Addresses the firewall no longer allows.
    pub firewall_removed: Vec<String>,
    pub fleet_file: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub api_calls: crate::linode::ApiCalls,
}

impl crate::ui::Report for Report {
    fn text(&self) -> String {
        let label = naming::cluster_label(&self.fleet, &self.edge);
        let mut t = match self.cluster {
            Some(id) => format!("removed edge {} (cluster {label}, id {id})\n", self.edge),
            None => format!("removed edge {} (its cluster was already gone)\n", self.edge),
        };
        for ip in &self.firewall_removed {
            t.push_str(&format!(
                "  firewall {} no longer allows {ip}\n",
                naming::firewall_label(&self.fleet)
            ));
        }
        for n in &self.notes {
            t.push_str(&format!("note: {n}\n"));
        }
        t.push_str(&format!("removed [edges.{}] from {}\n", self.edge, self.fleet_file));
        t
    }
}

/// Runs `remove-edge`.
pub async fn run(ctx: &Ctx, args: &RemoveEdgeArgs) -> Result<Report, Error> {
    let loaded = ctx.load_fleet()?;
    let fleet = &loaded.fleet;
    let name = fleet.name().to_string();
    // The edited file is computed (and validated) before anything is deleted.
    let new_text = edit::remove_edge(&loaded.source, &loaded.file, &args.name)?;
    if fleet.cluster(&args.name).is_none_or(|c| c.role != Role::Edge) {
        return Err(Error::Usage(format!("{} is not an edge of fleet {name:?}", args.name)));
    }
    let client = ctx.require_linode("remove-edge")?;
    if !ctx.yes {
        if !prompt::can_ask() {
            return Err(Error::Usage(
                "remove-edge deletes a cluster: pass --yes when stdin is not a terminal".into(),
            ));
        }
        let answer = prompt::ask(&format!(
            "Delete edge {:?} of fleet {name:?} and its cluster? Type its name to confirm: ",
            args.name
        ))
        .map_err(|e| Error::io("read the confirmation", e))?;
        if answer != args.name {
            return Err(Error::Usage("the name did not match: nothing was deleted".into()));
        }
    }
    let deadline = ctx.deadline().unwrap_or_else(|| Instant::now() + DEFAULT_BUDGET);
    let label = naming::cluster_label(&name, &args.name);
    let mut report = Report {
        fleet: name.clone(),
        edge: args.name.clone(),
        cluster: None,
        swept_nodebalancers: Vec::new(),
        swept_volumes: Vec::new(),
        firewall_removed: Vec::new(),
        fleet_file: loaded.file.clone(),
        notes: Vec::new(),
        api_calls: Default::default(),
    };
    let found = client
        .list_lke_clusters(Some(&crate::linode::Filter::label(&label)))
        .await?;
    if let Some(c) = found.into_iter().find(|c| c.label == label) {
        if !is_ours(&c.tags, &name) {
            return Err(Error::Conflict(format!(
                "cluster {label} (id {}) is not tagged as this fleet's: not ours, not deleted",
                c.id
            )));
        }
        let nodes = node_ids(&client, c.id).await?;
        drain(&client, &c, &name, deadline, &mut report.notes).await;
        client.delete_lke_cluster(c.id).await?;
        wait_gone(&client, &nodes, deadline).await?;
        // Only what belonged to this cluster: the hub's tagged volumes stay.
        let owned = Owned {
            fleet: None,
            clusters: BTreeSet::from([c.id]),
            nodes,
        };
        (report.swept_nodebalancers, report.swept_volumes) = sweep(&client, &owned).await?;
        report.cluster = Some(c.id);
    } else {
        report
            .notes
            .push(format!("cluster {label} does not exist (already removed)"));
    }
    // The firewall follows the remaining edges.
    if fleet.security.gateway_firewall {
        let remaining = crate::fleet::parse(&loaded.file, &new_text)?;
        let observed = discover::observe(&client, &remaining.fleet).await?;
        if let Some(fw) = &observed.firewall {
            let edges: Vec<_> = observed
                .clusters
                .iter()
                .filter(|o| {
                    remaining
                        .fleet
                        .edges
                        .iter()
                        .any(|e| naming::cluster_label(&name, e.name.get_ref()) == o.cluster.label)
                })
                .flat_map(|o| o.node_ipv4.iter().copied())
                .collect();
            let wanted = firewall::gateway_rules(&edges).map_err(|e| Error::Conflict(e.to_string()))?;
            let current = fw.rules.as_ref().map(|r| r.rules.clone());
            if !current.as_ref().is_some_and(|c| firewall::matches(c, &wanted)) {
                let have = current.as_ref().map(firewall::allowed_ips).unwrap_or_default();
                report.firewall_removed = have.difference(&firewall::allowed_ips(&wanted)).cloned().collect();
                client.put_firewall_rules(fw.id, &wanted).await?;
            }
        }
    }
    let context = naming::context_name(&name, &args.name);
    if let Some(path) = &ctx.paths.kubeconfig {
        kubeconfig::remove_from_file(path, &[context.as_str()])?;
    }
    edit::write_fleet_file(&ctx.fleet_path, &new_text)?;
    report.api_calls = ctx.api_calls();
    Ok(report)
}
