//! The plan: what `up` would do to reach the fleet file from what exists (offline: an empty account).
//! Pure: discovery happens in `ops`; this module only compares.

mod build;
mod change;
pub mod cost;
pub mod destinations;
pub mod hub_switch;
mod pools;
pub mod receivers;
mod requests;

pub use build::{Observed, ObservedCluster, SeenAcl, is_ours, offline, online, version_step};
pub use change::{ClusterChange, PoolChange};
pub use pools::{node_labels, node_taints};
pub use requests::{LinodeWrite, expiry, upgrade_control_plane, upgrade_surge, upgrade_untag};

use std::collections::BTreeMap;

use serde::Serialize;

use crate::fleet::spec::Autoscale;
use crate::k8s::Replacement;
use crate::linode::Taint;
use crate::objects::ObjectRef;

/// What happens to one thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Adopt,
    Update,
    /// A pool whose type changed: create the new one, then delete the old one. A Kubernetes object
    /// whose immutable fields change: delete it, then apply it (see `ObjectPlan::replace`).
    Replace,
    Unchanged,
    Delete,
}

impl Action {
    pub fn is_change(self) -> bool {
        !matches!(self, Action::Unchanged | Action::Adopt)
    }

    pub fn sigil(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Adopt => "=",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Unchanged => " ",
            Action::Delete => "-",
        }
    }
}

/// What the plan was made against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanMode {
    /// An empty account, without the API.
    Offline,
    /// The Linode account as discovered.
    Online,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// False when `problems` stop `up`.
    pub ok: bool,
    pub fleet: String,
    /// `offline`: planned against an empty account; `online`: against what the API reports.
    pub mode: PlanMode,
    pub clusters: Vec<ClusterPlan>,
    pub firewall: Option<FirewallPlan>,
    /// How many actions change something; 0 means `up` would do nothing.
    pub changes: usize,
    /// What stops `up` (e.g. a cluster with our label but not our tags). Any problem makes `plan` fail.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Facts worth knowing that change nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Each `[[destinations]]` entry against what the hub's gateway runs: new or moved ones need review.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<destinations::DestinationReview>,
    /// Each `[alerts]` receiver against what the hub's Alertmanager runs: new or moved ones need review.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub receivers: Vec<receivers::ReceiverReview>,
    /// Upgrades `up` will not carry out, each with why and what to change (a PodDisruptionBudget that
    /// can never let a pod go): that cluster is left as it is while the others upgrade. Text: `warning:`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_upgrades: Vec<String>,
    /// The hub switches storage mode (`up` refuses it without `--accept-new-hub-storage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_mode_switch: Option<hub_switch::HubModeSwitch>,
    /// The fleet's expiry (unix seconds) that new resources are tagged with, when it has a `ttl`.
    #[serde(skip)]
    pub expires: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterPlan {
    pub action: Action,
    /// The LKE cluster id, when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub name: String,
    pub role: &'static str,
    pub label: String,
    pub region: String,
    pub k8s_version: String,
    pub high_availability: bool,
    pub tags: Vec<String>,
    /// What an update changes (`up` executes these by variant).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ClusterChange>,
    pub pools: Vec<PoolPlan>,
    /// The control-plane ACL of an existing cluster, when it differs from the fleet file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acl: Option<AclChange>,
    /// Whether `objects` was compared with the cluster (false: the cluster exists and its
    /// objects are not listed; comparing them needs the Kubernetes layer).
    pub objects_compared: bool,
    pub objects: Vec<ObjectPlan>,
    /// The Linode requests `up` sends for this cluster, in order (pool deletions last, after nodes Ready).
    #[serde(skip)]
    pub writes: Vec<LinodeWrite>,
}

impl ClusterPlan {
    /// The nodes `up` waits for: each pool's count (with the autoscaler, at least its minimum); pools to
    /// delete do not count.
    pub fn expected_nodes(&self) -> usize {
        self.pools
            .iter()
            .filter(|p| p.action != Action::Delete)
            .map(|p| match &p.autoscale {
                Some(a) => a.min as usize,
                None => p.count as usize,
            })
            .sum()
    }
}

/// A change of an existing cluster's control-plane ACL (`up` puts the fleet's list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AclChange {
    /// Networks enforced now (empty: no ACL enforced, or none on the cluster when `via` is `cluster_update`).
    pub from: Vec<String>,
    /// Networks the fleet file lists (empty: the ACL is turned off).
    pub to: Vec<String>,
    /// Which request makes the change.
    pub via: AclVia,
}

/// The request that changes a cluster's control-plane ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AclVia {
    /// `PUT /lke/clusters/{id}` with `control_plane.acl`: the cluster has no ACL yet and is upgraded to use one.
    ClusterUpdate,
    /// `PUT /lke/clusters/{id}/control_plane_acl`: the cluster has an ACL.
    AclEndpoint,
}

impl AclChange {
    /// `203.0.113.0/24 → 198.51.100.0/24, 203.0.113.0/24`, `none → … (enabled on the cluster)`, `… → off`.
    pub fn describe(&self) -> String {
        let side = |v: &[String]| if v.is_empty() { "off".to_string() } else { v.join(", ") };
        match self.via {
            AclVia::ClusterUpdate => format!("none → {} (enabled on the cluster)", side(&self.to)),
            AclVia::AclEndpoint => format!("{} → {}", side(&self.from), side(&self.to)),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PoolPlan {
    pub action: Action,
    /// The pool id, when it exists (for a replacement: the old pool's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(rename = "type")]
    pub node_type: String,
    pub count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
    /// GPU pools are labelled `lkeobs.io/gpu` (no taint of ours).
    pub gpu: bool,
    /// The Kubernetes labels the pool's nodes get: lkeobs' GPU label and the fleet file's own.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The node taints: the fleet file's only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
    /// For an existing pool whose labels differ from `labels`: what it has now (an update replaces them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels_before: Option<BTreeMap<String, String>>,
    /// For an existing pool whose taints differ from `taints`: what it has now (an update replaces them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taints_before: Option<Vec<Taint>>,
    /// What an update or replacement changes besides labels and taints (`up` executes these by variant).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<PoolChange>,
    /// The create or update request of this pool (a deletion is the cluster's last writes).
    #[serde(skip)]
    pub write: Option<LinodeWrite>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectPlan {
    pub action: Action,
    #[serde(flatten)]
    pub object: ObjectRef,
    /// Why it exists, for objects `up` generates rather than renders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
    /// For an update: the changed field paths (e.g. `spec.template`); for a replacement, the fields
    /// the server will not change in place.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// For a replacement: how `up` replaces the object, or that it refuses to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace: Option<Replacement>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FirewallPlan {
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    pub label: String,
    pub inbound_policy: &'static str,
    pub outbound_policy: &'static str,
    pub rule: &'static str,
    pub tags: Vec<String>,
    /// Edge node addresses the rules gain or lose.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    /// Edges whose node addresses are added once their nodes exist.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending_edges: Vec<String>,
    /// The create request, when the firewall does not exist: the rules for the edge addresses known now.
    #[serde(skip)]
    pub create: Option<crate::linode::CreateFirewall>,
}

impl Plan {
    pub(crate) fn count_changes(&self) -> usize {
        let mut n = 0;
        for c in &self.clusters {
            n += usize::from(c.action.is_change());
            // An existing cluster whose stack could not be compared gets the whole stack applied.
            n += usize::from(c.id.is_some() && !c.objects_compared);
            n += c.pools.iter().filter(|p| p.action.is_change()).count();
            n += c.objects.iter().filter(|o| o.action.is_change()).count();
        }
        n + self.firewall.iter().filter(|f| f.action.is_change()).count()
    }
}
