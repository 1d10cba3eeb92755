//! The Linode side of one cluster in `up`: create it (idempotently, by label) or bring an adopted one up to
//! date (version, HA, tags), and reconcile its pools: resized in place, new pools before old ones go.

use crate::fleet::{Cluster, Fleet, Pool};
use crate::linode::{
    AclAddresses, Autoscaler, Client, ControlPlaneAcl, ControlPlaneSpec, CreateLkeCluster, NodePoolSpec,
    UpdateLkeCluster, UpdateNodePool,
};
use crate::naming;
use crate::plan::{
    AclVia, Action, ClusterChange, ClusterPlan, ObservedCluster, PoolChange, PoolPlan, node_labels, node_taints,
};
use crate::stack::context::split_cidrs;

/// What the Linode side of a cluster looks like after [`ensure`].
#[derive(Debug, Clone)]
pub(super) struct Ensured {
    pub id: u64,
    /// Created by this run: its stack is applied without a dry run first.
    pub created: bool,
    /// Pools were created, resized or are to be deleted: node addresses must be listed again.
    pub pools_changed: bool,
    /// Pools to delete once the new ones' nodes are Ready (type changes, pools the fleet dropped).
    pub delete_after_ready: Vec<u64>,
    /// What was changed, for the report.
    pub changes: Vec<String>,
}

fn autoscaler(p: &Pool) -> Option<Autoscaler> {
    p.autoscale.as_ref().map(|a| Autoscaler {
        enabled: true,
        min: a.get_ref().min,
        max: a.get_ref().max,
    })
}

/// The create body of one pool: GPU pools are labelled `lkeobs.io/gpu` (the DCGM exporter's node selector),
/// with the fleet file's own labels and taints; lkeobs taints nothing.
pub(super) fn pool_spec(p: &Pool) -> NodePoolSpec {
    let mut spec = NodePoolSpec::new(p.node_type.get_ref().clone(), *p.count.get_ref());
    spec.autoscaler = autoscaler(p);
    spec.labels = node_labels(p);
    spec.taints = node_taints(p);
    spec
}

/// The nodes `up` waits for: each pool's count (with the autoscaler, at least its minimum).
pub(super) fn expected_nodes(c: &Cluster) -> usize {
    c.pools
        .iter()
        .map(|p| match &p.autoscale {
            Some(a) => a.get_ref().min as usize,
            None => *p.count.get_ref() as usize,
        })
        .sum()
}

/// The fleet's control-plane ACL (enforced), or None when it lists no network.
fn fleet_acl(fleet: &Fleet) -> Option<ControlPlaneAcl> {
    let acl: Vec<String> = fleet
        .security
        .control_plane_acl
        .iter()
        .map(|s| s.get_ref().clone())
        .collect();
    (!acl.is_empty()).then(|| {
        let (v4, v6) = split_cidrs(&acl);
        ControlPlaneAcl {
            enabled: Some(true),
            addresses: Some(AclAddresses {
                ipv4: Some(v4),
                ipv6: (!v6.is_empty()).then_some(v6),
            }),
            revision_id: None,
        }
    })
}

/// An ACL turned off (default allow), for a fleet file that empties `control_plane_acl`.
fn acl_off() -> ControlPlaneAcl {
    ControlPlaneAcl {
        enabled: Some(false),
        addresses: Some(AclAddresses {
            ipv4: Some(Vec::new()),
            ipv6: None,
        }),
        revision_id: None,
    }
}

fn control_plane(fleet: &Fleet, c: &Cluster) -> ControlPlaneSpec {
    ControlPlaneSpec {
        high_availability: Some(*c.high_availability.get_ref()),
        acl: fleet_acl(fleet),
    }
}

/// The create body of a cluster.
pub(super) fn create_request(fleet: &Fleet, c: &Cluster, plan: &ClusterPlan, expires: Option<u64>) -> CreateLkeCluster {
    let mut tags = plan.tags.clone();
    if let Some(t) = expires {
        tags.push(naming::expires_tag(t));
    }
    CreateLkeCluster {
        label: plan.label.clone(),
        region: c.region.get_ref().clone(),
        k8s_version: fleet.fleet.k8s_version.get_ref().clone(),
        node_pools: c.pools.iter().map(pool_spec).collect(),
        tags,
        control_plane: Some(control_plane(fleet, c)),
        tier: None,
    }
}

/// The update an adopted cluster needs (None: nothing). Tags are only added (the expiry and any tag a
/// person added stay); HA only turns on. The version is not moved here: see `ops::upgrade`.
pub(super) fn update_request(
    fleet: &Fleet,
    c: &Cluster,
    plan: &ClusterPlan,
    have: &ObservedCluster,
    expires: Option<u64>,
) -> Option<UpdateLkeCluster> {
    if plan.action != Action::Update {
        return None;
    }
    // The Kubernetes version moves in the upgrade stage, in the fleet's upgrade order (`ops::upgrade`).
    let mut req = UpdateLkeCluster::default();
    let want_tags = naming::cluster_tags(fleet.name(), c.role.as_str(), &fleet.user_tags());
    let mut tags = have.cluster.tags.clone();
    for t in want_tags {
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    if let Some(t) = expires
        && !tags.iter().any(|x| naming::parse_expires_tag(x).is_some())
    {
        tags.push(naming::expires_tag(t));
    }
    if tags != have.cluster.tags {
        req.tags = Some(tags);
    }
    // The plan says whether HA turns on (it only ever turns on).
    if plan.changes.contains(&ClusterChange::HighAvailabilityOn) {
        req.control_plane = Some(ControlPlaneSpec {
            high_availability: Some(true),
            acl: None,
        });
    }
    (req != UpdateLkeCluster::default()).then_some(req)
}

fn pool_update(want: &Pool, p: &PoolPlan) -> UpdateNodePool {
    UpdateNodePool {
        // With the autoscaler on, the count is its business: sending one would undo its work.
        count: want.autoscale.is_none().then(|| *want.count.get_ref()),
        autoscaler: p
            .changes
            .iter()
            .any(|c| matches!(c, PoolChange::Autoscale { .. }))
            .then(|| {
                autoscaler(want).unwrap_or(Autoscaler {
                    enabled: false,
                    min: p.count.max(1),
                    max: p.count.max(1),
                })
            }),
        // Each replaces the whole list (an empty one removes them all, e.g. the taint lkeobs once set).
        labels: p.labels_before.is_some().then(|| p.labels.clone()),
        taints: p.taints_before.is_some().then(|| p.taints.clone()),
        ..Default::default()
    }
}

/// Creates or updates the cluster and its pools. Old pools are not deleted here (see `delete_after_ready`).
pub(super) async fn ensure(
    client: &Client,
    fleet: &Fleet,
    c: &Cluster,
    plan: &ClusterPlan,
    have: Option<&ObservedCluster>,
    expires: Option<u64>,
) -> Result<Ensured, crate::Error> {
    let Some(have) = have else {
        let created = client
            .create_lke_cluster_idempotent(&create_request(fleet, c, plan, expires))
            .await?;
        return Ok(Ensured {
            id: created.id,
            created: true,
            pools_changed: true,
            delete_after_ready: Vec::new(),
            changes: vec!["created".into()],
        });
    };
    let id = have.cluster.id;
    let mut out = Ensured {
        id,
        created: false,
        pools_changed: false,
        delete_after_ready: Vec::new(),
        changes: plan.changes.iter().map(ClusterChange::describe).collect(),
    };
    if let Some(req) = update_request(fleet, c, plan, have, expires) {
        client.update_lke_cluster(id, &req).await?;
    }
    if let Some(change) = &plan.acl {
        let acl = fleet_acl(fleet).unwrap_or_else(acl_off);
        match change.via {
            AclVia::ClusterUpdate => {
                let enable = UpdateLkeCluster {
                    control_plane: Some(ControlPlaneSpec {
                        high_availability: None,
                        acl: Some(acl),
                    }),
                    ..UpdateLkeCluster::default()
                };
                client.update_lke_cluster(id, &enable).await?;
            }
            AclVia::AclEndpoint => {
                client.update_control_plane_acl(id, &acl).await?;
            }
        }
        out.changes.push(format!("control-plane ACL {}", change.describe()));
    }
    // Pool plans follow the fleet's pool order; deletions come after.
    let mut wanted = c.pools.iter();
    for p in &plan.pools {
        let want = if p.action == Action::Delete {
            None
        } else {
            wanted.next()
        };
        match (p.action, want) {
            (Action::Create, Some(w)) => {
                client.create_node_pool(id, &pool_spec(w)).await?;
                out.changes
                    .push(format!("pool {} × {} created", w.count.get_ref(), p.node_type));
            }
            (Action::Update, Some(w)) => {
                if let Some(pid) = p.id {
                    client.update_node_pool(id, pid, &pool_update(w, p)).await?;
                    out.changes.push(format!("pool {pid}: {}", p.change_lines().join(", ")));
                }
            }
            (Action::Replace, Some(w)) => {
                client.create_node_pool(id, &pool_spec(w)).await?;
                out.delete_after_ready.extend(p.id);
                out.changes.push(format!("pool {}", p.change_lines().join(", ")));
            }
            (Action::Delete, _) => {
                out.delete_after_ready.extend(p.id);
                out.changes
                    .push(format!("pool {} ({}) deleted", p.id.unwrap_or_default(), p.node_type));
            }
            _ => continue,
        }
        out.pools_changed = true;
    }
    Ok(out)
}
