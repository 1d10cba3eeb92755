//! Compares the stack of clusters that already exist with what `up` would apply: server-side dry run,
//! objects to prune, and the Secrets `up` creates. Used by `plan` for adopted clusters.

use std::time::Duration;

use tokio::time::Instant;

use crate::fleet::{Cluster, Fleet, Role};
use crate::k8s::{Change, K8s, Manifests, Planned, Replacement};
use crate::linode::Client;
use crate::naming;
use crate::objects::{METRICS_APISERVICE, MetricsApi};
use crate::ops::{connect, gpu_runtime, live_stack};
use crate::plan::{Action, ObjectPlan, Observed, Plan};
use crate::stack::{Inputs, Renderer, secrets};

/// The hub gateway's ConfigMap: what runs, for the review of destinations.
const GATEWAY_NAMESPACE: &str = "observability-hub";
const GATEWAY_CONFIG: &str = "otel-gateway";

/// How long the comparison may take when the command has no `--timeout`.
const DEFAULT_BUDGET: Duration = Duration::from_secs(300);

/// What a replacement means, for the plan's reader.
fn replacement_note(how: Replacement) -> &'static str {
    match how {
        Replacement::Recreate => "immutable fields changed: deleted and applied again",
        Replacement::KeepPods => "immutable fields changed: re-created, its pods and volume claims kept",
        Replacement::Refused => "immutable fields changed: `up` does not replace a LoadBalancer Service",
    }
}

/// The plan's problem for an object `up` refuses to replace.
fn refused_problem(label: &str, o: &ObjectPlan) -> String {
    format!(
        "{label}: {}: {} cannot change in place, and `up` does not replace a LoadBalancer Service \
         (its NodeBalancer and public address would change); delete it yourself if that is acceptable",
        o.object,
        o.fields.join(", ")
    )
}

/// A dry run's answer for one object as the plan lists it.
fn object_plan(p: Planned) -> ObjectPlan {
    let (action, replace) = match p.change {
        Change::Create => (Action::Create, None),
        Change::Update => (Action::Update, None),
        Change::Replace(how) => (Action::Replace, Some(how)),
        Change::Unchanged => (Action::Unchanged, None),
    };
    ObjectPlan {
        action,
        object: p.object,
        note: replace.map(replacement_note),
        fields: p.fields,
        replace,
    }
}

async fn compare_cluster(
    k8s: &K8s,
    fleet: &Fleet,
    cluster: &Cluster,
    inputs: &Inputs,
    renderer: &Renderer,
    deadline: Instant,
) -> Result<(Vec<ObjectPlan>, MetricsApi), crate::Error> {
    let (rendered, metrics_api) = live_stack::render(k8s, renderer, fleet, cluster, inputs).await?;
    let manifests = Manifests::parse(rendered.documents())?;
    let mut out: Vec<ObjectPlan> = k8s
        .dry_run(&manifests, deadline)
        .await?
        .into_iter()
        .map(object_plan)
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
            replace: None,
        });
    }
    for object in k8s.list_stale(fleet.name(), &manifests, deadline).await? {
        out.push(ObjectPlan {
            action: Action::Delete,
            object,
            note: Some("no longer rendered: pruned"),
            fields: Vec::new(),
            replace: None,
        });
    }
    Ok((out, metrics_api))
}

/// `plan`'s warnings for a cluster whose upgrade to `to` a PodDisruptionBudget would block: which budget,
/// and what to change.
async fn blocked_upgrade(k8s: &K8s, label: &str, to: &str) -> Result<Vec<String>, crate::k8s::K8sError> {
    Ok(k8s
        .rigid_budgets()
        .await?
        .iter()
        .map(|b| {
            format!(
                "{label}: the upgrade to {to} is blocked: {}; `up` leaves this cluster as it is (exit 3) and upgrades the others",
                b.describe()
            )
        })
        .collect())
}

/// Fills in the objects of every cluster in `plan` that exists, the hub first (edges need its gateway address).
/// A cluster whose Kubernetes API cannot be reached becomes a problem of the plan and the others are
/// still compared, so one run reports everything.
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
        metrics_api: MetricsApi::Missing,
        // Read by `live_stack::render` from the cluster.
        api_server: Vec::new(),
        gpu_runtime: None,
    };
    for c in fleet.clusters() {
        let Some(cp) = plan.clusters.iter_mut().find(|p| p.name == *c.name.get_ref()) else {
            continue;
        };
        let Some(id) = cp.id else {
            continue;
        };
        let upgrade_to = cp.changes.iter().find_map(|ch| ch.upgrade_to()).map(str::to_string);
        let label = naming::cluster_label(fleet.name(), c.name.get_ref());
        let k8s = match connect::connect(client, id).await {
            Ok(Ok(k)) => k,
            Err(e) => {
                plan.problems.push(format!("cannot compare the stack of {label}: {e}"));
                continue;
            }
            Ok(Err(why)) => {
                // A cluster LKE is still preparing: `up` will apply its whole stack.
                plan.notes.push(format!(
                    "{label}: stack objects not compared: {why}; `up` applies the whole stack"
                ));
                continue;
            }
        };
        let compared = async {
            if c.role == Role::Hub {
                inputs.gateway_address = connect::gateway_address(&k8s).await?;
                let running = k8s.get_config_map_data(GATEWAY_NAMESPACE, GATEWAY_CONFIG).await?;
                let config = running.as_ref().and_then(|d| d.get("config.yaml"));
                plan.destinations = crate::plan::destinations::review(fleet, config.map(String::as_str));
                if fleet.alerts.is_some() {
                    let (ns, cm) = crate::objects::ALERTMANAGER.pair();
                    let running = k8s.get_config_map_data(ns, cm).await?;
                    let config = running.as_ref().and_then(|d| d.get("alertmanager.yml"));
                    plan.receivers = crate::plan::receivers::review(fleet, config.map(String::as_str));
                }
            }
            inputs.gpu_runtime = gpu_runtime::detect(&k8s, c).await?;
            compare_cluster(&k8s, fleet, c, &inputs, renderer, deadline).await
        };
        let (objects, metrics_api) = match compared.await {
            Ok(compared) => compared,
            Err(e) => {
                plan.problems.push(format!("cannot compare the stack of {label}: {e}"));
                continue;
            }
        };
        if metrics_api == MetricsApi::Foreign {
            plan.notes.push(format!(
                "{label}: serves a metrics API lkeobs did not deploy (APIService {METRICS_APISERVICE}): left alone"
            ));
        }
        if let Some(to) = &upgrade_to {
            match blocked_upgrade(&k8s, &label, to).await {
                Ok(warnings) => plan.blocked_upgrades.extend(warnings),
                Err(e) => plan
                    .problems
                    .push(format!("cannot read the disruption budgets of {label}: {e}")),
            }
        }
        let refused = objects.iter().filter(|o| o.replace == Some(Replacement::Refused));
        plan.problems.extend(refused.map(|o| refused_problem(&label, o)));
        if let Some(cp) = plan.clusters.iter_mut().find(|p| p.name == *c.name.get_ref()) {
            cp.objects = objects;
            cp.objects_compared = true;
        }
    }
    plan.changes = plan.count_changes();
    plan.ok = plan.problems.is_empty();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::ObjectRef;

    #[test]
    fn a_refused_replacement_is_a_replace_in_the_plan_and_a_problem_naming_object_and_field() {
        let object = ObjectRef {
            api_version: "v1".into(),
            kind: "Service".into(),
            namespace: Some("observability-hub".into()),
            name: "otel-gateway-external".into(),
        };
        let o = object_plan(Planned {
            object,
            change: Change::Replace(Replacement::Refused),
            fields: vec!["spec.clusterIPs[0]".into()],
        });
        assert_eq!(o.action, Action::Replace);
        assert_eq!(o.replace, Some(Replacement::Refused));
        let problem = refused_problem("lkeobs-prod-hub", &o);
        assert!(
            problem.starts_with(
                "lkeobs-prod-hub: Service/observability-hub/otel-gateway-external: spec.clusterIPs[0] cannot change in place"
            ),
            "{problem}"
        );
        let kept = object_plan(Planned {
            object: o.object.clone(),
            change: Change::Replace(Replacement::KeepPods),
            fields: vec!["spec".into()],
        });
        assert!(kept.note.is_some_and(|n| n.contains("pods and volume claims kept")));
    }
}
