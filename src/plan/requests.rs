//! The Linode requests the plan makes `up` send, built here once: the cluster create and update bodies
//! (tags, HA, ACL, version), each pool's create, update or delete by pool id, the control-plane ACL and the
//! gateway firewall's create body, and the bodies of the upgrade engine's steps (decided from the cluster
//! as read between steps, so a cut-off upgrade resumes). `up` sends these and nothing else.

use std::time::Duration;

use serde_json::Value;

use super::ObservedCluster;
use super::is_ours;
use crate::fleet::{Cluster, Fleet, Pool};
use crate::linode::{
    AclAddresses, Autoscaler, ControlPlaneAcl, ControlPlaneAclBody, ControlPlaneSpec, CreateFirewall, CreateLkeCluster,
    NodePoolSpec, UpdateLkeCluster, UpdateNodePool,
};
use crate::naming;
use crate::stack::context::split_cidrs;

/// One Linode write of a cluster, in the order `up` sends them. Pool deletions come last: they wait until
/// the cluster's nodes (those of the new pools among them) are Ready.
#[derive(Debug, Clone, PartialEq)]
pub enum LinodeWrite {
    /// `POST /lke/clusters` (idempotent by label).
    CreateCluster(CreateLkeCluster),
    /// `PUT /lke/clusters/{id}`.
    UpdateCluster(UpdateLkeCluster),
    /// `PUT /lke/clusters/{id}/control_plane_acl`.
    PutAcl(ControlPlaneAcl),
    /// `POST /lke/clusters/{id}/pools`.
    CreatePool(NodePoolSpec),
    /// `PUT /lke/clusters/{id}/pools/{pool}`.
    UpdatePool { pool: u64, body: UpdateNodePool },
    /// `DELETE /lke/clusters/{id}/pools/{pool}`, once the nodes are Ready.
    DeletePool { pool: u64 },
}

impl LinodeWrite {
    /// Whether it waits until the cluster's nodes are Ready.
    pub fn after_nodes_ready(&self) -> bool {
        matches!(self, LinodeWrite::DeletePool { .. })
    }

    /// The HTTP request it is for cluster `id`: method, path and JSON body (`Null`: none).
    pub fn http(&self, id: u64) -> (&'static str, String, Value) {
        let json = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
        match self {
            LinodeWrite::CreateCluster(b) => ("POST", "/lke/clusters".into(), json(serde_json::to_value(b))),
            LinodeWrite::UpdateCluster(b) => ("PUT", format!("/lke/clusters/{id}"), json(serde_json::to_value(b))),
            LinodeWrite::PutAcl(acl) => (
                "PUT",
                format!("/lke/clusters/{id}/control_plane_acl"),
                json(serde_json::to_value(ControlPlaneAclBody { acl: acl.clone() })),
            ),
            LinodeWrite::CreatePool(b) => (
                "POST",
                format!("/lke/clusters/{id}/pools"),
                json(serde_json::to_value(b)),
            ),
            LinodeWrite::UpdatePool { pool, body } => (
                "PUT",
                format!("/lke/clusters/{id}/pools/{pool}"),
                json(serde_json::to_value(body)),
            ),
            LinodeWrite::DeletePool { pool } => ("DELETE", format!("/lke/clusters/{id}/pools/{pool}"), Value::Null),
        }
    }
}

/// The fleet's expiry (unix seconds) when it has a `ttl`: the one its clusters already carry, else `now` + ttl.
pub fn expiry(fleet: &Fleet, observed: &super::Observed, now: Duration) -> Result<Option<u64>, String> {
    let Some(ttl) = &fleet.fleet.ttl else {
        return Ok(None);
    };
    let existing = observed
        .clusters
        .iter()
        .filter(|o| is_ours(&o.cluster.tags, fleet.name()))
        .flat_map(|o| o.cluster.tags.iter())
        .filter_map(|t| naming::parse_expires_tag(t))
        .min();
    if existing.is_some() {
        return Ok(existing);
    }
    let ttl = crate::fleet::duration::parse(ttl.get_ref())?;
    Ok(Some((now + ttl).as_secs()))
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
pub fn pool_spec(p: &Pool) -> NodePoolSpec {
    let mut spec = NodePoolSpec::new(p.node_type.get_ref().clone(), *p.count.get_ref());
    spec.autoscaler = autoscaler(p);
    spec.labels = super::node_labels(p);
    spec.taints = super::node_taints(p);
    spec
}

/// The update body that brings an existing pool to `want`: the count without the autoscaler (with it, the
/// count is the autoscaler's), the autoscaler when it changes, labels and taints when they differ (each
/// replaces the whole list: an empty one removes them all).
pub fn pool_update(want: &Pool, plan: &super::PoolPlan) -> UpdateNodePool {
    UpdateNodePool {
        count: want.autoscale.is_none().then(|| *want.count.get_ref()),
        autoscaler: plan
            .changes
            .iter()
            .any(|c| matches!(c, super::PoolChange::Autoscale { .. }))
            .then(|| {
                autoscaler(want).unwrap_or(Autoscaler {
                    enabled: false,
                    min: plan.count.max(1),
                    max: plan.count.max(1),
                })
            }),
        labels: plan.labels_before.is_some().then(|| plan.labels.clone()),
        taints: plan.taints_before.is_some().then(|| plan.taints.clone()),
        ..Default::default()
    }
}

/// The fleet's control-plane ACL (enforced), or `None` when it lists no network.
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

/// The ACL a change puts: the fleet's, or one turned off (default allow) when it empties `control_plane_acl`.
pub fn acl_body(fleet: &Fleet) -> ControlPlaneAcl {
    fleet_acl(fleet).unwrap_or(ControlPlaneAcl {
        enabled: Some(false),
        addresses: Some(AclAddresses {
            ipv4: Some(Vec::new()),
            ipv6: None,
        }),
        revision_id: None,
    })
}

/// `tags` plus the expiry tag, when the fleet has a `ttl`.
fn with_expiry(mut tags: Vec<String>, expires: Option<u64>) -> Vec<String> {
    if let Some(t) = expires {
        tags.push(naming::expires_tag(t));
    }
    tags
}

/// The create body of a cluster.
pub fn create_cluster(fleet: &Fleet, c: &Cluster, expires: Option<u64>) -> CreateLkeCluster {
    CreateLkeCluster {
        label: naming::cluster_label(fleet.name(), c.name.get_ref()),
        region: c.region.get_ref().clone(),
        k8s_version: fleet.fleet.k8s_version.get_ref().clone(),
        node_pools: c.pools.iter().map(pool_spec).collect(),
        tags: with_expiry(
            naming::cluster_tags(fleet.name(), c.role.as_str(), &fleet.user_tags()),
            expires,
        ),
        control_plane: Some(ControlPlaneSpec {
            high_availability: Some(*c.high_availability.get_ref()),
            acl: fleet_acl(fleet),
        }),
        tier: None,
    }
}

/// The update an existing cluster needs (None: nothing). Tags are only added (the expiry and any tag a
/// person added stay); HA only turns on. The version is not moved here: the upgrade stage moves it, in the
/// fleet's upgrade order.
pub fn update_cluster(
    fleet: &Fleet,
    c: &Cluster,
    have: &ObservedCluster,
    ha_on: bool,
    expires: Option<u64>,
) -> Option<UpdateLkeCluster> {
    let mut req = UpdateLkeCluster::default();
    let mut tags = have.cluster.tags.clone();
    for t in naming::cluster_tags(fleet.name(), c.role.as_str(), &fleet.user_tags()) {
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
    if ha_on {
        req.control_plane = Some(ControlPlaneSpec {
            high_availability: Some(true),
            acl: None,
        });
    }
    (req != UpdateLkeCluster::default()).then_some(req)
}

/// The cluster update that enables an ACL on a cluster without one (LKE's "upgraded to use it").
pub fn enable_acl(fleet: &Fleet) -> UpdateLkeCluster {
    UpdateLkeCluster {
        control_plane: Some(ControlPlaneSpec {
            high_availability: None,
            acl: Some(acl_body(fleet)),
        }),
        ..UpdateLkeCluster::default()
    }
}

/// The create body of the gateway firewall: the rules for the edge addresses known now, the fleet's tags.
pub fn create_firewall(fleet: &Fleet, rules: crate::linode::FirewallRules, expires: Option<u64>) -> CreateFirewall {
    CreateFirewall {
        label: naming::firewall_label(fleet.name()),
        rules,
        tags: with_expiry(naming::fleet_tags(fleet.name(), &fleet.user_tags()), expires),
        devices: None,
    }
}

/// The upgrade's control-plane step: the new version (unless the cluster runs it) with the tag that marks
/// the upgrade in progress, in one PUT; `None` when both are there already.
pub fn upgrade_control_plane(tags: &[String], version: &str, to: &str) -> Option<UpdateLkeCluster> {
    let tag = naming::upgrade_tag(to);
    let moves = version != to;
    if !moves && tags.contains(&tag) {
        return None;
    }
    let mut tags = tags.to_vec();
    if !tags.contains(&tag) {
        tags.push(tag);
    }
    Some(UpdateLkeCluster {
        tags: Some(tags),
        k8s_version: moves.then(|| to.to_string()),
        ..UpdateLkeCluster::default()
    })
}

/// The upgrade's last step: the tags without the in-progress one; `None` when none is there.
pub fn upgrade_untag(tags: &[String]) -> Option<UpdateLkeCluster> {
    let kept: Vec<String> = tags
        .iter()
        .filter(|t| naming::parse_upgrade_tag(t).is_none())
        .cloned()
        .collect();
    (kept.len() != tags.len()).then(|| UpdateLkeCluster {
        tags: Some(kept),
        ..UpdateLkeCluster::default()
    })
}

/// A pool's surge during a node replacement: one node more than it holds, so a new one is Ready before an
/// old one goes.
pub fn upgrade_surge(count: u32) -> UpdateNodePool {
    UpdateNodePool {
        count: Some(count),
        ..UpdateNodePool::default()
    }
}

#[cfg(test)]
mod upgrade_tests {
    use super::*;

    #[test]
    fn the_control_plane_step_moves_and_tags_once_then_is_done() {
        let tag = naming::upgrade_tag("1.34");
        let first = upgrade_control_plane(&["team".into()], "1.33", "1.34").expect("a PUT");
        assert_eq!(first.k8s_version.as_deref(), Some("1.34"));
        assert_eq!(first.tags, Some(vec!["team".to_string(), tag.clone()]));
        // Moved, not yet tagged (a cut-off run): the tag only.
        let tag_only = upgrade_control_plane(&["team".into()], "1.34", "1.34").expect("a PUT");
        assert_eq!(tag_only.k8s_version, None);
        assert_eq!(
            upgrade_control_plane(&["team".into(), tag.clone()], "1.34", "1.34"),
            None
        );
        assert_eq!(upgrade_untag(&["team".into()]), None);
        let untag = upgrade_untag(&["team".into(), tag]).expect("a PUT");
        assert_eq!(untag.tags, Some(vec!["team".to_string()]));
        assert_eq!(upgrade_surge(4).count, Some(4));
    }
}
