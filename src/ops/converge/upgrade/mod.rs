//! Fleet Kubernetes upgrades in `up`: which clusters move to the fleet's version and in which order
//! ([`gate`]: one edge first as the canary, the other edges a few at a time, the hub last), and one
//! cluster's upgrade ([`run`]): control plane, nodes replaced ([`nodes`]), rollouts, that cluster's probes,
//! with each stage timed. A tag on the cluster marks an upgrade in progress, so a re-run finishes it.

pub mod gate;
mod nodes;

use std::future::Future;

use futures::future::BoxFuture;

use serde::Serialize;
use tokio::time::Instant;

pub use gate::{Gate, Skipped, Turn};
pub use nodes::Replaced;

use crate::Error;
use crate::k8s::budgets::RigidBudget;
use crate::k8s::drain::major_minor;
use crate::k8s::{K8s, Workload};
use crate::linode::Client;
use crate::probes::{self, Outcome};

/// How a cluster's upgrade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Done,
    /// Upgraded, but its probes failed afterwards: the fleet's upgrade stopped there.
    ProbesFailed,
    /// A step failed (see `detail`).
    Failed,
    /// Not started: an earlier cluster's upgrade failed.
    Skipped,
    /// Not started, nothing of it touched: a PodDisruptionBudget of the cluster can never let a pod go,
    /// so no node could be drained (`detail` names it and what to change).
    Blocked,
}

/// How long one stage took.
#[derive(Debug, Clone, Serialize)]
pub struct StageTime {
    /// `control_plane`, `nodes`, `rollouts`, `probes`.
    pub stage: &'static str,
    pub seconds: f64,
}

/// How long a StatefulSet (the hub's single-replica stores: Prometheus, Loki, Tempo) was down while its
/// pod moved to a new node: from the eviction to the new pod Ready (its volume detached and attached
/// in between).
#[derive(Debug, Clone, Serialize)]
pub struct StoreDowntime {
    /// `namespace/name` of the StatefulSet.
    pub store: String,
    /// Down in all, over every move.
    pub seconds: f64,
    /// How many times its pod moved.
    pub moves: usize,
}

/// One cluster's upgrade, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeReport {
    /// The control plane's version before.
    pub from: String,
    pub to: String,
    /// The control plane's version at the end.
    pub after: String,
    pub status: Status,
    /// The first edge upgraded, whose failure stops the rest.
    pub canary: bool,
    pub nodes_replaced: usize,
    pub stages: Vec<StageTime>,
    /// The StatefulSets whose pods moved, and how long each was down.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<StoreDowntime>,
    /// Nodes whose kubelet version could not be read: never counted as upgraded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable_nodes: Vec<String>,
    /// The PodDisruptionBudgets that can never let a pod go (the upgrade is `blocked`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<RigidBudget>,
    /// Why it failed or was skipped; that the probes were skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The cluster's probes after its upgrade.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<Outcome>,
}

impl UpgradeReport {
    /// A cluster whose turn never came.
    pub fn skipped(from: &str, to: &str, canary: bool, why: String) -> UpgradeReport {
        UpgradeReport {
            from: from.into(),
            to: to.into(),
            after: from.into(),
            status: Status::Skipped,
            canary,
            nodes_replaced: 0,
            stages: Vec::new(),
            stores: Vec::new(),
            unreadable_nodes: Vec::new(),
            blocked_by: Vec::new(),
            detail: Some(why),
            probes: Vec::new(),
        }
    }

    /// What the gate hears of it.
    pub fn turn(&self) -> Turn {
        match self.status {
            Status::Done => Turn::Done,
            Status::Skipped => Turn::Skipped,
            Status::Blocked => Turn::Blocked(blocked_by(&self.blocked_by)),
            Status::ProbesFailed | Status::Failed => {
                Turn::Failed(self.detail.clone().unwrap_or_else(|| "failed".into()))
            }
        }
    }
}

/// `PodDisruptionBudget a/b can never let a pod go (…): …; …`.
fn blocked_by(budgets: &[RigidBudget]) -> String {
    budgets.iter().map(RigidBudget::describe).collect::<Vec<_>>().join("; ")
}

/// Called once nodes of the new version are Ready (and again once the old ones are gone), e.g. to put the
/// new nodes' addresses into the gateway firewall before an edge's data must pass it.
pub type NodesChanged<'a> = &'a (dyn Fn() -> BoxFuture<'a, Result<(), Error>> + Sync);

/// One cluster's upgrade: where and how.
pub struct Upgrade<'a> {
    pub client: &'a Client,
    pub k8s: &'a K8s,
    pub cluster_id: u64,
    /// The control plane's version when the run started.
    pub from: String,
    pub to: String,
    pub canary: bool,
    /// The stack's workloads, waited for once the nodes are replaced.
    pub workloads: &'a [Workload],
    pub deadline: Instant,
    /// Progress: what the cluster does now.
    pub say: &'a (dyn Fn(String) + Sync),
    pub nodes_changed: Option<NodesChanged<'a>>,
}

impl Upgrade<'_> {
    /// Control plane to the new version, with the tag that marks the upgrade in progress (one PUT).
    async fn control_plane(&self) -> Result<String, Error> {
        let have = self.client.get_lke_cluster(self.cluster_id).await?;
        let Some(req) = crate::plan::upgrade_control_plane(&have.tags, &have.k8s_version, &self.to) else {
            return Ok(have.k8s_version);
        };
        (self.say)(format!("control plane {} → {}", have.k8s_version, self.to));
        Ok(self.client.update_lke_cluster(self.cluster_id, &req).await?.k8s_version)
    }

    /// Drops the in-progress tag.
    async fn untag(&self) -> Result<(), Error> {
        let have = self.client.get_lke_cluster(self.cluster_id).await?;
        if let Some(req) = crate::plan::upgrade_untag(&have.tags) {
            self.client.update_lke_cluster(self.cluster_id, &req).await?;
        }
        Ok(())
    }

    /// Runs the stages; `verify` (None: `--no-verify`) yields the cluster's probe outcomes.
    pub async fn run<F>(&self, verify: Option<F>) -> UpgradeReport
    where
        F: Future<Output = Vec<Outcome>>,
    {
        let mut report = UpgradeReport {
            from: self.from.clone(),
            to: self.to.clone(),
            after: self.from.clone(),
            status: Status::Failed,
            canary: self.canary,
            nodes_replaced: 0,
            stages: Vec::new(),
            stores: Vec::new(),
            unreadable_nodes: Vec::new(),
            blocked_by: Vec::new(),
            detail: None,
            probes: Vec::new(),
        };
        if let Err(e) = self.stages(&mut report, verify).await {
            report.status = Status::Failed;
            report.detail = Some(e.to_string());
        }
        report
    }

    async fn stages<F>(&self, report: &mut UpgradeReport, verify: Option<F>) -> Result<(), Error>
    where
        F: Future<Output = Vec<Outcome>>,
    {
        let target = major_minor(&self.to)
            .ok_or_else(|| Error::Internal(format!("{:?} is not a Kubernetes version", self.to)))?;
        // Before anything is touched: a budget that can never let a pod go would stop the first drain.
        let rigid = self.k8s.rigid_budgets().await?;
        if !rigid.is_empty() {
            let why = blocked_by(&rigid);
            (self.say)(format!("not started, nothing changed: {why}"));
            report.status = Status::Blocked;
            report.detail = Some(format!("blocked before any change: {why}"));
            report.blocked_by = rigid;
            return Ok(());
        }
        let mut clock = Instant::now();
        let mut lap = |report: &mut UpgradeReport, stage: &'static str| {
            report.stages.push(StageTime {
                stage,
                seconds: clock.elapsed().as_secs_f64(),
            });
            clock = Instant::now();
        };
        report.after = self.control_plane().await?;
        lap(report, "control_plane");

        (self.say)("replacing nodes of the old version".into());
        let replace = nodes::Replace {
            client: self.client,
            k8s: self.k8s,
            cluster_id: self.cluster_id,
            target,
            deadline: self.deadline,
            say: self.say,
            nodes_changed: self.nodes_changed,
            downtime: std::sync::Mutex::default(),
        };
        let replaced = replace.all().await;
        report.stores = replace.downtimes();
        let replaced = replaced?;
        report.nodes_replaced = replaced.count;
        if let Some(changed) = self.nodes_changed {
            changed().await?;
        }
        lap(report, "nodes");
        if !replaced.unreadable.is_empty() {
            report.detail = Some(format!(
                "the kubelet version of node(s) {} cannot be read: not counted as upgraded (check them with \
                 `kubectl get nodes -o wide`, replace them if they are old, then re-run `lkeobs up`)",
                replaced.unreadable.join(", ")
            ));
            report.unreadable_nodes = replaced.unreadable;
            return Ok(());
        }

        (self.say)("waiting for rollouts on the new nodes".into());
        self.k8s.wait_rollouts(self.workloads, self.deadline).await?;
        lap(report, "rollouts");

        match verify {
            Some(probes_run) => {
                (self.say)("probing the upgraded cluster".into());
                report.probes = probes_run.await;
                lap(report, "probes");
                let failed: Vec<String> = report
                    .probes
                    .iter()
                    .filter(|o| o.failed())
                    .map(|o| format!("{}: {}", o.name, o.detail))
                    .collect();
                if !failed.is_empty() {
                    report.status = Status::ProbesFailed;
                    report.detail = Some(format!(
                        "failed {} probe(s) after its upgrade: {}",
                        probes::failed(&report.probes),
                        failed.join("; ")
                    ));
                    return Ok(());
                }
            }
            None => report.detail = Some("probes skipped (--no-verify)".into()),
        }
        self.untag().await?;
        report.status = Status::Done;
        Ok(())
    }
}
