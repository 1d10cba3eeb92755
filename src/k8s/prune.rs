//! Prune: delete what lkeobs applied to a cluster earlier but no longer renders.
//!
//! Only objects labelled `app.kubernetes.io/managed-by=lkeobs,lkeobs.io/fleet=<fleet>` of the kinds
//! in [`PRUNED_KINDS`] are considered, so prune never walks every API. Never pruned: Namespaces
//! (deleting one would take the Secrets `up` keeps there, such as the CA), Secrets (created by
//! `up`, never rendered), PersistentVolumeClaims (teardown's business), anything with a
//! controller owner (its owner goes, and takes it along), and objects labelled
//! `lkeobs.io/prune: never` (metrics-server: once deployed it stays, even when the cluster later
//! serves a metrics API of its own, whose installation may have taken over the same objects).

use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use tokio::time::{Instant, timeout_at};

use super::client::K8s;
use super::error::{K8sError, Result, api_code};
use super::manifest::Manifests;
use super::resolve::{Resolved, Resolver};
use crate::objects::NEVER_PRUNE;
use crate::objects::ObjectRef;

/// The kinds prune searches, as `(group, kind)`, in the order stale objects are deleted
/// (workloads before what they use).
pub const PRUNED_KINDS: &[(&str, &str)] = &[
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("", "Service"),
    ("", "ConfigMap"),
    ("rbac.authorization.k8s.io", "RoleBinding"),
    ("rbac.authorization.k8s.io", "Role"),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
    ("rbac.authorization.k8s.io", "ClusterRole"),
    ("", "ServiceAccount"),
    ("storage.k8s.io", "StorageClass"),
];

use crate::objects::fleet_selector;

/// A stale object and how to reach it.
struct Stale {
    object: ObjectRef,
    resolved: Resolved,
}

fn is_controlled(obj: &DynamicObject) -> bool {
    obj.owner_references().iter().any(|o| o.controller == Some(true))
}

impl K8s {
    /// Lists our objects (by label, among [`PRUNED_KINDS`]) that `keep` no longer holds: what
    /// [`K8s::prune`] would delete. For `plan`.
    pub async fn list_stale(&self, fleet: &str, keep: &Manifests, deadline: Instant) -> Result<Vec<ObjectRef>> {
        Ok(self
            .find_stale_by(fleet, keep, deadline)
            .await?
            .into_iter()
            .map(|s| s.object)
            .collect())
    }

    /// Deletes our objects that `keep` no longer holds (see [`K8s::list_stale`]) and returns them.
    /// Deletion is in the background: dependents (pods, ReplicaSets) go after their owner.
    /// Refuses an empty `keep`: it would delete everything lkeobs applied.
    pub async fn prune(&self, fleet: &str, keep: &Manifests, deadline: Instant) -> Result<Vec<ObjectRef>> {
        self.prune_where(fleet, keep, |_| true, deadline).await
    }

    /// [`K8s::prune`] of only the stale objects `planned` lists (what the plan showed): one that is no
    /// longer stale, or that became stale since, is left.
    pub async fn prune_planned(
        &self,
        fleet: &str,
        keep: &Manifests,
        planned: &[ObjectRef],
        deadline: Instant,
    ) -> Result<Vec<ObjectRef>> {
        self.prune_where(fleet, keep, |o| planned.contains(o), deadline).await
    }

    async fn prune_where(
        &self,
        fleet: &str,
        keep: &Manifests,
        chosen: impl Fn(&ObjectRef) -> bool,
        deadline: Instant,
    ) -> Result<Vec<ObjectRef>> {
        if keep.is_empty() {
            return Err(K8sError::NothingToKeep);
        }
        let start = Instant::now();
        let mut stale = self.find_stale_by(fleet, keep, deadline).await?;
        stale.retain(|s| chosen(&s.object));
        let mut deleted = Vec::with_capacity(stale.len());
        for s in stale {
            let api = s.resolved.api_in(self.client(), s.object.namespace.as_deref());
            let what = format!("delete stale {}", s.object);
            let outcome = timeout_at(deadline, api.delete(&s.object.name, &DeleteParams::background()))
                .await
                .map_err(|_| K8sError::Timeout {
                    what: "prune".into(),
                    state: format!("{} deleted, {} unfinished", deleted.len(), s.object),
                    waited: start.elapsed(),
                    hint: String::new(),
                })?;
            match outcome {
                Ok(_) => tracing::info!(object = %s.object, "pruned"),
                Err(e) if api_code(&e) == Some(404) => {}
                Err(e) => return Err(K8sError::api(what, e)),
            }
            deleted.push(s.object);
        }
        Ok(deleted)
    }

    async fn find_stale_by(&self, fleet: &str, keep: &Manifests, deadline: Instant) -> Result<Vec<Stale>> {
        let start = Instant::now();
        timeout_at(deadline, self.find_stale(fleet, keep))
            .await
            .map_err(|_| K8sError::Timeout {
                what: format!("listing objects labelled {}", fleet_selector(fleet)),
                state: "unfinished".into(),
                waited: start.elapsed(),
                hint: String::new(),
            })?
    }

    async fn find_stale(&self, fleet: &str, keep: &Manifests) -> Result<Vec<Stale>> {
        let mut groups: Vec<String> = PRUNED_KINDS.iter().map(|(g, _)| g.to_string()).collect();
        groups.sort();
        groups.dedup();
        let resolver = Resolver::discover(self.client(), &groups).await?;
        let (key, never) = NEVER_PRUNE;
        let lp = ListParams::default().labels(&format!("{},{key}!={never}", fleet_selector(fleet)));
        let mut stale = Vec::new();
        for (group, kind) in PRUNED_KINDS {
            let Some(resolved) = resolver.resolve_preferred(group, kind) else {
                tracing::debug!(group, kind, "not served; nothing to prune");
                continue;
            };
            let api: Api<DynamicObject> = Api::all_with(self.client().clone(), &resolved.resource);
            let list = api
                .list(&lp)
                .await
                .map_err(|e| K8sError::api(format!("list {kind} labelled {}", fleet_selector(fleet)), e))?;
            for obj in list.items {
                let (ns, name) = (obj.namespace(), obj.name_any());
                if is_controlled(&obj) || keep.contains(group, kind, ns.as_deref(), &name) {
                    continue;
                }
                stale.push(Stale {
                    object: ObjectRef {
                        api_version: resolved.resource.api_version.clone(),
                        kind: kind.to_string(),
                        namespace: ns,
                        name,
                    },
                    resolved: resolved.clone(),
                });
            }
        }
        Ok(stale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prunes_namespaces_secrets_or_volumes() {
        for (_, kind) in PRUNED_KINDS {
            assert!(!matches!(
                *kind,
                "Namespace" | "Secret" | "PersistentVolumeClaim" | "Pod" | "ReplicaSet"
            ));
        }
        assert_eq!(
            fleet_selector("prod"),
            "app.kubernetes.io/managed-by=lkeobs,lkeobs.io/fleet=prod"
        );
    }
}
