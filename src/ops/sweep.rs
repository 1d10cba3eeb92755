//! Deleting what a fleet owns, shared by `teardown`, `reap` and `remove-edge`: drain each cluster's
//! LoadBalancers and claims, delete in the safe order, sweep what the platform leaves behind, then re-list
//! and prove nothing is left. Works from tags alone and never touches a resource without the
//! fleet's tags.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::ops::FAN_OUT;
use crate::poll::Step;
use futures::StreamExt;

use crate::linode::{Client, Filter, LkeCluster, ObjectStorageStatus};
use crate::ops::hub_storage;
use crate::plan::is_ours;
use crate::{Error, naming};

/// How long teardown may take when the command has no `--timeout`.
const DEFAULT_BUDGET: Duration = Duration::from_secs(45 * 60);
/// How often to look whether deleted node Linodes are gone.
const POLL: Duration = Duration::from_secs(5);

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub fleet: String,
    pub clusters: Vec<ClusterTeardown>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall: Option<u64>,
    pub swept_nodebalancers: Vec<u64>,
    pub swept_volumes: Vec<u64>,
    /// The hub's Object Storage (a hub in mode "ha"): buckets emptied and deleted, keys revoked, buckets left
    /// behind with a one-day expiry rule. Absent when the account has no Object Storage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_storage: Option<crate::ops::hub_storage::Removal>,
    /// What still exists afterwards; anything here makes the command exit 4.
    pub left: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub api_calls: crate::linode::ApiCalls,
}

#[derive(Debug, Serialize)]
pub struct ClusterTeardown {
    pub id: u64,
    pub label: String,
    /// LoadBalancer Services deleted while the cluster still ran (their NodeBalancers go with them).
    pub load_balancers: usize,
    /// PersistentVolumeClaims deleted (their volumes go with them: our StorageClass reclaims).
    pub volume_claims: usize,
}

fn ours(fleet: &str) -> Filter {
    Filter::tag(&naming::fleet_tag(fleet))
}

/// Step 1: delete the cluster's LoadBalancer Services and PVCs while its controllers still run.
pub(crate) async fn drain(
    client: &Client,
    c: &LkeCluster,
    fleet: &str,
    deadline: Instant,
    notes: &mut Vec<String>,
) -> ClusterTeardown {
    let mut out = ClusterTeardown {
        id: c.id,
        label: c.label.clone(),
        load_balancers: 0,
        volume_claims: 0,
    };
    let k8s = match client.get_kubeconfig(c.id).await {
        Ok(yaml) => crate::ops::connect::from_api_kubeconfig(&yaml, c.id).await,
        Err(e) => {
            notes.push(format!(
                "{}: Kubernetes API not reachable ({e}); its NodeBalancers and volumes are swept instead",
                c.label
            ));
            return out;
        }
    };
    let k8s = match k8s {
        Ok(k) => k,
        Err(e) => {
            notes.push(format!(
                "{}: {e}; its NodeBalancers and volumes are swept instead",
                c.label
            ));
            return out;
        }
    };
    match k8s.delete_load_balancers(fleet, deadline).await {
        Ok(v) => out.load_balancers = v.len(),
        Err(e) => notes.push(format!("{}: deleting LoadBalancer Services: {e}", c.label)),
    }
    match k8s.delete_volumes(fleet, deadline).await {
        Ok(v) => out.volume_claims = v.len(),
        Err(e) => notes.push(format!("{}: deleting volume claims: {e}", c.label)),
    }
    out
}

/// What counts as a fleet's (or one cluster's) NodeBalancers and volumes.
pub(crate) struct Owned<'a> {
    /// Match this fleet's tags too (teardown); `None` matches by cluster and node only (remove-edge).
    pub fleet: Option<&'a str>,
    pub clusters: BTreeSet<u64>,
    pub nodes: BTreeSet<u64>,
}

impl Owned<'_> {
    fn tagged(&self, tags: &[String]) -> bool {
        self.fleet.is_some_and(|f| is_ours(tags, f))
    }

    fn nodebalancer(&self, nb: &crate::linode::NodeBalancer) -> bool {
        self.tagged(&nb.tags) || nb.lke_cluster.as_ref().is_some_and(|e| self.clusters.contains(&e.id))
    }

    fn volume(&self, v: &crate::linode::Volume) -> bool {
        self.tagged(&v.tags) || v.linode_id.is_some_and(|id| self.nodes.contains(&id))
    }
}

/// The node Linodes of a cluster.
pub(crate) async fn node_ids(client: &Client, cluster: u64) -> Result<BTreeSet<u64>, Error> {
    let mut nodes = BTreeSet::new();
    for p in client.list_node_pools(cluster).await? {
        nodes.extend(p.nodes.iter().filter_map(|n| n.instance_id));
    }
    Ok(nodes)
}

/// Deletes the NodeBalancers and volumes the platform may leave behind; returns their ids.
pub(crate) async fn sweep(client: &Client, owned: &Owned<'_>) -> Result<(Vec<u64>, Vec<u64>), Error> {
    let (mut nbs, mut vols) = (Vec::new(), Vec::new());
    for nb in client.list_nodebalancers(None).await? {
        if owned.nodebalancer(&nb) {
            client.delete_nodebalancer(nb.id).await?;
            nbs.push(nb.id);
        }
    }
    for v in client.list_volumes(None).await? {
        if owned.volume(&v) {
            client.delete_volume(v.id).await?;
            vols.push(v.id);
        }
    }
    Ok((nbs, vols))
}

/// What [`delete_in_order`] deleted.
#[derive(Debug, Default)]
pub(crate) struct Deleted {
    /// The clusters, each drained first.
    pub clusters: Vec<ClusterTeardown>,
    /// The fleet's gateway firewall, when it was to go too.
    pub firewall: Option<u64>,
    pub swept_nodebalancers: Vec<u64>,
    pub swept_volumes: Vec<u64>,
    /// The clusters' node Linodes (gone once it returns).
    pub nodes: BTreeSet<u64>,
    pub notes: Vec<String>,
}

/// The one ordered delete of `teardown`, `reap` and `remove-edge`: drain every cluster (LoadBalancer
/// Services and claims, while its controllers still run) at once; with `whole_fleet`, the fleet's firewall;
/// the clusters; wait until their node Linodes are gone; then sweep the NodeBalancers and volumes the
/// platform leaves (the fleet's tagged ones too with `whole_fleet`, else only those of these clusters).
pub(crate) async fn delete_in_order(
    client: &Client,
    fleet: &str,
    clusters: &[LkeCluster],
    whole_fleet: bool,
    deadline: Instant,
) -> Result<Deleted, Error> {
    let mut out = Deleted::default();
    // Each cluster's node ids, then its drain, FAN_OUT clusters at a time.
    let listing: Vec<_> = clusters.iter().map(|c| node_ids(client, c.id)).collect();
    let listed: Vec<Result<BTreeSet<u64>, Error>> =
        futures::stream::iter(listing).buffer_unordered(FAN_OUT).collect().await;
    for nodes in listed {
        out.nodes.extend(nodes?);
    }
    let draining: Vec<_> = clusters
        .iter()
        .map(|c| async move {
            let mut notes = Vec::new();
            let t = drain(client, c, fleet, deadline, &mut notes).await;
            (t, notes)
        })
        .collect();
    let drained: Vec<_> = futures::stream::iter(draining)
        .buffer_unordered(FAN_OUT)
        .collect()
        .await;
    for (t, notes) in drained {
        out.clusters.push(t);
        out.notes.extend(notes);
    }
    out.clusters.sort_by(|a, b| a.label.cmp(&b.label));
    if whole_fleet {
        let fw_label = naming::firewall_label(fleet);
        for fw in client.list_firewalls(Some(&Filter::label(&fw_label))).await? {
            if fw.label == fw_label && is_ours(&fw.tags, fleet) {
                client.delete_firewall(fw.id).await?;
                out.firewall = Some(fw.id);
            }
        }
    }
    for c in clusters {
        client.delete_lke_cluster(c.id).await?;
    }
    wait_gone(client, &out.nodes, deadline).await?;
    let owned = Owned {
        fleet: whole_fleet.then_some(fleet),
        clusters: clusters.iter().map(|c| c.id).collect(),
        nodes: out.nodes.clone(),
    };
    (out.swept_nodebalancers, out.swept_volumes) = sweep(client, &owned).await?;
    Ok(out)
}

/// Deletes every resource of `fleet` (found by its tags) and returns what is left.
pub async fn teardown_fleet(client: &Client, fleet: &str, deadline: Option<Instant>) -> Result<Report, Error> {
    let deadline = deadline.unwrap_or_else(|| Instant::now() + DEFAULT_BUDGET);
    let clusters: Vec<LkeCluster> = client
        .list_lke_clusters(Some(&ours(fleet)))
        .await?
        .into_iter()
        .filter(|c| is_ours(&c.tags, fleet))
        .collect();
    let deleted = delete_in_order(client, fleet, &clusters, true, deadline).await?;
    // The buckets after the clusters: no engine writes into them any more. An account never enrolled in
    // Object Storage has none (and is not asked for them); a token that may not read the account's settings
    // (no `account:read_only`) asks for the buckets, and one without `object_storage` cannot see them: said.
    let mut notes = Vec::new();
    let enrolled = match client.get_account_settings().await {
        Ok(settings) => settings.object_storage != ObjectStorageStatus::Disabled,
        Err(e) if e.is_missing_scope() => true,
        Err(e) => return Err(e.into()),
    };
    let object_storage = if enrolled {
        match hub_storage::remove(client, fleet, None, Some(deadline)).await {
            Ok(removal) => Some(removal),
            Err(hub_storage::HubStorageError::Linode(e)) if e.is_missing_scope() => {
                notes.push(format!("{OBJECT_STORAGE_UNCHECKED}: {e}"));
                None
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let enrolled = enrolled && notes.is_empty();
    let owned = Owned {
        fleet: Some(fleet),
        clusters: clusters.iter().map(|c| c.id).collect(),
        nodes: deleted.nodes,
    };
    // Prove it.
    let mut left = leftovers(client, &owned).await?;
    if enrolled {
        // A left-behind bucket expires within a day; the next teardown or `reap` deletes it.
        left.extend(hub_storage::observe(client, fleet, None).await?.describe());
    }
    Ok(Report {
        fleet: fleet.to_string(),
        clusters: deleted.clusters,
        firewall: deleted.firewall,
        swept_nodebalancers: deleted.swept_nodebalancers,
        swept_volumes: deleted.swept_volumes,
        object_storage,
        left,
        notes: deleted.notes.into_iter().chain(notes).collect(),
        api_calls: Default::default(),
    })
}

/// How a teardown's note begins when the token cannot see the account's Object Storage.
pub const OBJECT_STORAGE_UNCHECKED: &str = "Object Storage not checked (the token has no object_storage scope): an `ha` fleet's buckets and key stay, \
     and are billed, until a teardown with a token that has object_storage:read_write";

pub(crate) async fn wait_gone(client: &Client, nodes: &BTreeSet<u64>, deadline: Instant) -> Result<(), Error> {
    let polled = crate::poll::until(POLL, deadline, || async {
        let alive = client
            .list_instances(None)
            .await?
            .into_iter()
            .filter(|i| nodes.contains(&i.id))
            .count();
        Ok::<_, Error>(if alive == 0 {
            Step::Done(())
        } else {
            Step::Pending(alive)
        })
    })
    .await?;
    polled.map_err(|t| {
        Error::Cluster(format!(
            "{} node Linode(s) of the deleted clusters still exist at the deadline; re-run teardown to finish",
            t.last
        ))
    })
}

/// Everything that could still be ours.
async fn leftovers(client: &Client, owned: &Owned<'_>) -> Result<Vec<String>, Error> {
    let mut left = Vec::new();
    let fleet = owned.fleet.unwrap_or_default();
    for c in client.list_lke_clusters(Some(&ours(fleet))).await? {
        left.push(format!("LKE cluster {} (id {})", c.label, c.id));
    }
    let fw_label = naming::firewall_label(fleet);
    for f in client.list_firewalls(Some(&Filter::label(&fw_label))).await? {
        left.push(format!("firewall {} (id {})", f.label, f.id));
    }
    for nb in client.list_nodebalancers(None).await? {
        if owned.nodebalancer(&nb) {
            left.push(format!("NodeBalancer {} (id {})", nb.label, nb.id));
        }
    }
    for v in client.list_volumes(None).await? {
        if owned.volume(&v) {
            left.push(format!("volume {} (id {})", v.label, v.id));
        }
    }
    for i in client.list_instances(None).await? {
        if owned.nodes.contains(&i.id) {
            left.push(format!("Linode {} (id {})", i.label, i.id));
        }
    }
    Ok(left)
}
