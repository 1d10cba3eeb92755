//! Converging the account to the fleet file for `up` and `add-edge`: validate and preflight,
//! discover and plan, then one task per cluster run at once (create or adopt, kubeconfig, nodes Ready,
//! stack), the hub publishing its gateway address and CA to the edges, the gateway firewall re-synced once
//! the edges' nodes are known; every step idempotent, so a re-run resumes from whatever the account holds.

pub mod certs;
mod cluster;
mod done;
mod edge;
mod finish;
mod hub;
mod inputs;
mod local_files;
mod report;
mod stack;
mod storage;
mod tasks;
pub mod upgrade;
mod upgrade_step;
mod upgrade_text;
mod verify;

#[cfg(test)]
mod plan_contract_tests;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use crate::ops::gateway_firewall::FirewallReport;
pub use done::Done;
pub use report::{ClusterReport, Gateway, Grafana, Report, Stage, Verification};

use super::{Ctx, cost, gateway_firewall, plan};
use crate::fleet::{Cluster, Fleet, Loaded, Role};
use crate::k8s::K8s;
use crate::linode::Client;
use crate::ops::converge::upgrade::Gate;
use crate::pki::Ca;
use crate::plan::cost::Budget;
use crate::plan::{ClusterPlan, ObservedCluster};
use crate::stack::Renderer;
use crate::ui::progress::{Mode, Progress};
use crate::{Error, naming};

/// The whole run's budget when `--timeout` is not given.
const DEFAULT_BUDGET: Duration = Duration::from_secs(60 * 60);

/// How `up` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Clusters doing API work at once (waits hold no slot).
    pub concurrency: usize,
    pub rotate_certs: bool,
    pub verify: bool,
    /// Only this edge (and a read of the hub): `add-edge`.
    pub only_edge: Option<String>,
    /// Merge the contexts into the user's kubeconfig.
    pub merge_kubeconfig: bool,
    /// Merge them also when the Linode API is simulated (`--merge-kubeconfig`).
    pub merge_simulated_kubeconfig: bool,
    pub progress: Mode,
    /// How long the verification may repeat rounds until every probe passes.
    pub verify_wait: Duration,
    /// `--max-monthly-cost` (else the fleet file's `max_monthly_cost` applies).
    pub max_monthly_cost: Option<f64>,
    /// Edges upgrading at once after the canary (`--upgrade-concurrency`).
    pub upgrade_concurrency: usize,
    /// Switch the hub between `[hub] mode`s, its old stores' data not migrated (`--accept-new-hub-storage`).
    pub accept_new_hub_storage: bool,
}

/// What the hub hands the edges once its gateway has an address.
#[derive(Clone)]
pub(crate) struct HubOut {
    pub address: String,
    pub ca: Option<Arc<Ca>>,
    /// Each edge's gateway password (security.mtls; empty otherwise). Never printed: no `Debug` here.
    pub edge_passwords: Arc<crate::ops::edge_auth::Passwords>,
    /// The hub's API, for an edge's probes after its upgrade.
    pub k8s: K8s,
}

#[derive(Clone)]
pub(crate) enum HubState {
    Waiting,
    Ready(HubOut),
    Failed(String),
}

/// An edge's node addresses, for the firewall: known from discovery, or the node Linodes to look up.
#[derive(Debug)]
pub(crate) struct EdgeNodes {
    pub name: String,
    pub nodes: Option<NodeAddresses>,
}

#[derive(Debug)]
pub(crate) enum NodeAddresses {
    Known(Vec<Ipv4Addr>),
    /// Some known, plus node Linodes whose addresses must be looked up.
    Mixed(Vec<Ipv4Addr>, Vec<u64>),
}

/// Everything the cluster tasks share.
pub(crate) struct Shared {
    pub client: Client,
    pub fleet: Fleet,
    pub renderer: Renderer,
    pub progress: Progress,
    pub permits: Semaphore,
    pub deadline: Instant,
    pub rotate: bool,
    pub firewall_id: Option<u64>,
    pub destinations: BTreeMap<String, SecretString>,
    /// The alert receivers' secrets (`[alerts]`), by variable name.
    pub alert_secrets: BTreeMap<String, SecretString>,
    pub hub: watch::Sender<HubState>,
    /// The clusters this run upgrades, and their order.
    pub gate: Gate,
    /// Held while the gateway firewall's rules are computed and put (each put replaces them all).
    pub firewall_sync: tokio::sync::Mutex<()>,
    /// Probes run (after each cluster's upgrade, and at the end).
    pub verify: bool,
    pub verify_wait: Duration,
    /// An `ha` hub's object storage region, as the preflight found it (None in mode "single").
    pub storage: Option<crate::ops::hub_storage::Preflight>,
}

/// One cluster's work.
pub(crate) struct Job {
    pub cluster: Cluster,
    pub plan: ClusterPlan,
    pub observed: Option<ObservedCluster>,
    /// `add-edge`: the hub's stack is not converged; only read (gateway address, CA), plus the new edge's
    /// gateway credential with mTLS.
    pub read_only: bool,
}

/// Runs `up`: loads the fleet file and converges the account to it.
pub async fn run(ctx: &Ctx, opts: &Options) -> Result<Report, Error> {
    let loaded = ctx.load_fleet_to_apply()?;
    converge(ctx, &loaded, opts).await
}

/// Why `up` refuses a plan before its first write: the problems it lists (resources with the fleet's
/// names that are not its own, moves LKE cannot make).
pub(crate) fn refusal(plan: &crate::plan::Plan) -> Option<Error> {
    (!plan.problems.is_empty()).then(|| Error::Runtime(format!("nothing was changed: {}", plan.problems.join("; "))))
}

/// Converges the account to the fleet file and returns the report; clusters that failed and failed probes
/// are its outcome (see [`Report`]).
pub async fn converge(ctx: &Ctx, loaded: &Loaded, opts: &Options) -> Result<Report, Error> {
    let started = Instant::now();
    let fleet = &loaded.fleet;
    let name = fleet.name().to_string();
    // Said now in text mode; the JSON report carries them.
    ctx.security_warnings(fleet);
    let renderer = Renderer::new()?;
    let client = ctx.require_linode("up")?;
    // Everything that can be checked is checked before the first write.
    let destinations = inputs::destination_tokens(&ctx.env, loaded)?;
    let alert_secrets = inputs::alert_secrets(&ctx.env, ctx.trust.tokens.as_ref(), loaded)?;
    let objects = match &opts.only_edge {
        None => plan::Objects::All,
        Some(edge) => plan::Objects::HubAnd(edge),
    };
    let planned = plan::compute(ctx, &client, loaded, &renderer, objects).await?;
    let (observed, plan) = (planned.observed, planned.plan);
    if let Some(refused) = refusal(&plan) {
        return Err(refused);
    }
    // add-edge converges only the new edge: the hub's stack is left as it runs.
    if let Some(switch) = &plan.hub_mode_switch
        && opts.only_edge.is_none()
        && !opts.accept_new_hub_storage
    {
        return Err(Error::Usage(format!(
            "{}: {}; nothing was changed: run `lkeobs up --accept-new-hub-storage` to make the switch",
            loaded.file,
            switch.describe()
        )));
    }
    if let Some(budget) = Budget::resolve(opts.max_monthly_cost, fleet) {
        let cost = cost::price(&client, fleet, Some(&observed.clusters), &renderer).await?;
        cost::enforce(Some(budget), &cost)?;
    }
    let find = |c: &Cluster| {
        let label = naming::cluster_label(&name, c.name.get_ref());
        observed.clusters.iter().find(|o| o.cluster.label == label).cloned()
    };
    if opts.only_edge.is_some() && find(&fleet.hub).is_none() {
        return Err(Error::Usage(format!(
            "the hub of fleet {name:?} does not exist yet: run `lkeobs up` first"
        )));
    }
    let deadline = ctx.deadline().unwrap_or_else(|| Instant::now() + DEFAULT_BUDGET);

    // Which clusters this run works on; the others' node addresses stay in the firewall as discovered.
    let in_scope = |c: &Cluster| match &opts.only_edge {
        None => true,
        Some(e) => c.name.get_ref() == e,
    };
    let mut jobs = Vec::new();
    let mut other_ips: Vec<Ipv4Addr> = Vec::new();
    let mut observed_ips: BTreeMap<String, Vec<Ipv4Addr>> = BTreeMap::new();
    for c in fleet.clusters() {
        let have = find(c);
        if c.role == Role::Edge
            && let Some(h) = &have
        {
            observed_ips.insert(c.name.get_ref().clone(), h.node_ipv4.clone());
            if !in_scope(c) {
                other_ips.extend(h.node_ipv4.iter().copied());
            }
        }
        let read_only = c.role == Role::Hub && opts.only_edge.is_some();
        if !in_scope(c) && !read_only {
            continue;
        }
        let Some(cp) = plan.clusters.iter().find(|p| p.name == *c.name.get_ref()) else {
            continue;
        };
        jobs.push(Job {
            cluster: c.clone(),
            plan: cp.clone(),
            observed: have,
            read_only,
        });
    }

    // The firewall comes first: the hub's gateway Service names it from its first apply.
    let fw = if fleet.security.gateway_firewall {
        Some(gateway_firewall::ensure(&client, observed.firewall.as_ref(), plan.firewall.as_ref()).await?)
    } else {
        None
    };

    // Clusters whose plan holds an upgrade (started, or one to finish), in fleet order.
    let upgrading: Vec<(String, Role)> = jobs
        .iter()
        .filter(|j| !j.read_only && j.plan.changes.iter().any(|c| c.upgrade_to().is_some()))
        .map(|j| (j.cluster.name.get_ref().clone(), j.cluster.role))
        .collect();
    let progress = Progress::new(opts.progress, jobs.iter().map(|j| j.cluster.name.get_ref().as_str()));
    let (hub_tx, _) = watch::channel(HubState::Waiting);
    let shared = Arc::new(Shared {
        client: client.clone(),
        fleet: fleet.clone(),
        renderer,
        progress,
        permits: Semaphore::new(opts.concurrency.max(1)),
        deadline,
        rotate: opts.rotate_certs,
        firewall_id: fw.as_ref().map(|(f, _)| f.id),
        destinations,
        alert_secrets,
        hub: hub_tx,
        gate: Gate::new(&upgrading, opts.upgrade_concurrency),
        firewall_sync: tokio::sync::Mutex::new(()),
        verify: opts.verify,
        verify_wait: opts.verify_wait,
        storage: planned.storage_preflight,
    });
    let (nodes_tx, nodes_rx) = mpsc::unbounded_channel();
    let edges_in_scope: BTreeSet<String> = jobs
        .iter()
        .filter(|j| j.cluster.role == Role::Edge)
        .map(|j| j.cluster.name.get_ref().clone())
        .collect();
    let mut set = JoinSet::new();
    for job in jobs {
        let tx = (job.cluster.role == Role::Edge).then(|| nodes_tx.clone());
        set.spawn(tasks::drive(shared.clone(), job, tx));
    }
    drop(nodes_tx);

    let collect = async {
        let mut records = Vec::new();
        while let Some(joined) = set.join_next().await {
            match joined {
                Ok(r) => records.push(r),
                Err(e) => return Err(Error::Internal(format!("a cluster task failed: {e}"))),
            }
        }
        Ok(records)
    };
    let firewall_sync = tasks::sync_firewall(&shared, fw, nodes_rx, &edges_in_scope, other_ips, &observed_ips);
    let (records, fw_report) = tokio::join!(collect, firewall_sync);
    let records = records?;
    shared.progress.abandon();

    finish::finish(ctx, &shared, loaded, opts, records, fw_report, started).await
}
