//! One cluster's stack in `up`: apply what the plan lists (on a cluster the plan did not compare, what a
//! dry run finds different), the Secrets `up` generates, then prune what the plan lists and roll out.

use std::collections::BTreeMap;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use crate::fleet::{Cluster, Fleet};
use crate::k8s::{Change, K8s, Manifests, SecretMode, Workload};
use crate::objects::ObjectRef;
use crate::objects::{self, DESTINATIONS_SECRET, GRAFANA_ADMIN_SECRET};
use crate::ops::live_stack;
use crate::plan::{Action, ClusterPlan};
use crate::stack::{Inputs, Renderer, secrets};

/// What `up` does to one cluster's stack, as the plan says.
#[derive(Debug, Clone)]
pub(super) enum StackPlan {
    /// The plan did not compare the stack (a new cluster, or one LKE was still preparing): apply what
    /// differs from what runs (everything on a `fresh` cluster, without a dry run), prune what is stale.
    Whole { fresh: bool },
    /// The plan compared it: apply exactly these objects (rendered again, with the same inputs) and prune
    /// exactly these, if they are still not rendered.
    Planned {
        apply: Vec<ObjectRef>,
        prune: Vec<ObjectRef>,
    },
}

impl StackPlan {
    /// The stack part of a cluster's plan. `fresh`: the cluster was created by this run.
    pub(super) fn of(plan: &ClusterPlan, fleet: &Fleet, cluster: &Cluster, fresh: bool) -> StackPlan {
        if fresh || !plan.objects_compared {
            return StackPlan::Whole { fresh };
        }
        // The Secrets `up` generates are listed by the plan and made by their own steps, not applied.
        let generated: Vec<ObjectRef> = secrets::runtime_secrets(fleet, cluster)
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        let of = |f: fn(Action) -> bool| {
            plan.objects
                .iter()
                .filter(|o| f(o.action) && !generated.contains(&o.object))
                .map(|o| o.object.clone())
                .collect()
        };
        StackPlan::Planned {
            apply: of(|a| matches!(a, Action::Create | Action::Update | Action::Replace)),
            prune: of(|a| a == Action::Delete),
        }
    }
}

/// What an apply did.
#[derive(Debug)]
pub(super) struct Applied {
    pub manifests: Manifests,
    /// Objects created or changed.
    pub changed: usize,
    /// What the plan says to prune (None: whatever is stale).
    prune: Option<Vec<ObjectRef>>,
}

/// Renders the cluster's stack and applies what `stack` says.
pub(super) async fn apply(
    k8s: &K8s,
    renderer: &Renderer,
    fleet: &Fleet,
    cluster: &Cluster,
    inputs: &Inputs,
    stack: &StackPlan,
    deadline: Instant,
) -> Result<Applied, crate::Error> {
    let (rendered, _) = live_stack::render(k8s, renderer, fleet, cluster, inputs).await?;
    let manifests = Manifests::parse(rendered.documents())?;
    let changed: Vec<ObjectRef> = match stack {
        StackPlan::Whole { fresh: true } => manifests.refs(),
        StackPlan::Whole { fresh: false } => k8s
            .dry_run(&manifests, deadline)
            .await?
            .into_iter()
            .filter(|p| p.change != Change::Unchanged)
            .map(|p| p.object)
            .collect(),
        StackPlan::Planned { apply, .. } => {
            let rendered = manifests.refs();
            if let Some(missing) = apply.iter().find(|o| !rendered.contains(o)) {
                return Err(crate::Error::Internal(format!(
                    "the plan applies {missing}, which this run no longer renders"
                )));
            }
            apply.clone()
        }
    };
    if !changed.is_empty() {
        k8s.apply(&manifests.only(&changed), deadline).await?;
    }
    Ok(Applied {
        changed: changed.len(),
        manifests,
        prune: match stack {
            StackPlan::Planned { prune, .. } => Some(prune.clone()),
            StackPlan::Whole { .. } => None,
        },
    })
}

/// Deletes what is no longer rendered (with a plan, only what it lists), then waits for every workload to
/// roll out; returns how many were pruned.
pub(super) async fn settle(
    k8s: &K8s,
    fleet: &str,
    applied: &Applied,
    deadline: Instant,
) -> Result<usize, crate::Error> {
    let pruned = match &applied.prune {
        Some(planned) if planned.is_empty() => Vec::new(),
        Some(planned) => k8s.prune_planned(fleet, &applied.manifests, planned, deadline).await?,
        None => k8s.prune(fleet, &applied.manifests, deadline).await?,
    };
    let workloads: Vec<Workload> = applied.manifests.workloads();
    k8s.wait_rollouts(&workloads, deadline).await?;
    Ok(pruned.len())
}

/// The Grafana admin Secret (`admin-user`, `admin-password`): a random password, generated once and never
/// replaced (people may have changed it in Grafana since). Returns whether it was created.
pub(super) async fn ensure_grafana_admin(hub: &K8s, fleet: &str) -> Result<bool, crate::Error> {
    let (ns, name) = GRAFANA_ADMIN_SECRET.pair();
    if hub.get_secret(ns, name).await?.is_some() {
        return Ok(false);
    }
    let mut raw = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw)
        .map_err(|_| crate::Error::Internal("the system random generator failed".into()))?;
    let password = SecretString::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw));
    let data = BTreeMap::from([
        ("admin-user".to_string(), b"admin".to_vec()),
        (
            "admin-password".to_string(),
            password.expose_secret().as_bytes().to_vec(),
        ),
    ]);
    let outcome = hub
        .ensure_secret(ns, name, &objects::labels(fleet, "hub"), &data, SecretMode::CreateOnly)
        .await?;
    Ok(outcome == crate::k8s::SecretOutcome::Created)
}

/// The destination tokens Secret (one key per `token_env`), replaced only when a value changed.
pub(super) async fn ensure_destinations(
    hub: &K8s,
    fleet: &str,
    tokens: &BTreeMap<String, SecretString>,
) -> Result<EnvSecret, crate::Error> {
    ensure_env_secret(hub, fleet, DESTINATIONS_SECRET, tokens).await
}

/// The alert receivers' secrets Secret (one key per variable of `[alerts]`, mounted by Alertmanager), replaced
/// only when a value changed.
pub(super) async fn ensure_alert_secrets(
    hub: &K8s,
    fleet: &str,
    secrets: &BTreeMap<String, SecretString>,
) -> Result<EnvSecret, crate::Error> {
    ensure_env_secret(hub, fleet, objects::ALERTMANAGER_SECRET, secrets).await
}

/// What [`ensure_env_secret`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EnvSecret {
    Unchanged,
    Stored,
    /// Nothing to store any more: the Secret was deleted (its values must not outlive their use).
    Removed,
}

/// A hub Secret holding values read from the environment (one key per variable, surrounding whitespace
/// trimmed), replaced only when a value changed; with nothing to store, deleted if it exists. Called after
/// the stack is applied, so no pod of the new stack still refers to a Secret removed here.
async fn ensure_env_secret(
    hub: &K8s,
    fleet: &str,
    secret: objects::Named,
    values: &BTreeMap<String, SecretString>,
) -> Result<EnvSecret, crate::Error> {
    let (ns, name) = secret.pair();
    if values.is_empty() {
        // Read first: a re-run with nothing to remove writes nothing.
        let present = hub.get_secret(ns, name).await?.is_some();
        return Ok(if present && hub.delete_secret(ns, name).await? {
            EnvSecret::Removed
        } else {
            EnvSecret::Unchanged
        });
    }
    let data: BTreeMap<String, Vec<u8>> = values
        .iter()
        .map(|(k, v)| (k.clone(), v.expose_secret().trim().as_bytes().to_vec()))
        .collect();
    if hub.get_secret(ns, name).await?.as_ref() == Some(&data) {
        return Ok(EnvSecret::Unchanged);
    }
    hub.ensure_secret(ns, name, &objects::labels(fleet, "hub"), &data, SecretMode::Replace)
        .await?;
    Ok(EnvSecret::Stored)
}
