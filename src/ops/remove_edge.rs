//! `remove-edge`: teardown for one edge. First its gateway credential is revoked in the hub (security.mtls),
//! so its certificate alone no longer gets data in; then the ordered delete teardown uses (LoadBalancer
//! Services and PVCs while it runs, the cluster, its node Linodes gone, its leftovers swept); then the
//! gateway firewall re-synced to the remaining edges, its kubeconfig entry removed, and its table removed
//! from the fleet file (last, so a re-run after any failure resumes).

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::fleet::{Role, edit};
use crate::ops::connect::connect;
use crate::ops::sweep::delete_in_order;
use crate::ops::{Ctx, edge_auth, gateway_firewall};
use crate::plan::is_ours;
use crate::ui::prompt;
use crate::{Error, kubeconfig, naming};

/// Which edge `remove-edge` removes.
#[derive(Debug, Clone)]
pub struct Options {
    pub name: String,
}

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
    /// The edge's gateway credential was dropped from the hub (security.mtls) and the gateway restarted.
    pub credential_revoked: bool,
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
        if self.credential_revoked {
            t.push_str("  gateway credential revoked in the hub; gateway restarted\n");
        }
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
pub async fn run(ctx: &Ctx, args: &Options) -> Result<Report, Error> {
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
        credential_revoked: false,
        fleet_file: loaded.file.clone(),
        notes: Vec::new(),
        api_calls: Default::default(),
    };
    if fleet.security.mtls {
        report.credential_revoked = revoke_credential(&client, fleet, &args.name, &mut report.notes).await?;
    }
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
        // Only what belonged to this cluster: the hub's tagged volumes stay.
        let deleted = delete_in_order(&client, &name, std::slice::from_ref(&c), false, deadline).await?;
        report.notes.extend(deleted.notes);
        (report.swept_nodebalancers, report.swept_volumes) = (deleted.swept_nodebalancers, deleted.swept_volumes);
        report.cluster = Some(c.id);
    } else {
        report
            .notes
            .push(format!("cluster {label} does not exist (already removed)"));
    }
    // The firewall follows the remaining edges.
    if fleet.security.gateway_firewall {
        let remaining = crate::fleet::parse(&loaded.file, &new_text)?;
        if let Some(change) = gateway_firewall::resync(&client, &remaining.fleet).await? {
            report.firewall_removed = change.removed;
        }
    }
    let context = naming::context_name(&name, &args.name);
    let servers = ctx
        .paths
        .fleet_state(&name)
        .map(|d| kubeconfig::servers_in_file(&d.join("kubeconfig"), &[context.as_str()]))
        .unwrap_or_default();
    if let Some(path) = &ctx.paths.kubeconfig {
        kubeconfig::remove_from_file(path, &[context.as_str()], &servers)?;
    }
    edit::write_fleet_file(&ctx.fleet_path, &new_text)?;
    report.api_calls = ctx.api_calls();
    Ok(report)
}

/// Drops the edge's gateway credential in the hub and restarts the gateway, before anything is deleted;
/// true once the hub holds none for it and the gateway has restarted.
/// A hub that exists but cannot be reached stops the command: deleting the cluster while its certificate
/// and password still work would look like a revocation without being one. No hub: nothing to revoke.
async fn revoke_credential(
    client: &crate::linode::Client,
    fleet: &crate::fleet::Fleet,
    edge: &str,
    notes: &mut Vec<String>,
) -> Result<bool, Error> {
    let (stateful, hub) = (fleet.stack.persistent_queue.is_some(), fleet.hub.name.get_ref());
    let fleet = fleet.name();
    let label = naming::cluster_label(fleet, hub);
    let found = client
        .list_lke_clusters(Some(&crate::linode::Filter::label(&label)))
        .await?;
    let Some(c) = found.into_iter().find(|c| c.label == label && is_ours(&c.tags, fleet)) else {
        notes.push(format!(
            "the hub ({label}) does not exist: no gateway credential to revoke"
        ));
        return Ok(false);
    };
    let unreachable = |why: String| {
        Error::Cluster(format!(
            "cannot revoke edge {edge}'s gateway credential in the hub ({label}): {why}; nothing was deleted. \
             Fix that and re-run: until then the edge's certificate and password still get data in"
        ))
    };
    let k8s = connect(client, c.id).await?.map_err(unreachable)?;
    let change = edge_auth::revoke(&k8s, fleet, edge)
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    if change.revoked.is_empty() {
        notes.push(format!(
            "the hub held no gateway credential for {edge} (already revoked)"
        ));
    }
    // Always, even when a previous run already dropped the entry: that run may have failed before the
    // restart, and the gateway reads its htpasswd file only at start.
    edge_auth::restart_gateway(&k8s, stateful, "edge credential revoked")
        .await
        .map_err(|e| unreachable(e.to_string()))?;
    Ok(true)
}
