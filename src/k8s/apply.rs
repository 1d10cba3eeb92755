//! Server-side apply of a cluster's objects in dependency order (field manager `lkeobs`, forced),
//! waiting for CustomResourceDefinitions to be established before what follows them.
//!
//! The outcome of each object is decided by a GET before the apply: absent means *created*; else
//! the resourceVersion before and after are compared, since an apply that changes nothing does not
//! write (*unchanged*) and one that does bumps it (*configured*). An apply the server refuses because
//! it changes an immutable field is followed by a replacement ([`super::replace`]) and the apply
//! again (*replaced*).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::wait::Condition;
use kube::runtime::wait::conditions::is_crd_established;
use serde::Serialize;
use tokio::time::{Instant, timeout_at};

use super::client::K8s;
use super::error::{K8sError, Result};
use super::manifest::{CRD_RANK, Manifest, Manifests};
use super::replace::{refused_fields, replacement};
use super::resolve::Resolver;
use super::wait::wait_object;
use crate::objects::ObjectRef;

/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "lkeobs";

/// What an apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplyOutcome {
    Created,
    Configured,
    /// Deleted and applied again: the change touched fields the server does not change in place.
    Replaced,
    Unchanged,
}

/// One applied object and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub object: ObjectRef,
    pub outcome: ApplyOutcome,
}

/// Server-side apply as `lkeobs`, taking over fields another manager set (`force`).
pub(crate) fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// Reads an object, `None` when absent.
pub(crate) async fn get_live(api: &Api<DynamicObject>, m: &Manifest) -> Result<Option<DynamicObject>> {
    api.get_opt(&m.object.name_any())
        .await
        .map_err(|e| K8sError::api(format!("get {}", m.object_ref()), e))
}

impl K8s {
    /// Applies every object in order and says per object whether it was created, configured or
    /// unchanged. `deadline` bounds the whole apply, including the wait for CRDs.
    pub async fn apply(&self, manifests: &Manifests, deadline: Instant) -> Result<Vec<Applied>> {
        let start = Instant::now();
        let groups = manifests.groups();
        let timed_out = |done: usize, doing: &str| K8sError::Timeout {
            what: format!("apply of {} objects", manifests.len()),
            state: format!("{done} applied, {doing}"),
            waited: start.elapsed(),
            hint: String::new(),
        };
        let mut resolver = timeout_at(deadline, Resolver::discover(self.client(), &groups))
            .await
            .map_err(|_| timed_out(0, "API discovery unfinished"))??;
        let mut applied = Vec::with_capacity(manifests.len());
        let mut crds = Vec::new();
        for m in manifests.iter() {
            if !crds.is_empty() && m.rank() > CRD_RANK {
                self.wait_crds_established(&crds, deadline).await?;
                crds.clear();
                resolver = timeout_at(deadline, Resolver::discover(self.client(), &groups))
                    .await
                    .map_err(|_| timed_out(applied.len(), "API discovery after the CRDs unfinished"))??;
            }
            let outcome = timeout_at(deadline, self.apply_one(&resolver, m, deadline))
                .await
                .map_err(|_| timed_out(applied.len(), &format!("{} unfinished", m.object_ref())))??;
            tracing::debug!(object = %m.object_ref(), ?outcome, "applied");
            if m.kind() == "CustomResourceDefinition" && m.group() == "apiextensions.k8s.io" {
                crds.push(m.object.name_any());
            }
            applied.push(Applied {
                object: m.object_ref(),
                outcome,
            });
        }
        if !crds.is_empty() {
            self.wait_crds_established(&crds, deadline).await?;
        }
        Ok(applied)
    }

    async fn apply_one(&self, resolver: &Resolver, m: &Manifest, deadline: Instant) -> Result<ApplyOutcome> {
        let api = resolver.resolve_manifest(m)?.api_for(self.client(), m)?;
        let before = get_live(&api, m).await?;
        let (name, params, body) = (m.object.name_any(), apply_params(), Patch::Apply(&m.object));
        let patch = || api.patch(&name, &params, &body);
        let failed = |e| K8sError::api(format!("apply {}", m.object_ref()), e);
        let after = match (patch().await, &before) {
            (Ok(after), _) => after,
            (Err(e), Some(live)) => {
                let how = refused_fields(m.group(), m.kind(), &e)
                    .and_then(|fields| Some((replacement(m.group(), m.kind(), live)?, fields)));
                let Some((how, fields)) = how else {
                    return Err(failed(e));
                };
                self.replace(&api, m, live, how, &fields, deadline).await?;
                patch().await.map_err(failed)?;
                return Ok(ApplyOutcome::Replaced);
            }
            (Err(e), None) => return Err(failed(e)),
        };
        Ok(match before {
            None => ApplyOutcome::Created,
            Some(b) if b.resource_version() == after.resource_version() => ApplyOutcome::Unchanged,
            Some(_) => ApplyOutcome::Configured,
        })
    }

    /// Waits until each named CRD reports the Established condition.
    async fn wait_crds_established(&self, names: &[String], deadline: Instant) -> Result<()> {
        for name in names {
            let api: Api<CustomResourceDefinition> = Api::all(self.client().clone());
            let established = |crd: Option<&CustomResourceDefinition>| is_crd_established().matches_object(crd);
            if let Err(expired) = wait_object(api, name, deadline, established).await {
                return Err(K8sError::Timeout {
                    what: format!("customresourcedefinition {name}"),
                    state: "not Established".into(),
                    waited: expired.waited,
                    hint: expired.error_hint(),
                });
            }
        }
        Ok(())
    }
}
