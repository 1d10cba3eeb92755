//! Server-side dry run (`dryRun=All`) of a cluster's objects: which would be created or changed.
//!
//! Each object is read, then applied with `dryRun=All`; the answer (the object as it would be
//! stored) is compared with the live object, ignoring what the server maintains (managedFields,
//! resourceVersion, generation, uid, creationTimestamp, status). A dry run the server refuses because
//! it changes immutable fields plans a replacement naming them.

use kube::ResourceExt;
use kube::api::{DynamicObject, Patch};
use serde::Serialize;
use serde_json::Value;
use tokio::time::{Instant, timeout_at};

use super::apply::{apply_params, get_live};
use super::client::K8s;
use super::error::{K8sError, Result};
use super::manifest::{Manifest, Manifests};
use super::replace::{Replacement, refused_fields, replacement};
use super::resolve::Resolver;
use crate::objects::ObjectRef;

/// What an apply would do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Create,
    Update,
    /// The server refuses the change in place (immutable fields): replaced as said, or refused.
    Replace(Replacement),
    Unchanged,
}

/// One object's planned change; `fields` lists the changed paths of an update (e.g. `spec.template`),
/// or for a replacement the fields the server will not change in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub object: ObjectRef,
    pub change: Change,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// How deep changed-field paths go (`spec.template.spec.containers`).
const FIELD_DEPTH: usize = 4;

/// Removes what the server maintains, so that only intended content is compared.
pub fn normalize(mut v: Value) -> Value {
    if let Some(obj) = v.as_object_mut() {
        obj.remove("status");
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in [
                "managedFields",
                "resourceVersion",
                "generation",
                "uid",
                "creationTimestamp",
            ] {
                meta.remove(key);
            }
        }
    }
    v
}

/// Dotted paths where `a` and `b` differ, down to `FIELD_DEPTH` levels.
pub fn changed_fields(a: &Value, b: &Value) -> Vec<String> {
    fn walk(a: Option<&Value>, b: Option<&Value>, path: &str, depth: usize, out: &mut Vec<String>) {
        if a == b {
            return;
        }
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) if depth < FIELD_DEPTH => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(x.get(k), y.get(k), &p, depth + 1, out);
                }
            }
            _ => out.push(path.to_string()),
        }
    }
    let mut out = Vec::new();
    walk(Some(a), Some(b), "", 0, &mut out);
    out
}

/// Whether a CRD among the objects defines `group`'s `kind` (then it cannot be dry-run yet).
fn defined_by_crd(manifests: &Manifests, m: &Manifest) -> bool {
    manifests
        .iter()
        .filter(|c| c.kind() == "CustomResourceDefinition")
        .any(|c| {
            let spec = c.object.data.get("spec");
            spec.and_then(|s| s.get("group")).and_then(Value::as_str) == Some(m.group())
                && spec
                    .and_then(|s| s.get("names"))
                    .and_then(|n| n.get("kind"))
                    .and_then(Value::as_str)
                    == Some(m.kind())
        })
}

impl K8s {
    /// Dry-runs every object (server-side apply with `dryRun=All`, nothing is stored) and says
    /// which would be created, updated or left unchanged, in apply order.
    pub async fn dry_run(&self, manifests: &Manifests, deadline: Instant) -> Result<Vec<Planned>> {
        let start = Instant::now();
        let timed_out = |done: usize| K8sError::Timeout {
            what: format!("dry run of {} objects", manifests.len()),
            state: format!("{done} checked"),
            waited: start.elapsed(),
            hint: String::new(),
        };
        let resolver = timeout_at(deadline, Resolver::discover(self.client(), &manifests.groups()))
            .await
            .map_err(|_| timed_out(0))??;
        let mut out = Vec::with_capacity(manifests.len());
        for m in manifests.iter() {
            let planned = timeout_at(deadline, self.dry_run_one(&resolver, manifests, m))
                .await
                .map_err(|_| timed_out(out.len()))??;
            out.push(planned);
        }
        Ok(out)
    }

    async fn dry_run_one(&self, resolver: &Resolver, manifests: &Manifests, m: &Manifest) -> Result<Planned> {
        let planned = |change, fields| Planned {
            object: m.object_ref(),
            change,
            fields,
        };
        let resolved = match resolver.resolve_manifest(m) {
            Ok(r) => r,
            Err(_) if defined_by_crd(manifests, m) => return Ok(planned(Change::Create, vec![])),
            Err(e) => return Err(e),
        };
        let api = resolved.api_for(self.client(), m)?;
        let live = get_live(&api, m).await?;
        let params = apply_params().dry_run();
        let result = api.patch(&m.object.name_any(), &params, &Patch::Apply(&m.object)).await;
        if let (Err(e), Some(live)) = (&result, &live)
            && let Some(fields) = refused_fields(m.group(), m.kind(), e)
            && let Some(how) = replacement(m.group(), m.kind(), live)
        {
            return Ok(planned(Change::Replace(how), fields));
        }
        let result: Result<DynamicObject> =
            result.map_err(|e| K8sError::api(format!("dry-run apply {}", m.object_ref()), e));
        let Some(live) = live else {
            return match result {
                // The namespace does not exist yet: it is part of the same plan.
                Err(e) if e.status_code() == Some(404) => Ok(planned(Change::Create, vec![])),
                Err(e) => Err(e),
                Ok(_) => Ok(planned(Change::Create, vec![])),
            };
        };
        let to_value = |o: &DynamicObject| {
            serde_json::to_value(o).map_err(|e| K8sError::Decode {
                what: m.object_ref().to_string(),
                reason: e.to_string(),
            })
        };
        let (live, dry) = (normalize(to_value(&live)?), normalize(to_value(&result?)?));
        let fields = changed_fields(&live, &dry);
        Ok(if fields.is_empty() {
            planned(Change::Unchanged, fields)
        } else {
            planned(Change::Update, fields)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalize_drops_server_maintained_fields_only() {
        let v = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x", "uid": "u", "resourceVersion": "7", "generation": 2,
                         "creationTimestamp": "2025-01-01T00:00:00Z", "managedFields": [], "labels": {"a": "b"}},
            "data": {"k": "v"}, "status": {"phase": "x"}
        });
        assert_eq!(
            normalize(v),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"a": "b"}}, "data": {"k": "v"}})
        );
    }

    #[test]
    fn changed_fields_name_the_paths_that_differ() {
        let a = json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": "a"}]}}}, "metadata": {"name": "x"}});
        let b = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"image": "b"}]}}}, "metadata": {"name": "x"}});
        assert_eq!(
            changed_fields(&a, &b),
            ["spec.replicas", "spec.template.spec.containers"]
        );
        assert!(changed_fields(&a, &a).is_empty());
        assert_eq!(changed_fields(&json!({"data": {}}), &json!({})), ["data"]);
    }
}
