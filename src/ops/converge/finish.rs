//! The end of `up`: the report assembled from the cluster tasks (gateway, how to reach Grafana, firewall,
//! kubeconfig files), the verification rounds when every cluster is ready, and the last report saved.

use tokio::time::Instant;

use super::local_files::{save_last_report, write_kubeconfigs};
use super::report::{Gateway, Report, Verification, grafana_access, grafana_url};
use super::{HubState, Options, Shared, hub, tasks, verify};
use crate::fleet::{Loaded, Role};
use crate::ops::Ctx;
use crate::ops::converge::upgrade::Status;
use crate::ops::gateway_firewall::FirewallReport;
use crate::{Error, naming, probes};

/// "the upgrade stopped at us" when a cluster's upgrade did not finish (its report says why).
fn upgrade_stopped(records: &[tasks::Record]) -> Option<String> {
    let stopped: Vec<&str> = records
        .iter()
        .filter(|r| {
            r.report
                .upgrade
                .as_ref()
                .is_some_and(|u| matches!(u.status, Status::ProbesFailed | Status::Failed))
        })
        .map(|r| r.report.name.as_str())
        .collect();
    (!stopped.is_empty()).then(|| format!("the upgrade stopped at {}", stopped.join(", ")))
}

pub(super) async fn finish(
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
    } else if let Some(stopped) = upgrade_stopped(&records) {
        Verification {
            run: false,
            reason: Some(stopped),
            failed: None,
            probes: Vec::new(),
        }
    } else {
        verify(shared, &records).await
    };
    let failed_probes = verification.failed.unwrap_or(0);
    let report = Report {
        ok: all_ready && failed_probes == 0,
        fleet: name.to_string(),
        clusters: records.iter().map(|r| r.report.clone()).collect(),
        gateway,
        grafana: grafana_access(&hub_ctx, grafana_url, !fleet.security.grafana_allow.is_empty()),
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

/// Runs the probes against the clusters of this run (see [`verify::rounds`]).
async fn verify(shared: &Shared, records: &[tasks::Record]) -> Verification {
    let targets: Vec<probes::Target> = records
        .iter()
        .filter_map(|r| {
            let role = shared.fleet.cluster(&r.report.name)?.role;
            Some(probes::Target {
                name: r.report.name.clone(),
                role,
                k8s: r.k8s.clone()?,
            })
        })
        .collect();
    let outcomes = verify::rounds(shared, &targets, None).await;
    Verification {
        run: true,
        reason: None,
        failed: Some(probes::failed(&outcomes)),
        probes: outcomes,
    }
}
