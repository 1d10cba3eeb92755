//! The hub in `up`: its stack with the firewall id on the gateway Service, the CA, the Grafana password and
//! destination tokens, the gateway's LoadBalancer address and server certificate (published to the edges
//! as soon as they exist), Grafana's certificate for its LoadBalancer address when it has one, then prune
//! and rollouts; with mTLS each edge's gateway credential (edges gone from the fleet revoked). `add-edge`
//! reads the hub and adds the new edge's credential there (never drops another's).

use std::sync::Arc;

use super::done::Done;
use super::report::Stage;
use super::tasks::Record;
use super::{HubOut, HubState, Job, Shared, stack, storage};
use crate::Error;
use crate::k8s::K8s;
use crate::objects::{CA_SECRET, GATEWAY, GATEWAY_LB, GRAFANA, GRAFANA_TLS_SECRET, MetricsApi};
use crate::ops::connect::{connect, gateway_address};
use crate::ops::converge::certs::{self, CertAction};
use crate::ops::edge_auth::{self, Passwords};
use crate::ops::gpu_runtime;
use crate::pki::Ca;
use crate::stack::Inputs;

/// Grafana's LoadBalancer address, when it has one (`grafana_allow` set).
pub(super) async fn grafana_address(hub: &K8s) -> Option<String> {
    hub.load_balancer_address(GRAFANA.namespace, GRAFANA.name).await.ok()?
}

/// Grafana's server certificate for its LoadBalancer address (`grafana_allow` set): Grafana serves HTTPS
/// only, and its pod waits for this Secret. A reissued certificate restarts Grafana (read at start).
async fn grafana_cert(
    sh: &Shared,
    k8s: &K8s,
    ca: &Ca,
    applied: &stack::Applied,
    fresh: bool,
    rec: &mut Record,
) -> Result<(), Error> {
    let address = k8s
        .wait_load_balancer(GRAFANA.namespace, GRAFANA.name, sh.deadline)
        .await?;
    let _slot = sh.permits.acquire().await;
    let what = format!(
        "Grafana server certificate (Secret {}/{})",
        GRAFANA_TLS_SECRET.namespace, GRAFANA_TLS_SECRET.name
    );
    match certs::ensure_grafana_cert(k8s, sh.fleet.name(), ca, &address, sh.rotate).await? {
        CertAction::Kept => {}
        CertAction::Created => rec.change(Done::CertificateIssued { certificate: what }),
        CertAction::Reissued => {
            rec.change(Done::CertificateReissued { certificate: what });
            if !fresh {
                for w in applied
                    .manifests
                    .workloads()
                    .iter()
                    .filter(|w| w.namespace == GRAFANA.namespace && w.name == GRAFANA.name)
                {
                    k8s.restart(w, "Grafana certificate reissued").await?;
                }
            }
        }
    }
    Ok(())
}

/// The fleet's edges' gateway credentials (security.mtls): every edge gets one, those of edges no longer
/// in the fleet are dropped when `prune` (`up`; `add-edge` only adds). The gateway is restarted when its
/// htpasswd file changed and it was already running (`restart`).
async fn edge_credentials(
    sh: &Shared,
    k8s: &K8s,
    prune: bool,
    restart: bool,
    rec: &mut Record,
) -> Result<Passwords, Error> {
    let edges: Vec<&str> = sh.fleet.edges.iter().map(|e| e.name.get_ref().as_str()).collect();
    let (passwords, change) = edge_auth::ensure_hub(k8s, sh.fleet.name(), &edges, prune).await?;
    if let Some(summary) = change.summary() {
        rec.change(Done::EdgeCredentials { summary });
    }
    if change.htpasswd_changed && restart {
        edge_auth::restart_gateway(
            k8s,
            sh.fleet.stack.persistent_queue.is_some(),
            "edge credentials changed",
        )
        .await?;
    }
    Ok(passwords)
}

fn publish(sh: &Shared, out: HubOut) {
    sh.hub.send_replace(HubState::Ready(out));
}

/// Converges the hub's stack; `fresh`: the cluster was created by this run.
pub(super) async fn converge(
    sh: &Shared,
    job: &Job,
    k8s: &K8s,
    fresh: bool,
    rec: &mut Record,
) -> Result<stack::Applied, Error> {
    let fleet = &sh.fleet;
    let name = fleet.name();
    let grafana_tls = !fleet.security.grafana_allow.is_empty();
    rec.stage(sh, Stage::Stack);
    // An `ha` hub's buckets and key first: the engines are rendered with their names.
    let storage = match &sh.storage {
        Some(preflight) => Some(storage::provision(sh, k8s, preflight, rec).await?),
        None => None,
    };
    let inputs = Inputs {
        gateway_address: None,
        firewall_id: sh.firewall_id,
        // Found by `stack::apply` when the stack runs an HPA.
        metrics_api: MetricsApi::Missing,
        // Read by `live_stack::render` from the cluster.
        api_server: Vec::new(),
        gpu_runtime: gpu_runtime::detect(k8s, &job.cluster).await?,
        object_store: storage.as_ref().map(storage::Provisioned::inputs),
    };
    let (applied, ca) = {
        let _slot = sh.permits.acquire().await;
        let applied = stack::apply(
            k8s,
            &sh.renderer,
            fleet,
            &job.cluster,
            &inputs,
            &stack::StackPlan::of(&job.plan, fleet, &job.cluster, fresh),
            sh.deadline,
        )
        .await?;
        if applied.changed > 0 {
            rec.change(Done::StackApplied {
                objects: applied.changed,
            });
        }
        if let Some(p) = &storage
            && storage::store_key(sh, k8s, p, rec).await?
            && !fresh
        {
            storage::restart_engines(k8s, &applied.manifests).await?;
        }
        // The CA signs the gateway's certificates (mTLS) and Grafana's (a public Grafana serves HTTPS).
        let ca = if fleet.security.mtls || grafana_tls {
            let ensured = certs::ensure_ca(k8s, name, sh.rotate).await?;
            match (ensured.action, &ensured.rotation) {
                (CertAction::Created, _) => rec.change(Done::CaCreated {
                    secret: format!("{}/{}", CA_SECRET.namespace, CA_SECRET.name),
                }),
                (CertAction::Reissued, Some(why)) => rec.change(Done::CaReplaced { why: why.to_string() }),
                (_, Some(why)) => sh.progress.line(&format!(
                    "warning: {why}: `lkeobs up --rotate-certs` replaces it and reissues every certificate"
                )),
                _ => {}
            }
            Some(Arc::new(ensured.ca))
        } else {
            None
        };
        if stack::ensure_grafana_admin(k8s, name).await? {
            rec.change(Done::GrafanaPasswordGenerated);
        }
        let removed = |secret: crate::objects::Named| Done::SecretRemoved {
            secret: secret.to_string(),
        };
        match stack::ensure_destinations(k8s, name, &sh.destinations).await? {
            stack::EnvSecret::Stored => rec.change(Done::DestinationTokensStored),
            stack::EnvSecret::Removed => rec.change(removed(crate::objects::DESTINATIONS_SECRET)),
            stack::EnvSecret::Unchanged => {}
        }
        match stack::ensure_alert_secrets(k8s, name, &sh.alert_secrets).await? {
            stack::EnvSecret::Stored => rec.change(Done::AlertSecretsStored),
            stack::EnvSecret::Removed => rec.change(removed(crate::objects::ALERTMANAGER_SECRET)),
            stack::EnvSecret::Unchanged => {}
        }
        (applied, ca)
    };
    let edge_passwords = if fleet.security.mtls {
        let _slot = sh.permits.acquire().await;
        edge_credentials(sh, k8s, true, !fresh, rec).await?
    } else {
        Passwords::new()
    };

    rec.stage(sh, Stage::Gateway);
    let address = k8s
        .wait_load_balancer(GATEWAY_LB.namespace, GATEWAY_LB.name, sh.deadline)
        .await?;

    let gateway_ca = ca.clone().filter(|_| fleet.security.mtls);
    if let Some(ca) = &gateway_ca {
        rec.stage(sh, Stage::Certificates);
        let _slot = sh.permits.acquire().await;
        let action = certs::ensure_gateway_cert(k8s, name, ca, Some(&address), sh.rotate).await?;
        match action {
            CertAction::Kept => {}
            CertAction::Created => rec.change(Done::CertificateIssued {
                certificate: "gateway server certificate".into(),
            }),
            CertAction::Reissued => {
                rec.change(Done::CertificateReissued {
                    certificate: "gateway server certificate".into(),
                });
                if !fresh {
                    for w in applied
                        .manifests
                        .workloads()
                        .iter()
                        .filter(|w| w.namespace == GATEWAY.namespace && w.name == GATEWAY.name)
                    {
                        k8s.restart(w, "gateway certificate reissued").await?;
                    }
                }
            }
        }
    }
    publish(
        sh,
        HubOut {
            address,
            ca: gateway_ca,
            edge_passwords: Arc::new(edge_passwords),
            k8s: k8s.clone(),
        },
    );

    if let Some(ca) = ca.as_deref().filter(|_| grafana_tls) {
        rec.stage(sh, Stage::Certificates);
        grafana_cert(sh, k8s, ca, &applied, fresh, rec).await?;
    }

    rec.stage(sh, Stage::Rollout);
    let pruned = stack::settle(k8s, name, &applied, sh.deadline).await?;
    if pruned > 0 {
        rec.change(Done::Pruned { objects: pruned });
    }
    Ok(applied)
}

/// `add-edge`: reads the hub's gateway address and CA; with mTLS adds the new edge's credential (and
/// restarts the gateway, which reads its htpasswd file only at start). Nothing else there changes.
pub(super) async fn read(sh: &Shared, job: &Job, rec: &mut Record) -> Result<(), Error> {
    let Some(have) = &job.observed else {
        return Err(Error::Usage("the hub does not exist yet: run `lkeobs up` first".into()));
    };
    rec.stage(sh, Stage::Kubeconfig);
    let k8s = connect(&sh.client, have.cluster.id)
        .await?
        .map_err(|why| Error::Cluster(format!("the hub: {why}; run `lkeobs up` first")))?;
    rec.report.nodes = have.pools.iter().map(|p| p.nodes.len()).sum();
    rec.stage(sh, Stage::Gateway);
    let address = gateway_address(&k8s).await?.ok_or_else(|| {
        Error::Cluster("the hub's gateway has no LoadBalancer address yet: run `lkeobs up` first".into())
    })?;
    let ca = if sh.fleet.security.mtls {
        let data = k8s
            .get_secret(CA_SECRET.namespace, CA_SECRET.name)
            .await?
            .ok_or_else(|| {
                Error::Cluster(format!(
                    "the hub has no fleet CA (Secret {}/{}): run `lkeobs up` first",
                    CA_SECRET.namespace, CA_SECRET.name
                ))
            })?;
        let ca = Ca::from_secret_data(&data)
            .map_err(|e| Error::Cluster(format!("the fleet CA in the hub is unusable: {e}")))?;
        Some(Arc::new(ca))
    } else {
        None
    };
    let edge_passwords = if sh.fleet.security.mtls {
        rec.stage(sh, Stage::Certificates);
        edge_credentials(sh, &k8s, false, true, rec).await?
    } else {
        Passwords::new()
    };
    publish(
        sh,
        HubOut {
            address,
            ca,
            edge_passwords: Arc::new(edge_passwords),
            k8s: k8s.clone(),
        },
    );
    rec.k8s = Some(k8s);
    Ok(())
}
