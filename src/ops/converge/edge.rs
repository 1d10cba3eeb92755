//! An edge in `up`: once the hub has published its gateway address (and CA), the edge stack pointed at it,
//! this edge's client certificate and gateway credential, then prune and rollouts.

use super::done::Done;
use super::report::Stage;
use super::tasks::Record;
use super::{HubOut, HubState, Job, Shared, stack};
use crate::Error;
use crate::k8s::K8s;
use crate::objects::CLIENT_TLS_SECRET;
use crate::objects::MetricsApi;
use crate::ops::converge::certs::{self, CertAction};
use crate::ops::edge_auth;
use crate::ops::gpu_runtime;
use crate::stack::Inputs;

/// Waits for the hub's gateway address; fails if the hub failed.
async fn hub_ready(sh: &Shared) -> Result<HubOut, Error> {
    let mut rx = sh.hub.subscribe();
    let state = rx
        .wait_for(|s| !matches!(s, HubState::Waiting))
        .await
        .map_err(|_| Error::Internal("the hub task ended without a word".into()))?
        .clone();
    match state {
        HubState::Ready(out) => Ok(out),
        HubState::Failed(why) => Err(Error::Runtime(format!("waits for the hub, which failed ({why})"))),
        HubState::Waiting => Err(Error::Internal("the hub is still waiting".into())),
    }
}

/// Converges an edge's stack; `fresh`: the cluster was created by this run.
pub(super) async fn converge(
    sh: &Shared,
    job: &Job,
    k8s: &K8s,
    fresh: bool,
    rec: &mut Record,
) -> Result<stack::Applied, Error> {
    let fleet = &sh.fleet;
    let name = fleet.name();
    let edge = job.cluster.name.get_ref();
    rec.stage(sh, Stage::Gateway);
    let hub = hub_ready(sh).await?;

    rec.stage(sh, Stage::Stack);
    let inputs = Inputs {
        gateway_address: Some(hub.address.clone()),
        firewall_id: None,
        // Found by `stack::apply` when the stack runs an HPA.
        metrics_api: MetricsApi::Missing,
        // Read by `live_stack::render` from the cluster.
        api_server: Vec::new(),
        gpu_runtime: gpu_runtime::detect(k8s, &job.cluster).await?,
        // Only an `ha` hub's engines use buckets.
        object_store: None,
    };
    let applied = {
        let _slot = sh.permits.acquire().await;
        stack::apply(
            k8s,
            &sh.renderer,
            fleet,
            &job.cluster,
            &inputs,
            &stack::StackPlan::of(&job.plan, fleet, &job.cluster, fresh),
            sh.deadline,
        )
        .await?
    };
    if applied.changed > 0 {
        rec.change(Done::StackApplied {
            objects: applied.changed,
        });
    }

    if let Some(ca) = &hub.ca {
        rec.stage(sh, Stage::Certificates);
        let _slot = sh.permits.acquire().await;
        match certs::ensure_client_cert(k8s, name, edge, ca, sh.rotate).await? {
            CertAction::Kept => {}
            CertAction::Created => rec.change(Done::CertificateIssued {
                certificate: "client certificate".into(),
            }),
            CertAction::Reissued => {
                rec.change(Done::CertificateReissued {
                    certificate: "client certificate".into(),
                });
                if !fresh {
                    for w in applied
                        .manifests
                        .workloads()
                        .iter()
                        .filter(|w| w.namespace == CLIENT_TLS_SECRET.namespace)
                    {
                        k8s.restart(w, "client certificate reissued").await?;
                    }
                }
            }
        }
    }

    if fleet.security.mtls {
        rec.stage(sh, Stage::Certificates);
        let password = hub
            .edge_passwords
            .get(edge)
            .ok_or_else(|| Error::Internal(format!("the hub published no gateway credential for edge {edge}")))?;
        let _slot = sh.permits.acquire().await;
        if edge_auth::ensure_edge(k8s, name, edge, password).await? {
            let (ns, secret) = edge_auth::EDGE_AUTH_SECRET;
            rec.change(Done::GatewayCredentialStored {
                secret: format!("{ns}/{secret}"),
            });
            if !fresh {
                // The agent and the scraper read the password from their environment, set at start.
                for w in applied
                    .manifests
                    .workloads()
                    .iter()
                    .filter(|w| w.namespace == ns && matches!(w.name.as_str(), "otel-agent" | "otel-scraper"))
                {
                    k8s.restart(w, "gateway credential changed").await?;
                }
            }
        }
    }

    rec.stage(sh, Stage::Rollout);
    let pruned = stack::settle(k8s, name, &applied, sh.deadline).await?;
    if pruned > 0 {
        rec.change(Done::Pruned { objects: pruned });
    }
    Ok(applied)
}
