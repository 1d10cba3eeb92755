//! Compares the stack of clusters that already exist with what `up` would apply: server-side dry run,
//! objects to prune, and the Secrets `up` creates. Used by `plan` for adopted clusters.

use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::Api;
use tokio::time::Instant;

use crate::fleet::{Cluster, Fleet, Role};
use crate::k8s::{Change, K8s, Manifests, wait::service::load_balancer_address};
use crate::linode::Client;
use crate::naming;
use crate::ops::gpu_runtime;
use crate::plan::{Action, ObjectPlan, Observed, Plan};
use crate::stack::{Inputs, Renderer, secrets};

/// The gateway's public Service: edges dial its LoadBalancer address.
pub const GATEWAY_LB: (&str, &str) = ("observability-hub", "otel-gateway-external");

/// How long the comparison may take when the command has no `--timeout`.
const DEFAULT_BUDGET: Duration = Duration::from_secs(300);

/// A client for an existing cluster, or why there is none yet (kubeconfig not ready).
pub async fn connect(client: &Client, id: u64) -> Result<Result<K8s, String>, crate::Error> {
    match client.get_kubeconfig(id).await {
        Ok(yaml) => Ok(Ok(K8s::from_kubeconfig(&yaml).await?)),
        Err(e) if e.is_kubeconfig_not_ready() => Ok(Err("its kubeconfig is not ready yet".into())),
        Err(e) => Err(e.into()),
    }
}

/// The gateway's LoadBalancer address as the hub reports it now (no waiting).
pub async fn gateway_address(hub: &K8s) -> Result<Option<String>, crate::Error> {
    let api: Api<Service> = Api::namespaced(hub.client().clone(), GATEWAY_LB.0);
    let svc = api
        .get_opt(GATEWAY_LB.1)
        .await
        .map_err(|e| crate::k8s::K8sError::api(format!("get service {}/{}", GATEWAY_LB.0, GATEWAY_LB.1), e))?;
    Ok(svc.as_ref().and_then(load_balancer_address))
}

async fn compare_cluster(
    k8s: &K8s,
    fleet: &Fleet,
    cluster: &Cluster,
    inputs: &Inputs,
    renderer: &Renderer,
    deadline: Instant,
) -> Result<Vec<ObjectPlan>, crate::Error> {
    let rendered = renderer.render(fleet, cluster, inputs)?;
    let manifests = Manifests::from_rendered(&rendered)?;
    let mut out: Vec<ObjectPlan> = k8s
        .dry_run(&manifests, deadline)
        .await?
        .into_iter()
        .map(|p| ObjectPlan {
            action: match p.change {
                Change::Create => Action::Create,
                Change::Update => Action::Update,
                Change::Unchanged => Action::Unchanged,
            },
            object: p.object,
            note: None,
            fields: p.fields,
        })
        .collect();
    for (object, note) in secrets::runtime_secrets(fleet, cluster) {
        let ns = object.namespace.clone().unwrap_or_default();
        let exists = k8s.get_secret(&ns, &object.name).await?.is_some();
        let action = if exists { Action::Unchanged } else { Action::Create };
        out.push(ObjectPlan {
            action,
            object,
            note: Some(note),
            fields: Vec::new(),
        });
    }
    for object in k8s.list_stale(fleet.name(), &manifests, deadline).await? {
        out.push(ObjectPlan {
            action: Action::Delete,
            object,
            note: Some("no longer rendered: pruned"),
            fields: Vec::new(),
        });
    }
    Ok(out)
}

/// Fills in the objects of every cluster in `plan` that exists, the hub first (edges need its gateway address).
pub async fn stacks(
    client: &Client,
    fleet: &Fleet,
    observed: &Observed,
    plan: &mut Plan,
    renderer: &Renderer,
    deadline: Option<Instant>,
) -> Result<(), crate::Error> {
    let deadline = deadline.unwrap_or_else(|| Instant::now() + DEFAULT_BUDGET);
    let firewall_id = observed.firewall.as_ref().map(|f| f.id);
    let mut inputs = Inputs {
        gateway_address: None,
        firewall_id,
        gpu_runtime: None,
    };
    for c in fleet.clusters() {
        let Some(cp) = plan.clusters.iter_mut().find(|p| p.name == *c.name.get_ref()) else {
            continue;
        };
        let Some(id) = cp.id else {
            continue;
        };
        let label = naming::cluster_label(fleet.name(), c.name.get_ref());
        let k8s = match connect(client, id).await? {
            Ok(k) => k,
            Err(why) => {
                // A cluster LKE is still preparing: `up` will apply its whole stack.
                plan.notes.push(format!(
                    "{label}: stack objects not compared: {why}; `up` applies the whole stack"
                ));
                continue;
            }
        };
        let unreachable = |e: crate::Error| crate::Error::Cluster(format!("cannot compare the stack of {label}: {e}"));
        if c.role == Role::Hub {
            inputs.gateway_address = gateway_address(&k8s).await.map_err(unreachable)?;
        }
        inputs.gpu_runtime = gpu_runtime::detect(&k8s, c).await.map_err(unreachable)?;
        let objects = compare_cluster(&k8s, fleet, c, &inputs, renderer, deadline)
            .await
            .map_err(unreachable)?;
        if let Some(cp) = plan.clusters.iter_mut().find(|p| p.name == *c.name.get_ref()) {
            cp.objects = objects;
            cp.objects_compared = true;
        }
    }
    plan.notes
        .retain(|n| !n.starts_with("stack objects of existing clusters are not listed"));
    plan.changes = plan.count_changes();
    Ok(())
}
