//! The plan: what `up` would do to reach the fleet file from what exists. Offline, what exists is an empty account.

use serde::Serialize;

use crate::fleet::spec::Autoscale;
use crate::fleet::{Cluster, Fleet};
use crate::naming;
use crate::stack::{Inputs, ObjectRef, Renderer, secrets};

/// What happens to one thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Adopt,
    Update,
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
            Action::Unchanged => " ",
            Action::Delete => "-",
        }
    }
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub fleet: String,
    /// `offline`: planned against an empty account.
    pub mode: &'static str,
    pub clusters: Vec<ClusterPlan>,
    pub firewall: Option<FirewallPlan>,
    /// How many actions change something; 0 means `up` would do nothing.
    pub changes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusterPlan {
    pub action: Action,
    pub name: String,
    pub role: &'static str,
    pub label: String,
    pub region: String,
    pub k8s_version: String,
    pub high_availability: bool,
    pub tags: Vec<String>,
    pub pools: Vec<PoolPlan>,
    pub objects: Vec<ObjectPlan>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PoolPlan {
    pub action: Action,
    #[serde(rename = "type")]
    pub node_type: String,
    pub count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
    /// GPU pools are labelled and tainted `lkeobs.io/gpu`.
    pub gpu: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectPlan {
    pub action: Action,
    #[serde(flatten)]
    pub object: ObjectRef,
    /// Why it exists, for objects `up` generates rather than renders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FirewallPlan {
    pub action: Action,
    pub label: String,
    pub inbound_policy: &'static str,
    pub outbound_policy: &'static str,
    pub rule: &'static str,
    pub tags: Vec<String>,
}

fn cluster_plan(fleet: &Fleet, c: &Cluster, renderer: &Renderer) -> Result<ClusterPlan, crate::Error> {
    let name = fleet.name();
    let user_tags: Vec<String> = fleet.fleet.tags.iter().map(|t| t.get_ref().clone()).collect();
    let rendered = renderer.render(fleet, c, &Inputs::default())?;
    let mut objects: Vec<ObjectPlan> = rendered
        .objects()?
        .into_iter()
        .map(|object| ObjectPlan {
            action: Action::Create,
            object,
            note: None,
        })
        .collect();
    objects.extend(
        secrets::runtime_secrets(fleet, c)
            .into_iter()
            .map(|(object, note)| ObjectPlan {
                action: Action::Create,
                object,
                note: Some(note),
            }),
    );
    Ok(ClusterPlan {
        action: Action::Create,
        name: c.name.get_ref().clone(),
        role: c.role.as_str(),
        label: naming::cluster_label(name, c.name.get_ref()),
        region: c.region.get_ref().clone(),
        k8s_version: fleet.fleet.k8s_version.get_ref().clone(),
        high_availability: c.high_availability,
        tags: naming::cluster_tags(name, c.role.as_str(), &user_tags),
        pools: c
            .pools
            .iter()
            .map(|p| PoolPlan {
                action: Action::Create,
                node_type: p.node_type.get_ref().clone(),
                count: *p.count.get_ref(),
                autoscale: p.autoscale.as_ref().map(|a| *a.get_ref()),
                gpu: p.is_gpu(),
            })
            .collect(),
        objects,
    })
}

/// The offline plan: everything is created.
pub fn offline(fleet: &Fleet, renderer: &Renderer) -> Result<Plan, crate::Error> {
    let clusters = fleet
        .clusters()
        .map(|c| cluster_plan(fleet, c, renderer))
        .collect::<Result<Vec<_>, _>>()?;
    let user_tags: Vec<String> = fleet.fleet.tags.iter().map(|t| t.get_ref().clone()).collect();
    let firewall = fleet.security.gateway_firewall.then(|| FirewallPlan {
        action: Action::Create,
        label: naming::firewall_label(fleet.name()),
        inbound_policy: "DROP",
        outbound_policy: "ACCEPT",
        rule: "ACCEPT TCP 4317,4318 from every edge node's public IPv4",
        tags: naming::fleet_tags(fleet.name(), &user_tags),
    });
    let mut plan = Plan {
        fleet: fleet.name().to_string(),
        mode: "offline",
        clusters,
        firewall,
        changes: 0,
    };
    plan.changes = plan.count_changes();
    Ok(plan)
}

impl Plan {
    fn count_changes(&self) -> usize {
        let mut n = 0;
        for c in &self.clusters {
            n += usize::from(c.action.is_change());
            n += c.pools.iter().filter(|p| p.action.is_change()).count();
            n += c.objects.iter().filter(|o| o.action.is_change()).count();
        }
        n + self.firewall.iter().filter(|f| f.action.is_change()).count()
    }
}
