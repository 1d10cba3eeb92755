//! The gateway Cloud Firewall: found or created (by `up`, first, so the hub's gateway Service carries its id
//! from the first apply and the cloud controller attaches it) and its rules put when they differ from the
//! edges' node addresses (by `up` once every edge's nodes are known, by `remove-edge` for those left).

use std::net::Ipv4Addr;

use serde::Serialize;

use crate::fleet::Fleet;
use crate::linode::{Client, Firewall, FirewallRules};
use crate::{firewall, naming};

/// What happened to the firewall.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FirewallReport {
    pub id: u64,
    pub label: String,
    pub created: bool,
    /// Addresses the rules gained and lost in this run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    /// Edges whose addresses could not be included (they failed before their nodes were known).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_edges: Vec<String>,
}

fn too_many(e: firewall::TooManyAddresses) -> crate::Error {
    crate::Error::Runtime(format!("gateway firewall: {e}"))
}

/// Finds the fleet's firewall or creates it with the plan's create request (the rules for the addresses
/// known when the plan was made).
pub async fn ensure(
    client: &Client,
    existing: Option<&Firewall>,
    plan: Option<&crate::plan::FirewallPlan>,
) -> Result<(Firewall, bool), crate::Error> {
    if let Some(fw) = existing {
        return Ok((fw.clone(), false));
    }
    let request = plan
        .and_then(|p| p.create.as_ref())
        .ok_or_else(|| crate::Error::Internal("the plan holds no create request for the gateway firewall".into()))?;
    Ok((client.create_firewall_idempotent(request).await?, true))
}

/// Public IPv4 addresses of the given node Linodes (one instance listing).
pub async fn addresses_of(client: &Client, instances: &[u64]) -> Result<Vec<Ipv4Addr>, crate::Error> {
    if instances.is_empty() {
        return Ok(Vec::new());
    }
    let all = crate::ops::discover::instance_addresses(client).await?;
    Ok(instances
        .iter()
        .flat_map(|id| all.get(id).cloned().unwrap_or_default())
        .collect())
}

/// Puts the rules for `ips` when they differ from `current`; fills in what changed.
pub async fn sync(
    client: &Client,
    fw: &Firewall,
    current: Option<&FirewallRules>,
    ips: &[Ipv4Addr],
    report: &mut FirewallReport,
) -> Result<(), crate::Error> {
    let wanted = firewall::gateway_rules(ips).map_err(too_many)?;
    if current.is_some_and(|c| firewall::matches(c, &wanted)) {
        return Ok(());
    }
    let have = current.map(firewall::allowed_ips).unwrap_or_default();
    let want = firewall::allowed_ips(&wanted);
    report.added = want.difference(&have).cloned().collect();
    report.removed = have.difference(&want).cloned().collect();
    client.put_firewall_rules(fw.id, &wanted).await?;
    Ok(())
}

/// Re-reads the account and puts the rules for every edge's node addresses as they are now (an edge whose
/// nodes were replaced has new ones); `None` when the fleet has no gateway firewall (yet).
pub async fn resync(client: &Client, fleet: &Fleet) -> Result<Option<FirewallReport>, crate::Error> {
    let observed = crate::ops::discover::observe(client, fleet).await?;
    let Some(fw) = observed.firewall else {
        return Ok(None);
    };
    let ips: Vec<Ipv4Addr> = fleet
        .edges
        .iter()
        .map(|e| naming::cluster_label(fleet.name(), e.name.get_ref()))
        .filter_map(|label| observed.clusters.iter().find(|o| o.cluster.label == label))
        .flat_map(|o| o.node_ipv4.iter().copied())
        .collect();
    let mut report = FirewallReport {
        id: fw.id,
        label: fw.label.clone(),
        ..Default::default()
    };
    let current = fw.rules.as_ref().map(|r| r.rules.clone());
    sync(client, &fw, current.as_ref(), &ips, &mut report).await?;
    Ok(Some(report))
}
