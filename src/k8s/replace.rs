//! Objects the API server will not change in place: recognising its refusal and replacing the object.
//!
//! A change to an immutable field (a StorageClass's `parameters`, a Deployment's `spec.selector`, a
//! StatefulSet's `volumeClaimTemplates`, a Service's cluster IP, the data of an immutable ConfigMap)
//! is answered 422 `Invalid` with the fields in `details.causes[].field`. The refusal is recognised
//! from that structure and a table of the fields each kind cannot change, never from the message
//! text. What replacing means depends on the kind ([`Replacement`]): delete, wait until gone, apply;
//! for a StatefulSet the same with its pods orphaned (the new one adopts them and their claims); a
//! LoadBalancer Service is never replaced, since its NodeBalancer and public address would change.

use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject};
use serde::Serialize;
use tokio::time::Instant;

use super::client::K8s;
use super::error::{K8sError, Result, api_code};
use super::manifest::Manifest;
use super::wait::wait_object;

/// How an object whose immutable fields change is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Replacement {
    /// Delete, wait until gone, apply: the object holds nothing the manifest does not.
    Recreate,
    /// A StatefulSet: delete it orphaning its pods, wait until gone, apply; the new StatefulSet adopts
    /// the pods, and their claims (and volumes) stay.
    KeepPods,
    /// Not replaced: a LoadBalancer Service would lose its NodeBalancer and public address.
    Refused,
}

/// The fields of a kind the API server refuses to change in place, as `details.causes[].field`
/// names them (kube-apiserver's `pkg/apis/*/validation`).
fn immutable_fields_of(group: &str, kind: &str) -> &'static [&'static str] {
    match (group, kind) {
        ("storage.k8s.io", "StorageClass") => &["parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"],
        ("apps", "Deployment" | "DaemonSet") => &["spec.selector"],
        // Current servers name `spec` as a whole; older ones the field.
        ("apps", "StatefulSet") => &[
            "spec",
            "spec.selector",
            "spec.serviceName",
            "spec.volumeClaimTemplates",
            "spec.podManagementPolicy",
        ],
        ("", "Service") => &[
            "spec.clusterIP",
            "spec.clusterIPs",
            "spec.clusterIPs[0]",
            "spec.ipFamilies[0]",
        ],
        ("batch", "Job") => &["spec.selector", "spec.template", "spec.completions"],
        ("", "ConfigMap") => &["immutable", "data", "binaryData"],
        _ => &[],
    }
}

/// The fields the server refused to change, when `e` is exactly such a refusal: 422 `Invalid`, and
/// every cause a forbidden or invalid value of a field this kind cannot change. `None` for any other
/// error (a real validation error stays an error).
pub fn refused_fields(group: &str, kind: &str, e: &kube::Error) -> Option<Vec<String>> {
    let kube::Error::Api(status) = e else {
        return None;
    };
    if api_code(e) != Some(422) || status.reason != "Invalid" {
        return None;
    }
    let causes = &status.details.as_ref()?.causes;
    let immutable = immutable_fields_of(group, kind);
    let all_immutable = !causes.is_empty()
        && causes.iter().all(|c| {
            matches!(c.reason.as_str(), "FieldValueForbidden" | "FieldValueInvalid")
                && immutable.contains(&c.field.as_str())
        });
    if !all_immutable {
        return None;
    }
    let mut fields: Vec<String> = causes.iter().map(|c| c.field.clone()).collect();
    fields.dedup();
    Some(fields)
}

/// How to replace `live` (of `group`/`kind`), `None` when lkeobs does not replace that kind.
pub fn replacement(group: &str, kind: &str, live: &DynamicObject) -> Option<Replacement> {
    match (group, kind) {
        ("", "Service") => {
            let ty = live
                .data
                .get("spec")
                .and_then(|s| s.get("type"))
                .and_then(|t| t.as_str());
            Some(if ty == Some("LoadBalancer") {
                Replacement::Refused
            } else {
                Replacement::Recreate
            })
        }
        ("apps", "StatefulSet") => Some(Replacement::KeepPods),
        ("storage.k8s.io", "StorageClass")
        | ("apps", "Deployment" | "DaemonSet")
        | ("batch", "Job")
        | ("", "ConfigMap") => Some(Replacement::Recreate),
        _ => None,
    }
}

impl K8s {
    /// Replaces `live` (the stored version of `m`) whose `fields` the server will not change: deletes
    /// it as `how` says and waits until it is gone (or re-created by someone else: another uid). The
    /// caller applies `m` next. A [`Replacement::Refused`] is an error naming the object and fields.
    pub(crate) async fn replace(
        &self,
        api: &Api<DynamicObject>,
        m: &Manifest,
        live: &DynamicObject,
        how: Replacement,
        fields: &[String],
        deadline: Instant,
    ) -> Result<()> {
        let object = m.object_ref();
        let params = match how {
            Replacement::Refused => {
                return Err(K8sError::ReplaceRefused {
                    object: object.to_string(),
                    fields: fields.join(", "),
                });
            }
            Replacement::Recreate => DeleteParams::background(),
            Replacement::KeepPods => DeleteParams::orphan(),
        };
        let name = m.object.name_any();
        tracing::info!(object = %object, fields = %fields.join(", "), ?how, "replacing: immutable fields changed");
        match api.delete(&name, &params).await {
            Ok(_) => {}
            Err(e) if api_code(&e) == Some(404) => return Ok(()),
            Err(e) => return Err(K8sError::api(format!("delete {object} to replace it"), e)),
        }
        let uid = live.uid();
        let gone = move |o: Option<&DynamicObject>| o.is_none_or(|o| o.uid() != uid);
        wait_object(api.clone(), &name, deadline, gone)
            .await
            .map_err(|expired| K8sError::Timeout {
                what: format!("deleting {object} to replace it"),
                state: match &expired.last {
                    Some(Some(o)) if !o.finalizers().is_empty() => {
                        format!("still present, held by finalizers {}", o.finalizers().join(", "))
                    }
                    _ => "still present".into(),
                },
                waited: expired.waited,
                hint: expired.error_hint(),
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;
    use kube::core::response::{StatusCause, StatusDetails};

    fn refusal(code: u16, reason: &str, causes: &[(&str, &str)]) -> kube::Error {
        let mut status = Status::failure("refused", reason).with_code(code);
        status.details = Some(StatusDetails {
            causes: causes
                .iter()
                .map(|(r, f)| StatusCause {
                    reason: r.to_string(),
                    message: String::new(),
                    field: f.to_string(),
                })
                .collect(),
            name: "x".into(),
            group: String::new(),
            kind: String::new(),
            uid: String::new(),
            retry_after_seconds: 0,
        });
        kube::Error::Api(Box::new(status))
    }

    #[test]
    fn a_refusal_of_immutable_fields_is_recognised_from_its_causes() {
        let e = refusal(422, "Invalid", &[("FieldValueForbidden", "parameters")]);
        assert_eq!(
            refused_fields("storage.k8s.io", "StorageClass", &e),
            Some(vec!["parameters".into()])
        );
        let e = refusal(422, "Invalid", &[("FieldValueInvalid", "spec.selector")]);
        assert_eq!(
            refused_fields("apps", "Deployment", &e),
            Some(vec!["spec.selector".into()])
        );
        let e = refusal(422, "Invalid", &[("FieldValueForbidden", "spec")]);
        assert_eq!(refused_fields("apps", "StatefulSet", &e), Some(vec!["spec".into()]));
    }

    #[test]
    fn other_validation_errors_are_not_refusals() {
        // A bad value in a mutable field, a required field, another status, no causes at all.
        let bad_image = refusal(
            422,
            "Invalid",
            &[("FieldValueInvalid", "spec.template.spec.containers[0].image")],
        );
        assert_eq!(refused_fields("apps", "Deployment", &bad_image), None);
        let required = refusal(422, "Invalid", &[("FieldValueRequired", "spec.selector")]);
        assert_eq!(refused_fields("apps", "Deployment", &required), None);
        let conflict = refusal(409, "Conflict", &[("FieldValueForbidden", "parameters")]);
        assert_eq!(refused_fields("storage.k8s.io", "StorageClass", &conflict), None);
        assert_eq!(
            refused_fields("storage.k8s.io", "StorageClass", &refusal(422, "Invalid", &[])),
            None
        );
        // Mixed: one immutable field and one real error is a real error.
        let mixed = refusal(
            422,
            "Invalid",
            &[
                ("FieldValueInvalid", "spec.selector"),
                ("FieldValueInvalid", "spec.replicas"),
            ],
        );
        assert_eq!(refused_fields("apps", "Deployment", &mixed), None);
    }

    #[test]
    fn load_balancers_are_refused_statefulsets_keep_their_pods() {
        let obj = |kind: &str, spec: serde_json::Value| -> DynamicObject {
            serde_json::from_value(serde_json::json!({"apiVersion": "v1", "kind": kind,
                "metadata": {"name": "x"}, "spec": spec}))
            .expect("object")
        };
        let lb = obj("Service", serde_json::json!({"type": "LoadBalancer"}));
        assert_eq!(replacement("", "Service", &lb), Some(Replacement::Refused));
        let cip = obj("Service", serde_json::json!({"type": "ClusterIP"}));
        assert_eq!(replacement("", "Service", &cip), Some(Replacement::Recreate));
        let sts = obj("StatefulSet", serde_json::json!({}));
        assert_eq!(replacement("apps", "StatefulSet", &sts), Some(Replacement::KeepPods));
        let sc = obj("StorageClass", serde_json::json!({}));
        assert_eq!(
            replacement("storage.k8s.io", "StorageClass", &sc),
            Some(Replacement::Recreate)
        );
        let pvc = obj("PersistentVolumeClaim", serde_json::json!({}));
        assert_eq!(replacement("", "PersistentVolumeClaim", &pvc), None);
    }
}
