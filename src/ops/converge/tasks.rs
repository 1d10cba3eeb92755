//! The per-cluster task of `up` (the Linode side, kubeconfig, nodes, then the hub's or an edge's stack) and
//! the firewall task that re-syncs the gateway rules as soon as every edge's nodes are known.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::{Instant, timeout_at};

use super::report::{ClusterReport, Stage};
use super::{EdgeNodes, HubState, Job, NodeAddresses, Shared, cluster, edge, hub, upgrade_step};
use crate::fleet::Role;
use crate::k8s::K8s;
use crate::linode::Firewall;
use crate::ops::converge::upgrade::Turn;
use crate::ops::gateway_firewall as firewall;
use crate::{Error, naming};

/// One cluster's outcome and what the end of the run needs from it.
pub(crate) struct Record {
    pub report: ClusterReport,
    pub kubeconfig: Option<String>,
    pub k8s: Option<K8s>,
    started: Instant,
    nodes_sent: bool,
}

impl Record {
    fn new(sh: &Shared, job: &Job) -> Self {
        let name = job.cluster.name.get_ref().clone();
        Record {
            report: ClusterReport {
                role: job.cluster.role,
                id: job.observed.as_ref().map(|o| o.cluster.id),
                label: naming::cluster_label(sh.fleet.name(), &name),
                region: job.cluster.region.get_ref().clone(),
                nodes: 0,
                context: naming::context_name(sh.fleet.name(), &name),
                stage: Stage::Pending,
                seconds: 0.0,
                changes: Vec::new(),
                error: None,
                upgrade: None,
                name,
            },
            kubeconfig: None,
            k8s: None,
            started: Instant::now(),
            nodes_sent: false,
        }
    }

    pub(super) fn stage(&mut self, sh: &Shared, stage: Stage) {
        self.report.stage = stage;
        sh.progress.step(&self.report.name, stage.doing());
    }

    pub(super) fn change(&mut self, done: super::done::Done) {
        self.report.changes.push(done);
    }
}

/// Runs one cluster to the end (or its first error) and returns its record; never fails itself.
pub(crate) async fn drive(sh: Arc<Shared>, job: Job, nodes_tx: Option<mpsc::UnboundedSender<EdgeNodes>>) -> Record {
    let mut rec = Record::new(&sh, &job);
    let outcome = match timeout_at(sh.deadline, steps(&sh, &job, &mut rec, nodes_tx.as_ref())).await {
        Ok(r) => r,
        Err(_) => Err(Error::Runtime(format!(
            "the --timeout deadline passed while {}",
            rec.report.stage.doing()
        ))),
    };
    rec.report.seconds = rec.started.elapsed().as_secs_f64();
    let name = rec.report.name.clone();
    match outcome {
        Ok(()) => {
            rec.report.stage = Stage::Ready;
            sh.progress
                .finish(&name, &format!("ready ({} node(s))", rec.report.nodes));
        }
        Err(e) => {
            sh.progress
                .finish(&name, &format!("failed at {}: {e}", rec.report.stage.as_str()));
            rec.report.error = Some(e.to_string());
            if job.cluster.role == Role::Hub {
                sh.hub.send_if_modified(|s| {
                    if matches!(s, HubState::Waiting) {
                        *s = HubState::Failed(e.to_string());
                        true
                    } else {
                        false
                    }
                });
            }
            // A cluster of the upgrade that failed before its turn stops the clusters after it.
            sh.gate
                .finish(&name, Turn::Failed(format!("failed at {}", rec.report.stage.as_str())));
            if let Some(tx) = &nodes_tx
                && !rec.nodes_sent
            {
                let _ = tx.send(EdgeNodes { name, nodes: None });
            }
        }
    }
    rec
}

async fn steps(
    sh: &Shared,
    job: &Job,
    rec: &mut Record,
    nodes_tx: Option<&mpsc::UnboundedSender<EdgeNodes>>,
) -> Result<(), Error> {
    if job.read_only {
        return hub::read(sh, job, rec).await;
    }
    let c = &job.cluster;
    rec.stage(sh, Stage::Cluster);
    let ensured = {
        let _slot = sh.permits.acquire().await;
        cluster::ensure(&sh.client, &job.plan).await?
    };
    rec.report.id = Some(ensured.id);
    rec.report.changes.extend(ensured.done.iter().cloned());

    rec.stage(sh, Stage::Kubeconfig);
    let wait = sh.deadline.saturating_duration_since(Instant::now());
    let yaml = sh.client.wait_kubeconfig(ensured.id, wait).await?;
    let k8s = crate::ops::connect::from_api_kubeconfig(&yaml, ensured.id).await?;
    rec.kubeconfig = Some(yaml);
    rec.k8s = Some(k8s.clone());

    rec.stage(sh, Stage::Nodes);
    rec.report.nodes = k8s.wait_nodes_ready(job.plan.expected_nodes(), sh.deadline).await?;
    if cluster::deletes_after_ready(&job.plan) {
        let _slot = sh.permits.acquire().await;
        cluster::delete_after_ready(&sh.client, ensured.id, &job.plan).await?;
    }
    if let Some(tx) = nodes_tx {
        let nodes = match (&job.observed, ensured.pools_changed) {
            (Some(o), false) => NodeAddresses::Known(o.node_ipv4.clone()),
            // The Nodes just waited for report their public addresses: no Linode list call (the list
            // budget is the tightest; see benches/up.rs). Nodes without one are looked up by Linode id.
            _ => {
                let found = k8s.node_addresses().await?;
                if found.unknown.is_empty() {
                    NodeAddresses::Known(found.public_ipv4)
                } else {
                    NodeAddresses::Mixed(found.public_ipv4, found.unknown)
                }
            }
        };
        let _ = tx.send(EdgeNodes {
            name: c.name.get_ref().clone(),
            nodes: Some(nodes),
        });
        rec.nodes_sent = true;
    }

    let applied = match c.role {
        Role::Hub => hub::converge(sh, job, &k8s, ensured.created, rec).await?,
        Role::Edge => edge::converge(sh, job, &k8s, ensured.created, rec).await?,
    };
    if sh.gate.contains(c.name.get_ref()) {
        upgrade_step::upgrade(sh, job, &k8s, ensured.id, &applied.manifests.workloads(), rec).await?;
    }
    Ok(())
}

/// Waits until every edge in scope has reported its nodes (or failed), then puts the rules for all edge
/// addresses; edges that failed keep the addresses discovery saw.
pub(crate) async fn sync_firewall(
    sh: &Shared,
    fw: Option<(Firewall, bool)>,
    mut rx: mpsc::UnboundedReceiver<EdgeNodes>,
    edges: &BTreeSet<String>,
    other_ips: Vec<Ipv4Addr>,
    observed_ips: &BTreeMap<String, Vec<Ipv4Addr>>,
) -> Result<Option<firewall::FirewallReport>, Error> {
    let Some((fw, created)) = fw else {
        while rx.recv().await.is_some() {}
        return Ok(None);
    };
    let mut report = firewall::FirewallReport {
        id: fw.id,
        label: fw.label.clone(),
        created,
        ..Default::default()
    };
    let mut ips = other_ips;
    let mut instances = Vec::new();
    let mut heard = BTreeSet::new();
    while heard.len() < edges.len() {
        let Some(msg) = rx.recv().await else { break };
        match msg.nodes {
            Some(NodeAddresses::Known(known)) => ips.extend(known),
            Some(NodeAddresses::Mixed(known, ids)) => {
                ips.extend(known);
                instances.extend(ids);
            }
            None => {
                report.missing_edges.push(msg.name.clone());
                ips.extend(observed_ips.get(&msg.name).cloned().unwrap_or_default());
            }
        }
        heard.insert(msg.name);
    }
    for e in edges.difference(&heard) {
        if !report.missing_edges.contains(e) {
            report.missing_edges.push(e.clone());
        }
    }
    let _one = sh.firewall_sync.lock().await;
    ips.extend(firewall::addresses_of(&sh.client, &instances).await?);
    let current = fw.rules.as_ref().map(|r| r.rules.clone());
    firewall::sync(&sh.client, &fw, current.as_ref(), &ips, &mut report).await?;
    Ok(Some(report))
}
