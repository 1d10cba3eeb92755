//! A cluster's Kubernetes upgrade inside `up`: once its stack has converged it waits for its turn in the
//! fleet's order (`ops::upgrade::Gate`), then runs the upgrade's stages, its probes against the hub it
//! sends to, and records the outcome for the report and for the clusters after it.

use futures::FutureExt;
use futures::future::BoxFuture;

use super::report::Stage;
use super::tasks::Record;
use super::{HubState, Job, Shared, verify};
use crate::Error;
use crate::fleet::Role;
use crate::k8s::{K8s, Workload};
use crate::ops::converge::upgrade::{NodesChanged, Status, Turn, Upgrade, UpgradeReport};
use crate::ops::gateway_firewall;
use crate::probes::{Outcome, Target};

/// The cluster's probes after its upgrade: an edge's against the hub its data goes to.
async fn probes(sh: &Shared, name: &str, role: Role, k8s: &K8s) -> Vec<Outcome> {
    let mut targets = vec![Target {
        name: name.to_string(),
        role,
        k8s: k8s.clone(),
    }];
    if role == Role::Edge {
        let hub = match &*sh.hub.borrow() {
            HubState::Ready(out) => Some(out.k8s.clone()),
            _ => None,
        };
        match hub {
            Some(hub) => targets.push(Target {
                name: "hub".into(),
                role: Role::Hub,
                k8s: hub,
            }),
            None => {
                return vec![Outcome::fail(
                    "hub",
                    name,
                    "the hub cannot be reached to find this edge's data",
                )];
            }
        }
    }
    verify::rounds(sh, &targets, Some(name)).await
}

fn list(ips: &[String]) -> String {
    if ips.is_empty() { "-".into() } else { ips.join(", ") }
}

/// Upgrades the cluster in its turn; the report goes into `rec`. Fails (the cluster did not finish) when a
/// step of the upgrade failed; failed probes and a skipped turn are outcomes, not errors.
pub(super) async fn upgrade(
    sh: &Shared,
    job: &Job,
    k8s: &K8s,
    cluster_id: u64,
    workloads: &[Workload],
    rec: &mut Record,
) -> Result<(), Error> {
    let c = &job.cluster;
    let name = c.name.get_ref().as_str();
    let to = sh.fleet.fleet.k8s_version.get_ref().clone();
    let from = job
        .observed
        .as_ref()
        .map_or_else(|| to.clone(), |o| o.cluster.k8s_version.clone());
    let canary = sh.gate.canary() == Some(name);
    rec.stage(sh, Stage::UpgradeTurn);
    let _permit = match sh.gate.turn(name, c.role).await {
        Ok(permit) => permit,
        Err(skipped) => {
            sh.gate.finish(name, Turn::Skipped);
            sh.progress.step(name, &skipped.0);
            rec.report.upgrade = Some(UpgradeReport::skipped(&from, &to, canary, skipped.0));
            return Ok(());
        }
    };
    rec.stage(sh, Stage::Upgrade);
    let say = |what: String| sh.progress.step(name, &format!("upgrade to {to}: {what}"));
    // An edge's new nodes have new addresses: the gateway firewall must let them in before its data
    // (and its probes) can pass. One re-sync at a time: each puts the whole rule set.
    let resync = || -> BoxFuture<'_, Result<(), Error>> {
        async {
            let _one = sh.firewall_sync.lock().await;
            if let Some(r) = gateway_firewall::resync(&sh.client, &sh.fleet).await?
                && !(r.added.is_empty() && r.removed.is_empty())
            {
                say(format!(
                    "gateway firewall re-synced (allows now {}; no longer {})",
                    list(&r.added),
                    list(&r.removed)
                ));
            }
            Ok(())
        }
        .boxed()
    };
    let edge_behind_firewall = c.role == Role::Edge && sh.fleet.security.gateway_firewall;
    let run = Upgrade {
        client: &sh.client,
        k8s,
        cluster_id,
        from,
        to: to.clone(),
        canary,
        workloads,
        deadline: sh.deadline,
        say: &say,
        nodes_changed: edge_behind_firewall.then_some(&resync as NodesChanged<'_>),
    };
    let verify = sh.verify.then(|| probes(sh, name, c.role, k8s));
    let report = run.run(verify).await;
    sh.gate.finish(name, report.turn());
    let failed = (report.status == Status::Failed).then(|| report.detail.clone().unwrap_or_default());
    rec.report.upgrade = Some(report);
    match failed {
        Some(why) => Err(Error::Runtime(format!("the upgrade to {to} failed: {why}"))),
        None => Ok(()),
    }
}
