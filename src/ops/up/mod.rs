//! `lkeobs up` (DESIGN §4): validate and preflight, discover and plan, then one task per cluster run at once
//! (create or adopt, kubeconfig, nodes Ready, stack), the hub publishing its gateway address and CA to the
//! edges, the gateway firewall re-synced once the edges' nodes are known; every step idempotent, so a
//! re-run (or `add-edge`) resumes from whatever the account holds.

mod cluster;
mod edge;
mod firewall;
mod hub;
mod report;
mod stack;
mod tasks;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use firewall::FirewallReport;
pub use report::{ClusterReport, Gateway, Grafana, Report, Stage, Verification};
use report::{grafana_ca_command, grafana_url};

use super::{Ctx, discover};
use crate::cli::UpArgs;
use crate::fleet::{Cluster, Diag, Fleet, FleetError, Loaded, Role};
use crate::linode::Client;
use crate::pki::Ca;
use crate::plan::{self, ClusterPlan, ObservedCluster};
use crate::stack::Renderer;
use crate::ui::progress::{Mode, Progress};
use crate::{Error, kubeconfig, naming};

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
    pub progress: Mode,
    /// How long the verification may repeat rounds until every probe passes.
    pub verify_wait: Duration,
}

impl Options {
    pub fn from_args(args: &UpArgs) -> Self {
        Options {
            concurrency: usize::from(args.concurrency),
            rotate_certs: args.rotate_certs,
            verify: !args.no_verify,
            only_edge: None,
            merge_kubeconfig: !args.no_kubeconfig,
            progress: Mode::detect(),
            verify_wait: args.verify_wait,
        }
    }
}

/// What the hub hands the edges once its gateway has an address.
#[derive(Clone)]
pub(crate) struct HubOut {
    pub address: String,
    pub ca: Option<Arc<Ca>>,
    /// Each edge's gateway password (security.mtls; empty otherwise). Never printed: no `Debug` here.
    pub edge_passwords: Arc<crate::ops::edge_auth::Passwords>,
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
    pub hub: watch::Sender<HubState>,
}

/// One cluster's work.
pub(crate) struct Job {
    pub cluster: Cluster,
    pub plan: ClusterPlan,
    pub observed: Option<ObservedCluster>,
    /// `add-edge`: the hub's stack is not converged; only read (gateway address, CA), plus the new edge's
    /// gateway credential with mTLS.
    pub read_only: bool,
    /// The fleet's expiry (`ttl`), for the tags.
    pub expires: Option<u64>,
}

/// Runs `up` (`--dry-run` is `plan`, dispatched by `run`).
pub async fn run(ctx: &Ctx, args: &UpArgs) -> Result<Report, Error> {
    let loaded = ctx.load_fleet()?;
    converge(ctx, &loaded, &Options::from_args(args)).await
}

/// The destinations' tokens from the environment; a missing one is an error on its `token_env` line,
/// raised before anything is created.
fn destination_tokens(loaded: &Loaded) -> Result<BTreeMap<String, SecretString>, Error> {
    let mut tokens = BTreeMap::new();
    let mut errors = Vec::new();
    for (i, d) in loaded.fleet.destinations.iter().enumerate() {
        let Some(env) = &d.token_env else { continue };
        match std::env::var(env.get_ref()) {
            Ok(v) if !v.trim().is_empty() => {
                tokens.insert(env.get_ref().clone(), SecretString::from(v));
            }
            _ => errors.push(loaded.locate(
                &Diag::new(
                    env.span(),
                    format!("destinations[{i}].token_env"),
                    format!("the environment variable {} is not set (or empty)", env.get_ref()),
                )
                .help("export it before running up: its value becomes the Secret observability-hub/lkeobs-destinations"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(tokens)
    } else {
        Err(FleetError::Invalid {
            file: loaded.file.clone(),
            errors,
        }
        .into())
    }
}

/// The fleet's expiry (unix seconds) when it has a `ttl`: the one its clusters already carry, else now + ttl.
fn expiry(fleet: &Fleet, observed: &plan::Observed) -> Result<Option<u64>, Error> {
    let Some(ttl) = &fleet.fleet.ttl else {
        return Ok(None);
    };
    let existing = observed
        .clusters
        .iter()
        .filter(|o| plan::is_ours(&o.cluster.tags, fleet.name()))
        .flat_map(|o| o.cluster.tags.iter())
        .filter_map(|t| naming::parse_expires_tag(t))
        .min();
    if existing.is_some() {
        return Ok(existing);
    }
    let ttl = crate::fleet::duration::parse(ttl.get_ref()).map_err(Error::Usage)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| Error::Internal(format!("the clock is before 1970: {e}")))?;
    Ok(Some((now + ttl).as_secs()))
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
    let destinations = destination_tokens(loaded)?;
    discover::preflight(&client, loaded).await?;
    let observed = discover::observe(&client, fleet).await?;
    let plan = plan::online(fleet, &observed, &renderer)?;
    if !plan.problems.is_empty() {
        return Err(Error::Runtime(format!(
            "nothing was changed: {}",
            plan.problems.join("; ")
        )));
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
    let expires = expiry(fleet, &observed)?;
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
            expires,
        });
    }

    // The firewall comes first: the hub's gateway Service names it from its first apply.
    let fw = if fleet.security.gateway_firewall {
        let known: Vec<Ipv4Addr> = observed_ips.values().flatten().copied().collect();
        Some(firewall::ensure(&client, fleet, observed.firewall.as_ref(), &known, expires).await?)
    } else {
        None
    };

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
        hub: hub_tx,
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

    finish(ctx, &shared, loaded, opts, records, fw_report, started).await
}

async fn finish(
    ctx: &Ctx,
    shared: &Shared,
    loaded: &Loaded,
    opts: &Options,
    mut records: Vec<tasks::Record>,
    fw_report: Result<Option<FirewallReport>, Error>,
    started: Instant,
) -> Result<Report, Error> {
    let fleet = &loaded.fleet;
    let name = fleet.name();
    let order: Vec<String> = fleet.clusters().map(|c| c.name.get_ref().clone()).collect();
    records.sort_by_key(|r| order.iter().position(|n| *n == r.report.name));
    let hub_ctx = naming::context_name(name, "hub");
    let gateway = match &*shared.hub.borrow() {
        HubState::Ready(h) => Some(Gateway {
            address: h.address.clone(),
            otlp_grpc: format!("{}:4317", h.address),
            otlp_http: format!("https://{}:4318", h.address),
            mtls: fleet.security.mtls,
        }),
        _ => None,
    };
    let hub_k8s = records
        .iter()
        .find(|r| r.report.role == Role::Hub)
        .and_then(|r| r.k8s.clone());
    let grafana_url = match (&hub_k8s, fleet.security.grafana_allow.is_empty()) {
        (Some(k8s), false) => hub::grafana_address(k8s).await.map(|a| grafana_url(&a)),
        _ => None,
    };
    let mut notes_failed = Vec::new();
    let firewall = match fw_report {
        Ok(f) => f,
        Err(e) => {
            notes_failed.push(format!("gateway firewall: {e}"));
            None
        }
    };
    let kubeconfig = write_kubeconfigs(ctx, name, &records, opts);
    let all_ready = records.iter().all(|r| r.report.error.is_none()) && notes_failed.is_empty();
    let verification = if !opts.verify {
        Verification {
            run: false,
            reason: Some("--no-verify".into()),
            failed: None,
            probes: Vec::new(),
        }
    } else if !all_ready {
        Verification {
            run: false,
            reason: Some("not every cluster is ready".into()),
            failed: None,
            probes: Vec::new(),
        }
    } else {
        verify(shared, &records, opts).await
    };
    let failed_probes = verification.failed.unwrap_or(0);
    let report = Report {
        ok: all_ready && failed_probes == 0,
        fleet: name.to_string(),
        clusters: records.iter().map(|r| r.report.clone()).collect(),
        gateway,
        grafana: Grafana {
            url: grafana_url,
            port_forward: format!("kubectl --context {hub_ctx} -n monitoring port-forward svc/grafana 3000:3000"),
            ca_command: (!fleet.security.grafana_allow.is_empty()).then(|| grafana_ca_command(&hub_ctx)),
            password_command: format!(
                "kubectl --context {hub_ctx} -n monitoring get secret grafana-admin -o jsonpath='{{.data.admin-password}}' | base64 -d"
            ),
        },
        firewall,
        verification,
        kubeconfig,
        unfinished: notes_failed,
        warnings: crate::fleet::warnings::security_warnings(fleet),
        seconds: started.elapsed().as_secs_f64(),
        api_calls: ctx.api_calls(),
    };
    save_last_report(ctx, name, &report);
    Ok(report)
}

/// Time between verification rounds.
const VERIFY_PAUSE: Duration = Duration::from_secs(15);

/// Runs the probes against the clusters of this run, repeating rounds for up to `verify_wait` until one
/// passes (a new fleet needs a few minutes before data flows).
async fn verify(shared: &Shared, records: &[tasks::Record], opts: &Options) -> Verification {
    let targets: Vec<crate::probes::Target> = records
        .iter()
        .filter_map(|r| {
            let role = shared.fleet.cluster(&r.report.name)?.role;
            Some(crate::probes::Target {
                name: r.report.name.clone(),
                role,
                k8s: r.k8s.clone()?,
            })
        })
        .collect();
    let end = (Instant::now() + opts.verify_wait).min(shared.deadline);
    let mut round = 0;
    let outcomes = loop {
        round += 1;
        let options = crate::probes::Options {
            canary: false,
            deadline: shared.deadline,
        };
        let outcomes = crate::probes::run(&shared.fleet, &targets, &options).await;
        let failed = crate::probes::failed(&outcomes);
        let next = Instant::now() + VERIFY_PAUSE;
        if failed == 0 || next >= end {
            break outcomes;
        }
        shared.progress.line(&format!(
            "verification round {round}: {failed} probe(s) not passing yet; next round in {}s",
            VERIFY_PAUSE.as_secs()
        ));
        tokio::time::sleep_until(next).await;
    };
    Verification {
        run: true,
        reason: None,
        failed: Some(crate::probes::failed(&outcomes)),
        probes: outcomes,
    }
}

/// Writes the contexts to the state cache and (unless told not to) merges them into the user's kubeconfig.
/// A failure here is a warning: the clusters are up, `lkeobs kubeconfig` can write them again.
fn write_kubeconfigs(ctx: &Ctx, fleet: &str, records: &[tasks::Record], opts: &Options) -> Vec<String> {
    let mut entries = Vec::new();
    for r in records {
        if let Some(yaml) = &r.kubeconfig {
            match kubeconfig::entry_from_api(yaml, &r.report.context) {
                Ok(e) => entries.push(e),
                Err(e) => ctx
                    .printer
                    .warn(&format!("{}: kubeconfig not written: {e}", r.report.context)),
            }
        }
    }
    if entries.is_empty() {
        return Vec::new();
    }
    let mut files = Vec::new();
    let mut targets = Vec::new();
    if let Some(dir) = ctx.paths.fleet_state(fleet) {
        targets.push(dir.join("kubeconfig"));
    }
    if opts.merge_kubeconfig
        && let Some(p) = &ctx.paths.kubeconfig
    {
        targets.push(p.clone());
    }
    for path in targets {
        match kubeconfig::merge_file(&path, &entries, None) {
            Ok(()) => files.push(path.display().to_string()),
            Err(e) => ctx.printer.warn(&format!(
                "kubeconfig not written to {}: {e}; `lkeobs kubeconfig --merge` writes it later",
                path.display()
            )),
        }
    }
    files
}

/// Keeps the last report (no secrets in it) in the state cache, 0600.
fn save_last_report(ctx: &Ctx, fleet: &str, report: &Report) {
    let Some(dir) = ctx.paths.fleet_state(fleet) else {
        return;
    };
    if let Ok(text) = serde_json::to_vec_pretty(report)
        && let Err(e) = kubeconfig::write_private(&dir.join("last-up.json"), &text)
    {
        tracing::debug!(error = %e, "last report not saved");
    }
}
