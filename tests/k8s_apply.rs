//! `k8s` apply, dry run and prune against the fake Kubernetes API: request shape (server-side
//! apply as `lkeobs`, forced), dependency order, outcomes, CRDs, `dryRun=All`, and a prune that
//! deletes exactly the stale labelled object. Ends with the real rendered example stack.

use crate::support;

use std::time::Duration;

use lkeobs::k8s::{ApplyOutcome, Change, Manifests};
use serde_json::json;
use support::k8s_fake::{K8sFake, Logged};
use tokio::time::Instant;

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

const LABELS: &str = "{app.kubernetes.io/managed-by: lkeobs, lkeobs.io/fleet: demo, lkeobs.io/cluster: hub}";

/// A small stack written out of order on purpose.
fn scrambled() -> Manifests {
    let app = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: app, labels: {LABELS}}}\nspec: {{replicas: 1}}\n---\n\
         apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: web, namespace: app, labels: {LABELS}}}\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: app, labels: {LABELS}}}\n---\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: web-config, namespace: app, labels: {LABELS}}}\ndata: {{a: '1'}}\n---\n\
         apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: web, namespace: app, labels: {LABELS}}}\n"
    );
    let ns = format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: app, labels: {LABELS}}}\n");
    Manifests::parse([("20-app.yaml", app.as_str()), ("00-ns.yaml", ns.as_str())]).expect("manifests parse")
}

fn patches(fake: &K8sFake) -> Vec<Logged> {
    fake.requests().into_iter().filter(|r| r.method == "PATCH").collect()
}

/// `configmaps/web-config` from `/api/v1/namespaces/app/configmaps/web-config`.
fn short(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').collect();
    segs[segs.len() - 2..].join("/")
}

#[tokio::test]
async fn apply_sends_forced_server_side_apply_patches_as_lkeobs() {
    let fake = K8sFake::start().await;
    fake.k8s().apply(&scrambled(), deadline()).await.expect("apply");
    let patches = patches(&fake);
    assert_eq!(patches.len(), 6);
    for p in &patches {
        assert_eq!(
            p.content_type.as_deref(),
            Some("application/apply-patch+yaml"),
            "{}",
            p.path
        );
        assert_eq!(
            p.query.get("fieldManager").map(String::as_str),
            Some("lkeobs"),
            "{}",
            p.path
        );
        assert_eq!(p.query.get("force").map(String::as_str), Some("true"), "{}", p.path);
        assert!(!p.query.contains_key("dryRun"), "{}", p.path);
    }
}

#[tokio::test]
async fn apply_puts_namespaces_first_and_workloads_after_configmaps_and_services() {
    let fake = K8sFake::start().await;
    fake.k8s().apply(&scrambled(), deadline()).await.expect("apply");
    let order: Vec<String> = patches(&fake).iter().map(|p| short(&p.path)).collect();
    assert_eq!(
        order,
        [
            "namespaces/app",
            "serviceaccounts/web",
            "configmaps/web-config",
            "services/web",
            "deployments/web",
            "poddisruptionbudgets/web"
        ]
    );
}

#[tokio::test]
async fn apply_reports_created_then_unchanged_then_configured() {
    let fake = K8sFake::start().await;
    let k8s = fake.k8s();
    let first = k8s.apply(&scrambled(), deadline()).await.expect("apply");
    assert!(first.iter().all(|a| a.outcome == ApplyOutcome::Created), "{first:?}");
    let second = k8s.apply(&scrambled(), deadline()).await.expect("apply again");
    assert!(
        second.iter().all(|a| a.outcome == ApplyOutcome::Unchanged),
        "{second:?}"
    );

    let changed = Manifests::parse([(
        "x.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: app}\ndata: {a: '2'}\n",
    )])
    .expect("parse");
    let third = k8s.apply(&changed, deadline()).await.expect("apply a change");
    assert_eq!(third[0].outcome, ApplyOutcome::Configured);
    assert_eq!(third[0].object.to_string(), "ConfigMap/app/web-config");
}

#[tokio::test]
async fn apply_into_a_missing_namespace_names_the_object_and_the_cause() {
    let fake = K8sFake::start().await;
    let m = Manifests::parse([(
        "x.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: nowhere}\n",
    )])
    .expect("parse");
    let err = fake.k8s().apply(&m, deadline()).await.expect_err("no namespace");
    assert_eq!(
        err.to_string(),
        "apply ConfigMap/nowhere/c: namespaces \"nowhere\" not found (NotFound, HTTP 404)"
    );
}

#[tokio::test]
async fn apply_waits_for_crds_to_be_established_then_rediscovers_for_their_objects() {
    let fake = K8sFake::start().await;
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\n\
               spec: {group: example.com, scope: Namespaced, names: {plural: widgets, kind: Widget},\n\
               versions: [{name: v1, served: true, storage: true}]}\n";
    let cr = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: app}\nspec: {size: 3}\n";
    let ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n";
    let m = Manifests::parse([("cr.yaml", cr), ("crd.yaml", crd), ("ns.yaml", ns)]).expect("parse");
    let applied = fake.k8s().apply(&m, deadline()).await.expect("apply with a CRD");
    let kinds: Vec<&str> = applied.iter().map(|a| a.object.kind.as_str()).collect();
    assert_eq!(kinds, ["Namespace", "CustomResourceDefinition", "Widget"]);
    assert!(fake.get("example.com/v1", "Widget", Some("app"), "w").is_some());
    // Discovery ran again after the CRD: /apis was read twice.
    let apis = fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/apis")
        .count();
    assert_eq!(apis, 2);
}

#[tokio::test]
async fn dry_run_sends_dry_run_all_stores_nothing_and_lists_changes() {
    let fake = K8sFake::start().await;
    let k8s = fake.k8s();
    let plan = k8s
        .dry_run(&scrambled(), deadline())
        .await
        .expect("dry run on an empty cluster");
    assert!(plan.iter().all(|p| p.change == Change::Create), "{plan:?}");
    assert!(
        fake.get("v1", "Namespace", None, "app").is_none(),
        "a dry run stored an object"
    );
    let dry: Vec<Logged> = patches(&fake);
    assert!(!dry.is_empty());
    assert!(
        dry.iter()
            .all(|p| p.query.get("dryRun").map(String::as_str) == Some("All"))
    );

    k8s.apply(&scrambled(), deadline()).await.expect("apply");
    let plan = k8s.dry_run(&scrambled(), deadline()).await.expect("dry run again");
    assert!(plan.iter().all(|p| p.change == Change::Unchanged), "{plan:?}");

    let changed = Manifests::parse([(
        "x.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: app}\ndata: {a: '2'}\n",
    )])
    .expect("parse");
    fake.clear_log();
    let plan = k8s.dry_run(&changed, deadline()).await.expect("dry run of a change");
    assert_eq!(plan[0].change, Change::Update);
    assert!(plan[0].fields.contains(&"data.a".to_string()), "{:?}", plan[0].fields);
    let stored = fake
        .get("v1", "ConfigMap", Some("app"), "web-config")
        .expect("still there");
    assert_eq!(stored["data"]["a"], "1", "the dry run changed the live object");
    assert!(
        fake.writes()
            .iter()
            .all(|w| w.query.get("dryRun").map(String::as_str) == Some("All"))
    );
}

#[tokio::test]
async fn prune_deletes_exactly_the_stale_labelled_object_and_nothing_unlabelled() {
    let fake = K8sFake::start().await;
    let k8s = fake.k8s();
    k8s.apply(&scrambled(), deadline()).await.expect("apply");
    let labels = json!({"app.kubernetes.io/managed-by": "lkeobs", "lkeobs.io/fleet": "demo"});
    let cm = |name: &str, labels: serde_json::Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "app", "labels": labels}});
    fake.put(cm("old-config", labels.clone()));
    fake.put(cm("someone-elses", json!({"team": "x"})));
    fake.put(cm(
        "other-fleet",
        json!({"app.kubernetes.io/managed-by": "lkeobs", "lkeobs.io/fleet": "prod"}),
    ));
    fake.put(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "lkeobs-ca", "namespace": "app", "labels": labels}}));
    fake.put(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "owned", "namespace": "app", "labels": labels,
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "u", "controller": true}]}}));

    let stale = k8s
        .list_stale("demo", &scrambled(), deadline())
        .await
        .expect("list stale");
    let names: Vec<String> = stale.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["ConfigMap/app/old-config"]);
    assert!(
        fake.writes().iter().all(|w| w.method != "DELETE"),
        "listing deleted something"
    );

    let pruned = k8s.prune("demo", &scrambled(), deadline()).await.expect("prune");
    assert_eq!(pruned, stale);
    let deletes: Vec<String> = fake
        .writes()
        .into_iter()
        .filter(|w| w.method == "DELETE")
        .map(|w| w.path)
        .collect();
    assert_eq!(deletes, ["/api/v1/namespaces/app/configmaps/old-config"]);
    for kept in ["someone-elses", "other-fleet", "owned", "web-config"] {
        assert!(
            fake.get("v1", "ConfigMap", Some("app"), kept).is_some(),
            "{kept} was deleted"
        );
    }
    assert!(fake.get("v1", "Secret", Some("app"), "lkeobs-ca").is_some());

    let err = k8s
        .prune("demo", &Manifests::default(), deadline())
        .await
        .expect_err("empty set");
    assert!(err.to_string().starts_with("refusing to prune"), "{err}");
    assert!(fake.get("v1", "ConfigMap", Some("app"), "web-config").is_some());
}

#[tokio::test]
async fn prune_removes_the_gateway_of_the_other_kind_when_its_kind_flips() {
    let fake = K8sFake::start().await;
    let k8s = fake.k8s();
    let as_kind = |kind: &str| {
        let ns = format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: observability-hub, labels: {LABELS}}}\n");
        let gw = format!(
            "apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: otel-gateway, namespace: observability-hub, labels: {LABELS}}}\n"
        );
        Manifests::parse([("a.yaml", ns.as_str()), ("b.yaml", gw.as_str())]).expect("parse")
    };
    k8s.apply(&as_kind("Deployment"), deadline())
        .await
        .expect("apply deployment");
    let statefulset = as_kind("StatefulSet");
    k8s.apply(&statefulset, deadline()).await.expect("apply statefulset");
    let stale = k8s.list_stale("demo", &statefulset, deadline()).await.expect("list");
    let names: Vec<String> = stale.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["Deployment/observability-hub/otel-gateway"]);
}

/// The example fleet's rendered stacks, applied for real: every object reaches the fake, in apply order.
#[tokio::test]
async fn the_rendered_example_stack_is_applied_completely_and_in_order() {
    let source = std::fs::read_to_string("fleet/example.toml").expect("example fleet");
    let loaded = lkeobs::fleet::parse("example.toml", &source).expect("fleet parses");
    let renderer = lkeobs::stack::Renderer::new().expect("renderer");
    for cluster in loaded.fleet.clusters() {
        let fake = K8sFake::start().await;
        let k8s = fake.k8s();
        let rendered = renderer
            .render(&loaded.fleet, cluster, &Default::default())
            .expect("render");
        let manifests = Manifests::parse(rendered.documents()).expect("manifests");
        let rendered_refs = rendered.objects().expect("objects");
        assert_eq!(manifests.len(), rendered_refs.len());

        let applied = k8s.apply(&manifests, deadline()).await.expect("apply the stack");
        assert_eq!(applied.len(), rendered_refs.len());
        assert!(applied.iter().all(|a| a.outcome == ApplyOutcome::Created));
        let mut applied_refs: Vec<_> = applied.iter().map(|a| a.object.clone()).collect();
        assert_eq!(applied_refs, manifests.refs(), "applied in another order than planned");
        applied_refs.sort();
        let mut expected = rendered_refs.clone();
        expected.sort();
        assert_eq!(
            applied_refs, expected,
            "{}: not every rendered object was applied",
            rendered.cluster
        );

        // The PATCHes arrived in that order, namespaces first, workloads after ConfigMaps and Services.
        let arrived: Vec<String> = patches(&fake).iter().map(|p| short(&p.path)).collect();
        let want: Vec<String> = manifests.refs().iter().map(|r| r.name.clone()).collect();
        let names: Vec<String> = arrived
            .iter()
            .map(|a| a.split('/').nth(1).unwrap_or("").to_string())
            .collect();
        assert_eq!(names, want);
        assert!(arrived[0].starts_with("namespaces/"));
        let last = |prefix: &str| arrived.iter().rposition(|a| a.starts_with(prefix));
        let first = |prefix: &str| arrived.iter().position(|a| a.starts_with(prefix));
        let first_workload = ["deployments/", "daemonsets/", "statefulsets/"]
            .iter()
            .filter_map(|p| first(p))
            .min();
        let first_workload = first_workload.expect("the stack has workloads");
        assert!(last("namespaces/").expect("namespaces") < first("configmaps/").expect("configmaps"));
        assert!(last("configmaps/").expect("configmaps") < first_workload);
        assert!(last("services/").expect("services") < first_workload);
        for r in &rendered_refs {
            assert!(
                fake.get(&r.api_version, &r.kind, r.namespace.as_deref(), &r.name)
                    .is_some(),
                "{r} missing"
            );
        }

        // A second run changes nothing, plans nothing and prunes nothing.
        let again = k8s.apply(&manifests, deadline()).await.expect("apply again");
        assert!(again.iter().all(|a| a.outcome == ApplyOutcome::Unchanged));
        let plan = k8s.dry_run(&manifests, deadline()).await.expect("dry run");
        assert!(plan.iter().all(|p| p.change == Change::Unchanged), "{plan:?}");
        let stale = k8s
            .list_stale(loaded.fleet.name(), &manifests, deadline())
            .await
            .expect("stale");
        assert!(stale.is_empty(), "{stale:?}");
    }
}
