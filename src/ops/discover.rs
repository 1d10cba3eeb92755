//! Reads what exists in the Linode account for a fleet (clusters by label and tag, their pools and node
//! addresses, the gateway firewall) and the live catalog for the preflight.

use futures::StreamExt;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use crate::fleet::preflight::{self, Catalog};
use crate::fleet::{Fleet, Role};
use crate::linode::{self, Client, Filter};
use crate::naming;
use crate::plan::{Observed, ObservedCluster, SeenAcl, is_ours};

/// The catalog the preflight checks against, all calls at once: three lists, the account only when the
/// fleet uses an HA control plane or the control-plane ACL (account capabilities), and plan availability
/// for the regions of GPU pools.
pub async fn catalog(client: &Client, fleet: &Fleet) -> Result<Catalog, linode::Error> {
    let gpu_regions = preflight::availability_regions(fleet);
    let availability = futures::future::try_join_all(gpu_regions.iter().map(|r| async move {
        let plans = client.region_availability(r).await?;
        let plans = plans.into_iter().map(|a| (a.plan, a.available)).collect();
        Ok::<_, linode::Error>((r.clone(), plans))
    }));
    let account = async {
        if preflight::needs_account(fleet) {
            client.get_account().await.map(|a| Some(a.capabilities))
        } else {
            Ok(None)
        }
    };
    let (regions, types, versions, account, availability) = tokio::join!(
        client.list_regions(),
        client.linode_types(),
        client.list_lke_versions(),
        account,
        availability
    );
    Ok(Catalog {
        regions: regions?.into_iter().map(|r| (r.id, r.capabilities)).collect(),
        types: types?.iter().map(|t| t.id.clone()).collect(),
        k8s_versions: versions?.into_iter().map(|v| v.id).collect(),
        account: account?,
        availability: availability?.into_iter().collect(),
    })
}

/// Runs the preflight: fetches the catalog and checks the fleet against it; problems are fleet-file errors.
pub async fn preflight(client: &Client, loaded: &crate::fleet::Loaded) -> Result<(), crate::Error> {
    let catalog = catalog(client, &loaded.fleet).await?;
    let diags = crate::fleet::preflight::check(&loaded.fleet, &catalog);
    if diags.is_empty() {
        return Ok(());
    }
    let errors = diags.iter().map(|d| loaded.locate(d)).collect();
    Err(crate::fleet::FleetError::Invalid {
        file: loaded.file.clone(),
        errors,
    }
    .into())
}

/// Refuses, at the fleet file's `k8s_version` line, a version the fleet's existing clusters cannot be
/// moved to (a downgrade, or a skip of minor versions): invalid input, found before anything changes.
pub fn check_versions(loaded: &crate::fleet::Loaded, observed: &crate::plan::Observed) -> Result<(), crate::Error> {
    let fleet = &loaded.fleet;
    let want = &fleet.fleet.k8s_version;
    let errors: Vec<_> = observed
        .clusters
        .iter()
        .filter(|o| is_ours(&o.cluster.tags, fleet.name()))
        .filter_map(|o| {
            let why = crate::plan::version_step(&o.cluster.k8s_version, want.get_ref()).err()?;
            let diag = crate::fleet::Diag::new(want.span(), "fleet.k8s_version", format!("{}: {why}", o.cluster.label))
                .help("move one minor version per `lkeobs up` (e.g. 1.33 → 1.34); a cluster cannot go back to an older version");
            Some(loaded.locate(&diag))
        })
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(crate::fleet::FleetError::Invalid {
        file: loaded.file.clone(),
        errors,
    }
    .into())
}

/// One cluster's pools and control-plane ACL, as listed.
type Listed = Result<(Vec<linode::NodePool>, SeenAcl), linode::Error>;

/// Everything the plan compares: one cluster list, one pool list per cluster of ours, one instance list
/// when an edge exists (node addresses for the firewall), one firewall lookup by label.
pub async fn observe(client: &Client, fleet: &Fleet) -> Result<Observed, crate::Error> {
    let name = fleet.name();
    let labels: BTreeMap<String, Role> = fleet
        .clusters()
        .map(|c| (naming::cluster_label(name, c.name.get_ref()), c.role))
        .collect();
    let fw_label = naming::firewall_label(name);
    // Looked up even with `gateway_firewall` off: the plan then says the cloud controller removes it.
    let fw_filter = Filter::label(&fw_label);
    let (clusters, firewalls) = tokio::join!(client.list_lke_clusters(None), client.list_firewalls(Some(&fw_filter)));
    let relevant: Vec<_> = clusters?
        .into_iter()
        .filter(|c| labels.contains_key(&c.label) || is_ours(&c.tags, name))
        .collect();

    // Each of our clusters' pools (and ACL), FAN_OUT at a time.
    let want_acl = fleet.security.control_plane_acl_set;
    let listing: Vec<_> = relevant
        .iter()
        .enumerate()
        .filter(|(_, c)| is_ours(&c.tags, name))
        .map(|(i, c)| {
            let id = c.id;
            async move {
                let (pools, acl) = tokio::join!(client.list_node_pools(id), async {
                    if want_acl {
                        client.find_control_plane_acl(id).await.map(|acl| match acl {
                            Some(acl) => SeenAcl::Acl(acl),
                            None => SeenAcl::Unsupported,
                        })
                    } else {
                        Ok(SeenAcl::Unread)
                    }
                });
                (i, pools.and_then(|p| acl.map(|a| (p, a))))
            }
        })
        .collect();
    let listed: Vec<(usize, Listed)> = futures::stream::iter(listing)
        .buffer_unordered(super::FAN_OUT)
        .collect()
        .await;
    let mut pools: BTreeMap<usize, Vec<linode::NodePool>> = BTreeMap::new();
    let mut acls: BTreeMap<usize, SeenAcl> = BTreeMap::new();
    for (i, result) in listed {
        let (p, acl) = result?;
        pools.insert(i, p);
        acls.insert(i, acl);
    }

    let has_edge = relevant
        .iter()
        .enumerate()
        .any(|(i, c)| labels.get(&c.label) == Some(&Role::Edge) && pools.contains_key(&i));
    let addresses = if has_edge && fleet.security.gateway_firewall {
        instance_addresses(client).await?
    } else {
        BTreeMap::new()
    };

    let clusters = relevant
        .into_iter()
        .enumerate()
        .map(|(i, cluster)| {
            let pools = pools.remove(&i).unwrap_or_default();
            let node_ipv4 = pools
                .iter()
                .flat_map(|p| p.nodes.iter())
                .filter_map(|n| n.instance_id)
                .flat_map(|id| addresses.get(&id).cloned().unwrap_or_default())
                .collect();
            ObservedCluster {
                cluster,
                pools,
                node_ipv4,
                acl: acls.remove(&i).unwrap_or_default(),
            }
        })
        .collect();
    Ok(Observed {
        clusters,
        firewall: firewalls?.into_iter().find(|f| f.label == fw_label),
    })
}

/// Every Linode's public IPv4 addresses, by instance id (one instance listing).
pub async fn instance_addresses(client: &Client) -> Result<BTreeMap<u64, Vec<Ipv4Addr>>, crate::Error> {
    Ok(client
        .list_instances(None)
        .await?
        .into_iter()
        .map(|inst| (inst.id, crate::net::public_ipv4(&inst.ipv4)))
        .collect())
}
