//! Discovery limited to the API groups in use: resolves apiVersion + kind to the resource path and its scope.

use kube::api::{Api, DynamicObject};
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope};
use kube::{Client, ResourceExt};

use super::error::{K8sError, Result};
use super::manifest::{Manifest, split_api_version};

/// A discovered set of API groups.
pub(crate) struct Resolver {
    discovery: Discovery,
}

/// A resolved kind: where its objects live and whether they are namespaced.
#[derive(Clone)]
pub(crate) struct Resolved {
    pub resource: ApiResource,
    pub caps: ApiCapabilities,
}

impl Resolver {
    /// Runs discovery for `groups` only ("" is the core group): `/api`, `/apis` and one request
    /// per version of each group, so an unavailable aggregated API elsewhere cannot fail it.
    pub async fn discover(client: &Client, groups: &[String]) -> Result<Resolver> {
        let allow: Vec<&str> = groups.iter().map(String::as_str).collect();
        let discovery = Discovery::new(client.clone())
            .filter(&allow)
            .run()
            .await
            .map_err(|e| K8sError::api(format!("API discovery of groups {allow:?}"), e))?;
        Ok(Resolver { discovery })
    }

    /// The resource for an exact `apiVersion` and kind, if served.
    pub fn resolve(&self, api_version: &str, kind: &str) -> Option<Resolved> {
        let (group, version) = split_api_version(api_version);
        let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
        let (resource, caps) = self.discovery.resolve_gvk(&gvk)?;
        Some(Resolved { resource, caps })
    }

    /// The resource for a kind at its group's preferred version, if served.
    pub fn resolve_preferred(&self, group: &str, kind: &str) -> Option<Resolved> {
        let (resource, caps) = self.discovery.get(group)?.recommended_kind(kind)?;
        Some(Resolved { resource, caps })
    }

    /// Resolves a manifest's kind or says which object needs a kind the server lacks.
    pub fn resolve_manifest(&self, m: &Manifest) -> Result<Resolved> {
        self.resolve(m.api_version(), m.kind())
            .ok_or_else(|| K8sError::UnknownKind {
                object: m.object_ref().to_string(),
                api_version: m.api_version().to_string(),
                kind: m.kind().to_string(),
            })
    }
}

impl Resolved {
    pub fn namespaced(&self) -> bool {
        self.caps.scope == Scope::Namespaced
    }

    /// The API for one object: namespaced ones in their namespace, cluster ones at the root.
    pub fn api_for(&self, client: &Client, m: &Manifest) -> Result<Api<DynamicObject>> {
        if !self.namespaced() {
            return Ok(Api::all_with(client.clone(), &self.resource));
        }
        match m.object.namespace() {
            Some(ns) => Ok(Api::namespaced_with(client.clone(), &ns, &self.resource)),
            None => Err(K8sError::Manifest {
                file: m.file.clone(),
                index: m.index,
                reason: format!("{} is namespaced but has no metadata.namespace", m.object_ref()),
            }),
        }
    }

    /// The API for an object found by listing (namespace from the object itself).
    pub fn api_in(&self, client: &Client, namespace: Option<&str>) -> Api<DynamicObject> {
        match (self.namespaced(), namespace) {
            (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &self.resource),
            _ => Api::all_with(client.clone(), &self.resource),
        }
    }
}
