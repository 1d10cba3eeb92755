//! The Linode side of one cluster in `up`: the plan's writes for it sent in the plan's order — created
//! (idempotently, by label) or updated, its pools created, resized or replaced — and the pool deletions
//! the plan holds until the nodes are Ready. Nothing here reads the fleet: every body is the plan's.

use super::done::{Done, linode_records};
use crate::linode::Client;
use crate::plan::{ClusterPlan, LinodeWrite};

/// What the Linode side of a cluster looks like after [`ensure`].
#[derive(Debug, Clone)]
pub(super) struct Ensured {
    pub id: u64,
    /// Created by this run: its stack is applied without a dry run first.
    pub created: bool,
    /// Pools were created, resized or are to be deleted: node addresses must be listed again.
    pub pools_changed: bool,
    /// What was changed, for the report.
    pub done: Vec<Done>,
}

/// Sends the plan's writes up to the first that waits for Ready nodes (pool deletions: see
/// [`delete_after_ready`]).
pub(super) async fn ensure(client: &Client, plan: &ClusterPlan) -> Result<Ensured, crate::Error> {
    let mut out = Ensured {
        id: plan.id.unwrap_or_default(),
        created: false,
        pools_changed: false,
        done: linode_records(plan),
    };
    for write in plan.writes.iter().filter(|w| !w.after_nodes_ready()) {
        match write {
            LinodeWrite::CreateCluster(body) => {
                out.id = client.create_lke_cluster_idempotent(body).await?.id;
                out.created = true;
                out.pools_changed = true;
            }
            LinodeWrite::UpdateCluster(body) => {
                client.update_lke_cluster(out.id, body).await?;
            }
            LinodeWrite::PutAcl(acl) => {
                client.update_control_plane_acl(out.id, acl).await?;
            }
            LinodeWrite::CreatePool(spec) => {
                client.create_node_pool(out.id, spec).await?;
                out.pools_changed = true;
            }
            LinodeWrite::UpdatePool { pool, body } => {
                client.update_node_pool(out.id, *pool, body).await?;
                out.pools_changed = true;
            }
            LinodeWrite::DeletePool { .. } => {}
        }
    }
    out.pools_changed |= plan.writes.iter().any(LinodeWrite::after_nodes_ready);
    if out.id == 0 {
        return Err(crate::Error::Internal(format!(
            "the plan of cluster {} neither creates it nor names its id",
            plan.label
        )));
    }
    Ok(out)
}

/// Whether the plan holds pool deletions for after the nodes are Ready.
pub(super) fn deletes_after_ready(plan: &ClusterPlan) -> bool {
    plan.writes.iter().any(LinodeWrite::after_nodes_ready)
}

/// Sends the plan's writes that wait for Ready nodes: the replaced pools and those the fleet dropped go,
/// the new pools carrying the load now.
pub(super) async fn delete_after_ready(client: &Client, id: u64, plan: &ClusterPlan) -> Result<(), crate::Error> {
    for write in &plan.writes {
        if let LinodeWrite::DeletePool { pool } = write {
            client.delete_node_pool(id, *pool).await?;
        }
    }
    Ok(())
}
