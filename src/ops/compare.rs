//! Compares the stack of clusters that already exist with what `up` would apply: server-side dry run,
//! objects to prune, and the Secrets `up` creates. Used by `plan` for adopted clusters.

use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

use crate::fleet::{Cluster, Fleet, Role};
use crate::k8s::{Change, K8s, Manifests, Planned, Replacement};
use crate::linode::Client;
use crate::naming;
use crate::objects::{METRICS_APISERVICE, MetricsApi};
use crate::ops::{FAN_OUT, connect, gpu_runtime, live_stack};
use crate::plan::{Action, ObjectPlan, Observed, Plan};
use crate::stack::{Inputs, ObjectStoreInputs, Renderer, secrets};

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

/// The firewall id the comparison renders while the plan creates the firewall: the gateway Service's
/// annotation then differs from what runs, so the plan lists the update `up` makes with the real id.
const PLANNED_FIREWALL_ID: u64 = 0;

/// What comparing one cluster found, merged into the plan in the fleet's order.
#[derive(Default)]
struct Compared {
    objects: Option<Vec<ObjectPlan>>,
    problems: Vec<String>,
    notes: Vec<String>,
    blocked_upgrades: Vec<String>,
    /// The hub's: its gateway address (for the edges' render) and the reviews of what its gateway and
    /// Alertmanager run.
    gateway_address: Option<String>,
    destinations: Option<Vec<crate::plan::destinations::DestinationReview>>,
    receivers: Option<Vec<crate::plan::receivers::ReceiverReview>>,
}

/// What every cluster's comparison uses.
#[derive(Clone, Copy)]
struct With<'a> {
    client: &'a Client,
    fleet: &'a Fleet,
    renderer: &'a Renderer,
    deadline: Instant,
}

/// Compares one existing cluster (`id`): connect, the hub's reviews, render with the live inputs, dry run,
/// stale objects, and the disruption budgets an upgrade to `upgrade_to` would meet.
async fn compare_one(
    with: &With<'_>,
    c: &Cluster,
    id: u64,
    upgrade_to: Option<String>,
    mut inputs: Inputs,
) -> Compared {
    let With {
        client,
        fleet,
        renderer,
        deadline,
    } = *with;
    let mut out = Compared::default();
    let label = naming::cluster_label(fleet.name(), c.name.get_ref());
    let k8s = match connect::connect(client, id).await {
        Ok(Ok(k)) => k,
        Err(e) => {
            out.problems.push(format!("cannot compare the stack of {label}: {e}"));
            return out;
        }
        Ok(Err(why)) => {
            // A cluster LKE is still preparing: `up` will apply its whole stack.
            out.notes.push(format!(
                "{label}: stack objects not compared: {why}; `up` applies the whole stack"
            ));
            return out;
        }
    };
    let compared = async {
        if c.role == Role::Hub {
            out.gateway_address = connect::gateway_address(&k8s).await?;
            inputs.gateway_address = out.gateway_address.clone();
            let running = k8s.get_config_map_data(GATEWAY_NAMESPACE, GATEWAY_CONFIG).await?;
            let config = running.as_ref().and_then(|d| d.get("config.yaml"));
            out.destinations = Some(crate::plan::destinations::review(fleet, config.map(String::as_str)));
            if fleet.alerts.is_some() {
                let (ns, cm) = crate::objects::ALERTMANAGER.pair();
                let running = k8s.get_config_map_data(ns, cm).await?;
                let config = running.as_ref().and_then(|d| d.get("alertmanager.yml"));
                out.receivers = Some(crate::plan::receivers::review(fleet, config.map(String::as_str)));
            }
        }
        inputs.gpu_runtime = gpu_runtime::detect(&k8s, c).await?;
        compare_cluster(&k8s, fleet, c, &inputs, renderer, deadline).await
    };
    let (objects, metrics_api) = match compared.await {
        Ok(compared) => compared,
        Err(e) => {
            out.problems.push(format!("cannot compare the stack of {label}: {e}"));
            return out;
        }
    };
    if metrics_api == MetricsApi::Foreign {
        out.notes.push(format!(
            "{label}: serves a metrics API lkeobs did not deploy (APIService {METRICS_APISERVICE}): left alone"
        ));
    }
    if let Some(to) = &upgrade_to {
        match blocked_upgrade(&k8s, &label, to).await {
            Ok(warnings) => out.blocked_upgrades.extend(warnings),
            Err(e) => out
                .problems
                .push(format!("cannot read the disruption budgets of {label}: {e}")),
        }
    }
    let refused = objects.iter().filter(|o| o.replace == Some(Replacement::Refused));
    out.problems.extend(refused.map(|o| refused_problem(&label, o)));
    out.objects = Some(objects);
    out
}

/// What [`stacks`] compares, and with what.
pub struct Scope<'a> {
    /// Only the hub's and this edge's stacks (`add-edge`); None: every existing cluster's.
    pub only_edge: Option<&'a str>,
    /// An `ha` hub's buckets as `up` will find them (None: `pending-up` placeholders).
    pub object_store: Option<ObjectStoreInputs>,
    /// When the comparison gives up (default: 5 minutes from now).
    pub deadline: Option<Instant>,
}

/// Fills in the objects of every cluster in `plan` that exists (with `scope`, only the hub's and that
/// edge's): the hub first (edges need its gateway address), then the edges, [`FAN_OUT`] at a time. A
/// cluster whose Kubernetes API cannot be reached becomes a problem of the plan and the others are still
/// compared, so one run reports everything.
pub async fn stacks(
    client: &Client,
    fleet: &Fleet,
    observed: &Observed,
    plan: &mut Plan,
    renderer: &Renderer,
    scope: Scope<'_>,
) -> Result<(), crate::Error> {
    let Scope {
        only_edge: scope,
        object_store,
        deadline,
    } = scope;
    let deadline = deadline.unwrap_or_else(|| Instant::now() + DEFAULT_BUDGET);
    let creates_firewall = plan.firewall.as_ref().is_some_and(|f| f.action == Action::Create);
    let firewall_id = match &observed.firewall {
        Some(f) => Some(f.id),
        None => creates_firewall.then_some(PLANNED_FIREWALL_ID),
    };
    let inputs = Inputs {
        gateway_address: None,
        firewall_id,
        metrics_api: MetricsApi::Missing,
        // Read by `live_stack::render` from the cluster.
        api_server: Vec::new(),
        gpu_runtime: None,
        // An `ha` hub's buckets as `up` will find them (None: not all exist yet, `pending-up` placeholders).
        object_store,
    };
    // Each existing cluster to compare: (its place in the plan, the cluster, its id, an upgrade's target).
    let existing = |c: &'_ Cluster| {
        let i = plan.clusters.iter().position(|p| p.name == *c.name.get_ref())?;
        let cp = &plan.clusters[i];
        let id = cp.id?;
        let upgrade_to = cp.changes.iter().find_map(|ch| ch.upgrade_to()).map(str::to_string);
        Some((i, id, upgrade_to))
    };
    let with = With {
        client,
        fleet,
        renderer,
        deadline,
    };
    let mut results: Vec<(usize, Compared)> = Vec::new();
    let mut edge_inputs = inputs.clone();
    if let Some((i, id, upgrade_to)) = existing(&fleet.hub) {
        let hub = compare_one(&with, &fleet.hub, id, upgrade_to, inputs.clone()).await;
        edge_inputs.gateway_address = hub.gateway_address.clone();
        results.push((i, hub));
    }
    let edges: Vec<_> = fleet
        .edges
        .iter()
        .filter(|e| scope.is_none_or(|only| e.name.get_ref() == only))
        .filter_map(|e| existing(e).map(|x| (e, x)))
        .collect();
    let compared: Vec<(usize, Compared)> = futures::stream::iter(edges)
        .map(|(e, (i, id, upgrade_to))| {
            let inputs = edge_inputs.clone();
            let with = &with;
            async move { (i, compare_one(with, e, id, upgrade_to, inputs).await) }
        })
        .buffer_unordered(FAN_OUT)
        .collect()
        .await;
    results.extend(compared);
    results.sort_by_key(|(i, _)| *i);
    for (i, found) in results {
        plan.problems.extend(found.problems);
        plan.notes.extend(found.notes);
        plan.blocked_upgrades.extend(found.blocked_upgrades);
        if let Some(d) = found.destinations {
            plan.destinations = d;
        }
        if let Some(r) = found.receivers {
            plan.receivers = r;
        }
        if let Some(objects) = found.objects {
            plan.clusters[i].objects = objects;
            plan.clusters[i].objects_compared = true;
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
