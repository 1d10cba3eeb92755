//! Builds plans: offline against an empty account, online against what discovery observed.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use super::{
    AclChange, AclVia, Action, ClusterChange, ClusterPlan, FirewallPlan, LinodeWrite, ObjectPlan, Plan, PlanMode,
    PoolPlan, pools, requests,
};
use crate::firewall;
use crate::fleet::{Cluster, Fleet, Role};
use crate::linode::{ControlPlaneAcl, Firewall, LkeCluster, NodePool};
use crate::naming;
use crate::stack::{Inputs, Renderer, secrets};

/// What exists in the account, as far as the plan needs to know.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Every LKE cluster whose label is one of the fleet's, or that carries the fleet's tag.
    pub clusters: Vec<ObservedCluster>,
    /// The firewall labelled `lkeobs-<fleet>-gw`, if any.
    pub firewall: Option<Firewall>,
}

/// One existing cluster; `pools` and `node_ipv4` are only fetched for clusters that are ours.
#[derive(Debug, Clone)]
pub struct ObservedCluster {
    pub cluster: LkeCluster,
    pub pools: Vec<NodePool>,
    /// Public IPv4 addresses of its nodes.
    pub node_ipv4: Vec<Ipv4Addr>,
    /// Its control-plane ACL, read when the fleet file sets `control_plane_acl`.
    pub acl: SeenAcl,
}

/// What discovery read of a cluster's control-plane ACL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SeenAcl {
    /// Not read: the fleet file does not set `control_plane_acl`, so the cluster's ACL is left as it is.
    #[default]
    Unread,
    /// The cluster has no ACL to manage (LKE answers 400 or 404): one is enabled with a cluster update.
    Unsupported,
    /// The cluster's ACL, managed through `control_plane_acl`.
    Acl(ControlPlaneAcl),
}

/// Whether a resource's tags say it belongs to this fleet.
pub fn is_ours(tags: &[String], fleet: &str) -> bool {
    tags.iter().any(|t| t == naming::TAG_OWNER) && tags.contains(&naming::fleet_tag(fleet))
}

fn new_pools(c: &Cluster) -> Vec<PoolPlan> {
    pools::diff(&c.pools, &[])
}

fn objects(fleet: &Fleet, c: &Cluster, renderer: &Renderer) -> Result<Vec<ObjectPlan>, crate::Error> {
    let rendered = renderer.render(fleet, c, &Inputs::default())?;
    let mut out: Vec<ObjectPlan> = rendered
        .objects()?
        .into_iter()
        .map(|object| ObjectPlan {
            action: Action::Create,
            object,
            note: None,
            fields: Vec::new(),
            replace: None,
        })
        .collect();
    out.extend(
        secrets::runtime_secrets(fleet, c)
            .into_iter()
            .map(|(object, note)| ObjectPlan {
                action: Action::Create,
                object,
                note: Some(note),
                fields: Vec::new(),
                replace: None,
            }),
    );
    Ok(out)
}

fn create_cluster(
    fleet: &Fleet,
    c: &Cluster,
    renderer: &Renderer,
    expires: Option<u64>,
) -> Result<ClusterPlan, crate::Error> {
    let name = fleet.name();
    Ok(ClusterPlan {
        action: Action::Create,
        id: None,
        name: c.name.get_ref().clone(),
        role: c.role.as_str(),
        label: naming::cluster_label(name, c.name.get_ref()),
        region: c.region.get_ref().clone(),
        k8s_version: fleet.fleet.k8s_version.get_ref().clone(),
        high_availability: *c.high_availability.get_ref(),
        tags: naming::cluster_tags(name, c.role.as_str(), &fleet.user_tags()),
        changes: Vec::new(),
        pools: new_pools(c),
        acl: None,
        objects_compared: true,
        objects: objects(fleet, c, renderer)?,
        writes: vec![LinodeWrite::CreateCluster(requests::create_cluster(fleet, c, expires))],
    })
}

fn firewall_create(fleet: &Fleet) -> FirewallPlan {
    FirewallPlan {
        action: Action::Create,
        id: None,
        label: naming::firewall_label(fleet.name()),
        inbound_policy: "DROP",
        outbound_policy: "ACCEPT",
        rule: "ACCEPT TCP 4317,4318 from every edge node's public IPv4",
        tags: naming::fleet_tags(fleet.name(), &fleet.user_tags()),
        add: Vec::new(),
        remove: Vec::new(),
        pending_edges: Vec::new(),
        create: None,
    }
}

/// The offline plan: everything is created; new resources carry the expiry `expires`.
pub fn offline(fleet: &Fleet, renderer: &Renderer, expires: Option<u64>) -> Result<Plan, crate::Error> {
    let clusters = fleet
        .clusters()
        .map(|c| create_cluster(fleet, c, renderer, expires))
        .collect::<Result<Vec<_>, _>>()?;
    let mut plan = Plan {
        ok: true,
        fleet: fleet.name().to_string(),
        mode: PlanMode::Offline,
        clusters,
        firewall: fleet.security.gateway_firewall.then(|| {
            let mut fw = firewall_create(fleet);
            fw.create = firewall::gateway_rules(&[])
                .ok()
                .map(|rules| requests::create_firewall(fleet, rules, expires));
            fw
        }),
        changes: 0,
        problems: Vec::new(),
        notes: Vec::new(),
        destinations: super::destinations::review(fleet, None),
        receivers: super::receivers::review(fleet, None),
        blocked_upgrades: Vec::new(),
        hub_mode_switch: None,
        expires,
    };
    plan.changes = plan.count_changes();
    Ok(plan)
}

fn minor(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Whether moving from Kubernetes `have` to the fleet's `want` is an upgrade (by one minor version), none,
/// or why LKE cannot do it (a downgrade, or a skip of minor versions: LKE upgrades one minor at a time).
pub fn version_step(have: &str, want: &str) -> Result<bool, String> {
    match (minor(have), minor(want)) {
        (Some(h), Some(w)) if w > h && (w.0 != h.0 || w.1 > h.1 + 1) => Err(format!(
            "runs Kubernetes {have}, the fleet asks for {want}: LKE upgrades one minor version at a time, so {have} → {want} needs intermediate upgrades"
        )),
        (Some(h), Some(w)) if w > h => Ok(true),
        (Some(h), Some(w)) if w < h => Err(format!(
            "runs Kubernetes {have}, the fleet asks for {want}: LKE cannot downgrade"
        )),
        _ => Ok(false),
    }
}

/// The pools an upgrade replaces the nodes of, described (`pool 12 (g6-standard-2 × 2)`).
fn recycled_pools(have: &ObservedCluster) -> Vec<String> {
    have.pools
        .iter()
        .map(|p| format!("pool {} ({} × {})", p.id, p.linode_type, p.nodes.len()))
        .collect()
}

/// The upgrade an existing cluster needs: its control plane behind the fleet's version, or the tag of an
/// upgrade that did not finish.
fn upgrade_change(have: &ObservedCluster, want: &str, label: &str, plan: &mut Plan) -> Option<ClusterChange> {
    let unfinished = have.cluster.tags.iter().find_map(|t| naming::parse_upgrade_tag(t));
    match version_step(&have.cluster.k8s_version, want) {
        Ok(true) => Some(ClusterChange::Version {
            from: have.cluster.k8s_version.clone(),
            to: want.to_string(),
            recycled: recycled_pools(have),
        }),
        Ok(false) => unfinished
            .filter(|to| *to == want)
            .map(|to| ClusterChange::FinishUpgrade {
                to: to.to_string(),
                recycled: recycled_pools(have),
            }),
        Err(why) => {
            plan.problems.push(format!("{label}: {why}"));
            None
        }
    }
}

/// The plan for a cluster that exists and is ours.
fn existing_cluster(fleet: &Fleet, c: &Cluster, have: &ObservedCluster, plan: &mut Plan) -> ClusterPlan {
    let expires = plan.expires;
    let name = fleet.name();
    let label = naming::cluster_label(name, c.name.get_ref());
    let want_version = fleet.fleet.k8s_version.get_ref();
    let mut changes: Vec<ClusterChange> = upgrade_change(have, want_version, &label, plan).into_iter().collect();
    let ha = have
        .cluster
        .control_plane
        .as_ref()
        .is_some_and(|cp| cp.high_availability);
    if *c.high_availability.get_ref() && !ha {
        changes.push(ClusterChange::HighAvailabilityOn);
    } else if !*c.high_availability.get_ref() && ha {
        plan.notes.push(format!(
            "{label}: the HA control plane stays on (LKE cannot turn it off)"
        ));
    }
    let want_tags = naming::cluster_tags(name, c.role.as_str(), &fleet.user_tags());
    let mut missing: Vec<String> = want_tags
        .into_iter()
        .filter(|t| !have.cluster.tags.contains(t))
        .collect();
    // A fleet with a `ttl` tags every cluster with its expiry; one without it gets it here (the update sends
    // it, so the plan lists it).
    if let Some(t) = expires
        && !have.cluster.tags.iter().any(|x| naming::parse_expires_tag(x).is_some())
    {
        missing.push(naming::expires_tag(t));
    }
    if !missing.is_empty() {
        changes.push(ClusterChange::TagsAdded(missing));
    }
    let acl = acl_change(fleet, have);
    let action = if changes.is_empty() && acl.is_none() {
        Action::Adopt
    } else {
        Action::Update
    };
    let pools = pools::diff(&c.pools, &have.pools);
    let mut writes = Vec::new();
    if action == Action::Update {
        let ha_on = changes.contains(&ClusterChange::HighAvailabilityOn);
        writes.extend(requests::update_cluster(fleet, c, have, ha_on, expires).map(LinodeWrite::UpdateCluster));
    }
    match acl.as_ref().map(|a| a.via) {
        Some(AclVia::ClusterUpdate) => writes.push(LinodeWrite::UpdateCluster(requests::enable_acl(fleet))),
        Some(AclVia::AclEndpoint) => writes.push(LinodeWrite::PutAcl(requests::acl_body(fleet))),
        None => {}
    }
    writes.extend(pools.iter().filter_map(|p| p.write.clone()));
    // Replaced pools and those the fleet dropped go once the nodes are Ready.
    writes.extend(
        pools
            .iter()
            .filter(|p| matches!(p.action, Action::Replace | Action::Delete))
            .filter_map(|p| p.id)
            .map(|pool| LinodeWrite::DeletePool { pool }),
    );
    ClusterPlan {
        action,
        id: Some(have.cluster.id),
        name: c.name.get_ref().clone(),
        role: c.role.as_str(),
        label,
        region: have.cluster.region.clone(),
        k8s_version: have.cluster.k8s_version.clone(),
        high_availability: ha,
        tags: have.cluster.tags.clone(),
        changes,
        pools,
        acl,
        objects_compared: false,
        objects: Vec::new(),
        writes,
    }
}

/// The ACL change an existing cluster needs when the fleet file sets `control_plane_acl` (absent leaves the
/// cluster's ACL as it is). A cluster without an ACL gets one with a cluster update (LKE's "upgraded to use
/// it", which cannot be undone); after that, and to take the ACL off with an empty list, the
/// `control_plane_acl` endpoint takes the change.
fn acl_change(fleet: &Fleet, have: &ObservedCluster) -> Option<AclChange> {
    let mut to: Vec<String> = fleet
        .security
        .control_plane_acl
        .iter()
        .map(|a| a.get_ref().clone())
        .collect();
    to.sort();
    to.dedup();
    match &have.acl {
        SeenAcl::Unread => None,
        SeenAcl::Unsupported => (!to.is_empty()).then_some(AclChange {
            from: Vec::new(),
            to,
            via: AclVia::ClusterUpdate,
        }),
        SeenAcl::Acl(acl) => {
            let from = acl.enforced_addresses();
            (from != to).then_some(AclChange {
                from,
                to,
                via: AclVia::AclEndpoint,
            })
        }
    }
}

/// The online plan: `observed` is what discovery found; new resources carry the expiry `expires`.
pub fn online(
    fleet: &Fleet,
    observed: &Observed,
    renderer: &Renderer,
    expires: Option<u64>,
) -> Result<Plan, crate::Error> {
    let name = fleet.name();
    let mut plan = Plan {
        ok: true,
        fleet: name.to_string(),
        mode: PlanMode::Online,
        clusters: Vec::new(),
        firewall: None,
        changes: 0,
        problems: Vec::new(),
        notes: Vec::new(),
        // Until the hub's gateway is read (`ops::compare`), every destination counts as new.
        destinations: super::destinations::review(fleet, None),
        receivers: super::receivers::review(fleet, None),
        blocked_upgrades: Vec::new(),
        hub_mode_switch: None,
        expires,
    };
    let mut wanted_labels = BTreeSet::new();
    let mut edge_ips: Vec<Ipv4Addr> = Vec::new();
    let mut pending_edges = Vec::new();
    for c in fleet.clusters() {
        let label = naming::cluster_label(name, c.name.get_ref());
        wanted_labels.insert(label.clone());
        match observed.clusters.iter().find(|o| o.cluster.label == label) {
            None => {
                if c.role == Role::Edge {
                    pending_edges.push(c.name.get_ref().clone());
                }
                plan.clusters.push(create_cluster(fleet, c, renderer, expires)?);
            }
            Some(o) if !is_ours(&o.cluster.tags, name) => plan.problems.push(format!(
                "cluster {label} (id {}) exists but is not tagged `lkeobs` and `{}`: it is not ours, so lkeobs will not touch it; delete or rename it, or choose another fleet name",
                o.cluster.id,
                naming::fleet_tag(name)
            )),
            Some(o) if o.cluster.region != *c.region.get_ref() => plan.problems.push(format!(
                "cluster {label} (id {}) is in region {}, the fleet file says {}: a cluster cannot move; remove it first",
                o.cluster.id,
                o.cluster.region,
                c.region.get_ref()
            )),
            Some(o) => {
                if c.role == Role::Edge {
                    edge_ips.extend(o.node_ipv4.iter().copied());
                }
                let cp = existing_cluster(fleet, c, o, &mut plan);
                plan.clusters.push(cp);
            }
        }
    }
    for o in &observed.clusters {
        if !wanted_labels.contains(&o.cluster.label) && is_ours(&o.cluster.tags, name) {
            plan.notes.push(format!(
                "cluster {} (id {}) carries this fleet's tags but is not in the fleet file; `up` leaves it alone",
                o.cluster.label, o.cluster.id
            ));
        }
    }
    if fleet.security.gateway_firewall {
        plan.firewall = firewall_plan(
            fleet,
            observed.firewall.as_ref(),
            &edge_ips,
            pending_edges,
            expires,
            &mut plan.problems,
        );
    } else if let Some(fw) = observed.firewall.as_ref().filter(|f| is_ours(&f.tags, name)) {
        plan.firewall = Some(firewall_left_to_the_cloud_controller(fleet, fw));
        plan.notes.push(format!(
            "security.gateway_firewall is off: the cloud controller detaches and deletes firewall {} (id {}) once the gateway Service loses its firewall-id annotation; the OTLP gateway is then open to any address (mTLS still applies)",
            fw.label, fw.id
        ));
    }
    plan.changes = plan.count_changes();
    plan.ok = plan.problems.is_empty();
    Ok(plan)
}

/// The firewall of a fleet that turned `gateway_firewall` off: the cloud controller deletes it (it
/// deletes a firewall it finds attached when neither firewall annotation is set), `up` does not.
fn firewall_left_to_the_cloud_controller(fleet: &Fleet, fw: &Firewall) -> FirewallPlan {
    let mut plan = firewall_create(fleet);
    plan.action = Action::Delete;
    plan.id = Some(fw.id);
    plan.rule = "deleted by the cloud controller when the gateway Service drops its firewall-id annotation";
    plan
}

fn firewall_plan(
    fleet: &Fleet,
    existing: Option<&Firewall>,
    edge_ips: &[Ipv4Addr],
    pending_edges: Vec<String>,
    expires: Option<u64>,
    problems: &mut Vec<String>,
) -> Option<FirewallPlan> {
    let mut plan = firewall_create(fleet);
    plan.pending_edges = pending_edges;
    let wanted = match firewall::gateway_rules(edge_ips) {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!("gateway firewall: {e}"));
            return Some(plan);
        }
    };
    let want_ips = firewall::allowed_ips(&wanted);
    let Some(fw) = existing else {
        plan.add = by_address(want_ips.iter());
        plan.create = Some(requests::create_firewall(fleet, wanted, expires));
        return Some(plan);
    };
    plan.id = Some(fw.id);
    if !is_ours(&fw.tags, fleet.name()) {
        problems.push(format!(
            "firewall {} (id {}) exists but is not tagged as this fleet's: it is not ours; delete or rename it",
            fw.label, fw.id
        ));
        plan.action = Action::Unchanged;
        return Some(plan);
    }
    let current = fw.rules.as_ref().map(|r| r.rules.clone());
    let have_ips = current.as_ref().map(firewall::allowed_ips).unwrap_or_default();
    plan.add = by_address(want_ips.difference(&have_ips));
    plan.remove = by_address(have_ips.difference(&want_ips));
    let in_sync = current.as_ref().is_some_and(|c| firewall::matches(c, &wanted));
    plan.action = if in_sync && plan.pending_edges.is_empty() {
        Action::Unchanged
    } else {
        Action::Update
    };
    Some(plan)
}

/// Addresses in numeric order (203.0.113.8 before 203.0.113.12); anything unparsable last.
fn by_address<'a>(ips: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut v: Vec<String> = ips.cloned().collect();
    v.sort_by_key(|s| (s.parse::<Ipv4Addr>().map_err(|_| s.clone()), s.clone()));
    v
}
