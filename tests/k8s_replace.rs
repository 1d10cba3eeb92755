//! Immutable fields against the fake Kubernetes API: the fake refuses them as kube-apiserver does
//! (422 `Invalid`, `details.causes[].field`, the real messages) for an apply and a dry run; `dry_run`
//! plans a replacement naming the field; `apply` replaces what loses nothing, keeps a StatefulSet's
//! pods and claims (orphan delete), and refuses a LoadBalancer Service.

use crate::support;

use std::time::Duration;

use lkeobs::k8s::{ApplyOutcome, Change, K8sError, Manifests, Replacement};
use serde_json::{Value, json};
use support::k8s_fake::K8sFake;
use tokio::time::Instant;

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

fn manifests(yaml: &str) -> Manifests {
    Manifests::parse([("test.yaml", yaml)]).expect("manifests parse")
}

const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n---\n";

fn storage_class(tags: &str) -> String {
    format!(
        "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {{name: tagged}}\nprovisioner: linodebs.csi.linode.com\n\
         reclaimPolicy: Delete\nparameters: {{linodebs.csi.linode.com/volumeTags: '{tags}'}}\n"
    )
}

/// The raw answer of the fake to a server-side apply (or its dry run).
async fn raw_apply(fake: &K8sFake, path: &str, body: &str, dry_run: bool) -> (u16, Value) {
    let dry = if dry_run { "&dryRun=All" } else { "" };
    let url = format!("{}{path}?fieldManager=test&force=true{dry}", fake.uri());
    let resp = fake
        .http()
        .patch(url)
        .bearer_auth(fake.token())
        .header("content-type", "application/apply-patch+yaml")
        .body(body.to_string())
        .send()
        .await
        .expect("fake answers");
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_fake_refuses_a_storage_class_parameter_change_as_kube_apiserver_does() {
    let fake = K8sFake::start().await;
    let path = "/apis/storage.k8s.io/v1/storageclasses/tagged";
    assert_eq!(raw_apply(&fake, path, &storage_class("a"), false).await.0, 200);
    for dry_run in [true, false] {
        let (code, status) = raw_apply(&fake, path, &storage_class("a,b"), dry_run).await;
        assert_eq!(code, 422, "dry run {dry_run}: {status:#}");
        assert_eq!(status["reason"], "Invalid");
        assert_eq!(
            status["message"],
            "StorageClass.storage.k8s.io \"tagged\" is invalid: parameters: Forbidden: updates to parameters are forbidden."
        );
        assert_eq!(
            status["details"]["causes"],
            json!([{"reason": "FieldValueForbidden", "message": "Forbidden: updates to parameters are forbidden.",
                    "field": "parameters"}])
        );
    }
    // The same parameters with another mutable field changed are fine.
    let grown = storage_class("a").replace("reclaimPolicy", "allowVolumeExpansion: true\nreclaimPolicy");
    assert_eq!(raw_apply(&fake, path, &grown, false).await.0, 200);
}

#[tokio::test]
async fn a_storage_class_whose_parameters_change_is_planned_as_replace_and_replaced() {
    let fake = K8sFake::start().await;
    let k8s = fake.k8s();
    k8s.apply(&manifests(&storage_class("a")), deadline())
        .await
        .expect("first apply");
    let uid = fake.get("storage.k8s.io/v1", "StorageClass", None, "tagged").unwrap()["metadata"]["uid"].clone();
    let changed = manifests(&storage_class("a,b"));
    let plan = k8s.dry_run(&changed, deadline()).await.expect("dry run");
    assert_eq!(plan[0].change, Change::Replace(Replacement::Recreate));
    assert_eq!(plan[0].fields, ["parameters"]);
    let applied = k8s.apply(&changed, deadline()).await.expect("apply replaces");
    assert_eq!(applied[0].outcome, ApplyOutcome::Replaced);
    let sc = fake.get("storage.k8s.io/v1", "StorageClass", None, "tagged").unwrap();
    assert_ne!(sc["metadata"]["uid"], uid);
    assert_eq!(sc["parameters"]["linodebs.csi.linode.com/volumeTags"], "a,b");
    let again = k8s.dry_run(&changed, deadline()).await.expect("dry run");
    assert_eq!(again[0].change, Change::Unchanged);
}

fn deployment(selector: &str) -> String {
    format!(
        "{NS}apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: app}}\n\
         spec: {{selector: {{matchLabels: {{app: {selector}}}}}, template: {{metadata: {{labels: {{app: {selector}}}}}, \
         spec: {{containers: [{{name: c, image: i}}]}}}}}}\n"
    )
}

#[tokio::test]
async fn a_deployment_selector_change_is_refused_in_place_and_replaced() {
    let fake = K8sFake::start().await;
    let k8s = fake.k8s();
    k8s.apply(&manifests(&deployment("web")), deadline())
        .await
        .expect("first apply");
    let changed = manifests(&deployment("web2"));
    let plan = k8s.dry_run(&changed, deadline()).await.expect("dry run");
    let d = plan.iter().find(|p| p.object.kind == "Deployment").unwrap();
    assert_eq!(d.change, Change::Replace(Replacement::Recreate));
    assert_eq!(d.fields, ["spec.selector"]);
    let applied = k8s.apply(&changed, deadline()).await.expect("apply");
    let d = applied.iter().find(|a| a.object.kind == "Deployment").unwrap();
    assert_eq!(d.outcome, ApplyOutcome::Replaced);
    let live = fake.get("apps/v1", "Deployment", Some("app"), "web").unwrap();
    assert_eq!(live["spec"]["selector"]["matchLabels"]["app"], "web2");
    // A real validation error is not mistaken for one: a changed image alone applies in place.
    let image = deployment("web2").replace("image: i", "image: j");
    let applied = k8s.apply(&manifests(&image), deadline()).await.expect("apply");
    assert_eq!(applied[1].outcome, ApplyOutcome::Configured);
}

fn statefulset(size: &str) -> String {
    format!(
        "{NS}apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: db, namespace: app}}\n\
         spec: {{serviceName: db, replicas: 1, selector: {{matchLabels: {{app: db}}}}, \
         template: {{metadata: {{labels: {{app: db}}}}, spec: {{containers: [{{name: c, image: i}}]}}}}, \
         volumeClaimTemplates: [{{metadata: {{name: data}}, spec: {{accessModes: [ReadWriteOnce], \
         resources: {{requests: {{storage: {size}}}}}}}}}]}}\n"
    )
}

#[tokio::test]
async fn a_statefulset_claim_template_change_replaces_it_keeping_pods_and_claims() {
    let fake = K8sFake::start().await;
    let k8s = fake.k8s();
    k8s.apply(&manifests(&statefulset("10Gi")), deadline())
        .await
        .expect("first apply");
    let sts = fake.get("apps/v1", "StatefulSet", Some("app"), "db").unwrap();
    let old_uid = sts["metadata"]["uid"].clone();
    // Its pod and claim, as the StatefulSet controller made them.
    fake.put(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-0", "namespace": "app",
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": old_uid,
        "controller": true}]}, "spec": {"containers": [{"name": "c", "image": "i"}]}}),
    );
    fake.put(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data-db-0", "namespace": "app"}, "spec": {"accessModes": ["ReadWriteOnce"]}}));

    let changed = manifests(&statefulset("20Gi"));
    let plan = k8s.dry_run(&changed, deadline()).await.expect("dry run");
    let s = plan.iter().find(|p| p.object.kind == "StatefulSet").unwrap();
    assert_eq!(s.change, Change::Replace(Replacement::KeepPods));
    assert_eq!(s.fields, ["spec"]);
    fake.clear_log();
    let applied = k8s.apply(&changed, deadline()).await.expect("apply");
    assert_eq!(applied[1].outcome, ApplyOutcome::Replaced);
    let delete = fake
        .writes()
        .into_iter()
        .find(|w| w.method == "DELETE")
        .expect("a DELETE of the StatefulSet");
    assert!(delete.path.ends_with("/statefulsets/db"), "{}", delete.path);
    let options: Value = serde_json::from_str(&delete.body).expect("DeleteOptions");
    assert_eq!(options["propagationPolicy"], "Orphan", "{options:#}");
    let sts = fake.get("apps/v1", "StatefulSet", Some("app"), "db").unwrap();
    assert_ne!(sts["metadata"]["uid"], old_uid);
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "20Gi"
    );
    // The pod stayed (orphaned, for the new StatefulSet to adopt) and so did its claim.
    let pod = fake.get("v1", "Pod", Some("app"), "db-0").expect("the pod stays");
    assert_eq!(pod["metadata"]["ownerReferences"], json!([]));
    assert!(
        fake.get("v1", "PersistentVolumeClaim", Some("app"), "data-db-0")
            .is_some()
    );
}

fn service(ty: &str, ip: &str) -> String {
    format!(
        "{NS}apiVersion: v1\nkind: Service\nmetadata: {{name: gw, namespace: app}}\n\
         spec: {{type: {ty}, clusterIP: '{ip}', ports: [{{port: 4317}}]}}\n"
    )
}

#[tokio::test]
async fn a_load_balancer_service_is_never_replaced_the_error_names_it_and_the_field() {
    let fake = K8sFake::start().await;
    let k8s = fake.k8s();
    k8s.apply(&manifests(&service("LoadBalancer", "10.128.0.10")), deadline())
        .await
        .expect("first apply");
    let uid = fake.get("v1", "Service", Some("app"), "gw").unwrap()["metadata"]["uid"].clone();
    let changed = manifests(&service("LoadBalancer", "10.128.0.11"));
    let plan = k8s.dry_run(&changed, deadline()).await.expect("dry run");
    let s = plan.iter().find(|p| p.object.kind == "Service").unwrap();
    assert_eq!(s.change, Change::Replace(Replacement::Refused));
    assert_eq!(s.fields, ["spec.clusterIPs[0]"]);
    let err = k8s.apply(&changed, deadline()).await.expect_err("refused");
    assert!(matches!(err, K8sError::ReplaceRefused { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("Service/app/gw") && text.contains("spec.clusterIPs[0]"),
        "{text}"
    );
    assert!(text.contains("LoadBalancer"), "{text}");
    assert!(!fake.writes().iter().any(|w| w.method == "DELETE"));
    assert_eq!(
        fake.get("v1", "Service", Some("app"), "gw").unwrap()["metadata"]["uid"],
        uid
    );

    // A ClusterIP Service is replaced.
    let fake = K8sFake::start().await;
    let k8s = fake.k8s();
    k8s.apply(&manifests(&service("ClusterIP", "10.128.0.10")), deadline())
        .await
        .expect("first apply");
    let applied = k8s
        .apply(&manifests(&service("ClusterIP", "10.128.0.11")), deadline())
        .await
        .expect("replaced");
    assert_eq!(applied[1].outcome, ApplyOutcome::Replaced);
}

#[tokio::test]
async fn an_immutable_config_map_whose_data_changes_is_replaced() {
    let cm = |v: &str| {
        format!(
            "{NS}apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: app}}\nimmutable: true\ndata: {{k: '{v}'}}\n"
        )
    };
    let fake = K8sFake::start().await;
    let k8s = fake.k8s();
    k8s.apply(&manifests(&cm("1")), deadline()).await.expect("first apply");
    let plan = k8s.dry_run(&manifests(&cm("2")), deadline()).await.expect("dry run");
    assert_eq!(plan[1].change, Change::Replace(Replacement::Recreate));
    assert_eq!(plan[1].fields, ["data"]);
    let applied = k8s.apply(&manifests(&cm("2")), deadline()).await.expect("apply");
    assert_eq!(applied[1].outcome, ApplyOutcome::Replaced);
    assert_eq!(fake.get("v1", "ConfigMap", Some("app"), "c").unwrap()["data"]["k"], "2");
}
