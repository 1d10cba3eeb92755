//! Rendered YAML parsed into `DynamicObject`s, sorted into apply order (namespaces and RBAC first, workloads late).

use kube::ResourceExt;
use kube::api::DynamicObject;

use super::error::{K8sError, Result};
use crate::objects::ObjectRef;

/// One object to apply, with the file it came from (for errors).
#[derive(Debug, Clone)]
pub struct Manifest {
    pub file: String,
    /// The document's position in its file, from 0.
    pub index: usize,
    pub object: DynamicObject,
}

/// A cluster's objects in apply order. Within one rank the input order is kept.
#[derive(Debug, Clone, Default)]
pub struct Manifests {
    items: Vec<Manifest>,
}

/// The rank of a kind in apply order: lower goes first. Unknown kinds go last.
///
/// Namespaces, CRDs, ServiceAccounts and RBAC, ConfigMaps and Secrets, StorageClasses,
/// Services, workloads, then everything else (HPA, PDB, NetworkPolicy, custom resources…).
pub fn apply_rank(group: &str, kind: &str) -> u8 {
    match (group, kind) {
        ("", "Namespace") => 0,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => 1,
        ("", "ServiceAccount") => 2,
        ("rbac.authorization.k8s.io", "ClusterRole" | "ClusterRoleBinding" | "Role" | "RoleBinding") => 2,
        ("", "ConfigMap" | "Secret") => 3,
        ("storage.k8s.io", "StorageClass") => 4,
        ("", "Service") => 5,
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet") => 6,
        _ => 7,
    }
}

/// The rank of custom resource definitions; objects ranked after it may be served only once they are established.
pub(crate) const CRD_RANK: u8 = 1;

/// `("apps", "v1")` from `apps/v1`, `("", "v1")` from `v1`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

impl Manifest {
    pub fn api_version(&self) -> &str {
        self.object
            .types
            .as_ref()
            .map(|t| t.api_version.as_str())
            .unwrap_or_default()
    }

    pub fn kind(&self) -> &str {
        self.object.types.as_ref().map(|t| t.kind.as_str()).unwrap_or_default()
    }

    pub fn group(&self) -> &str {
        split_api_version(self.api_version()).0
    }

    pub fn rank(&self) -> u8 {
        apply_rank(self.group(), self.kind())
    }

    /// The object's identity, as `plan` and `render` name it.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            api_version: self.api_version().to_string(),
            kind: self.kind().to_string(),
            namespace: self.object.namespace(),
            name: self.object.name_any(),
        }
    }
}

impl Manifests {
    /// Parses `(file name, multi-document YAML)` pairs; empty documents are skipped.
    pub fn parse<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Manifests> {
        let mut items = Vec::new();
        for (file, text) in files {
            for (index, doc) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
                let bad = |reason: String| K8sError::Manifest {
                    file: file.to_string(),
                    index,
                    reason,
                };
                let value: serde_json::Value = serde::Deserialize::deserialize(doc).map_err(|e| bad(e.to_string()))?;
                if value.is_null() {
                    continue;
                }
                let object: DynamicObject = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
                let types = object.types.as_ref().ok_or_else(|| bad("no apiVersion/kind".into()))?;
                if types.api_version.is_empty() || types.kind.is_empty() {
                    return Err(bad("empty apiVersion or kind".into()));
                }
                if object.metadata.name.as_deref().unwrap_or_default().is_empty() {
                    return Err(bad(format!("{} without metadata.name", types.kind)));
                }
                items.push(Manifest {
                    file: file.to_string(),
                    index,
                    object,
                });
            }
        }
        items.sort_by_key(Manifest::rank); // stable: input order within a rank
        Ok(Manifests { items })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Manifest> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every object's identity, in apply order.
    pub fn refs(&self) -> Vec<ObjectRef> {
        self.items.iter().map(Manifest::object_ref).collect()
    }

    /// The objects whose identity is in `refs` (same order): what an apply of only the changed objects sends.
    pub fn only(&self, refs: &[ObjectRef]) -> Manifests {
        Manifests {
            items: self
                .items
                .iter()
                .filter(|m| refs.contains(&m.object_ref()))
                .cloned()
                .collect(),
        }
    }

    /// The API groups the objects use ("" is the core group), for a discovery limited to them.
    pub(crate) fn groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = self.items.iter().map(|m| m.group().to_string()).collect();
        groups.sort();
        groups.dedup();
        groups
    }

    /// Whether `(group, kind, namespace, name)` is among the objects (the API version is ignored:
    /// `autoscaling/v1` and `autoscaling/v2` name the same object).
    pub fn contains(&self, group: &str, kind: &str, namespace: Option<&str>, name: &str) -> bool {
        self.items.iter().any(|m| {
            m.group() == group
                && m.kind() == kind
                && m.object.metadata.namespace.as_deref() == namespace
                && m.object.metadata.name.as_deref() == Some(name)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // One document per line (flow style), a comment-only document in the middle.
    const FILE: &str = r#"
{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: app}}
---
{apiVersion: v1, kind: Service, metadata: {name: web, namespace: app}}
---
# only a comment
---
{apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, metadata: {name: web, namespace: app}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: app}}
---
{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: reader}}
---
{apiVersion: v1, kind: ConfigMap, metadata: {name: b, namespace: app}}
"#;

    #[test]
    fn objects_come_out_in_dependency_order_and_stable_within_a_kind() {
        let ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n";
        let m = Manifests::parse([("10-app.yaml", FILE), ("00-ns.yaml", ns)]).expect("parses");
        let order: Vec<String> = m.refs().iter().map(|r| format!("{}/{}", r.kind, r.name)).collect();
        assert_eq!(
            order,
            [
                "Namespace/app",
                "ClusterRole/reader",
                "ConfigMap/a",
                "ConfigMap/b",
                "Service/web",
                "Deployment/web",
                "HorizontalPodAutoscaler/web"
            ]
        );
        assert_eq!(m.groups(), ["", "apps", "autoscaling", "rbac.authorization.k8s.io"]);
        assert!(m.contains("autoscaling", "HorizontalPodAutoscaler", Some("app"), "web"));
        assert!(!m.contains("apps", "StatefulSet", Some("app"), "web"));
    }

    #[test]
    fn a_document_without_a_name_is_an_error_naming_file_and_index() {
        let err = Manifests::parse([("x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n")]).unwrap_err();
        assert_eq!(err.to_string(), "x.yaml: document 0: ConfigMap without metadata.name");
        let err = Manifests::parse([("y.yaml", "---\nfoo: [\n")]).unwrap_err();
        assert!(err.to_string().starts_with("y.yaml: document 0:"), "{err}");
    }

    #[test]
    fn ranks_follow_the_documented_order() {
        let ranks = [
            apply_rank("", "Namespace"),
            apply_rank("apiextensions.k8s.io", "CustomResourceDefinition"),
            apply_rank("", "ServiceAccount"),
            apply_rank("", "Secret"),
            apply_rank("storage.k8s.io", "StorageClass"),
            apply_rank("", "Service"),
            apply_rank("apps", "StatefulSet"),
            apply_rank("policy", "PodDisruptionBudget"),
        ];
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?}");
        assert_eq!(apply_rank("example.com", "Service"), 7);
    }
}
