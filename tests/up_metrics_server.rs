//! The gateway's CPU HorizontalPodAutoscaler needs the resource metrics API. A hub without one (the
//! fake answers 404 for the `v1beta1.metrics.k8s.io` APIService, as a fresh LKE cluster does) gets
//! lkeobs' metrics-server, listed by `plan` and deployed by `up`; a hub that serves someone else's
//! metrics API is left alone; ours is never pruned.

use crate::e2e;
use crate::support;

use e2e::{Dir, FLEET, LABELS};
use serde_json::{Value, json};
use support::k8s_fake::K8sFake;
use support::world::{Latencies, World};

const APISERVICE: &str = "v1beta1.metrics.k8s.io";

async fn world() -> World {
    let w = World::start(LABELS, Latencies::default()).await;
    w.linode.state().kubeconfig_retry_after_secs = 0;
    w
}

fn objects_of(plan: &Value, cluster: &str) -> Vec<Value> {
    plan["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .find(|c| c["name"] == cluster)
        .unwrap_or_else(|| panic!("{cluster} in {plan:#}"))["objects"]
        .as_array()
        .expect("objects")
        .clone()
}

/// `(action, kind)` of the plan's objects in kube-system and the APIService.
fn metrics_objects(plan: &Value, cluster: &str) -> Vec<(String, String)> {
    objects_of(plan, cluster)
        .iter()
        .filter(|o| o["namespace"] == "kube-system" || o["kind"] == "APIService")
        .map(|o| {
            (
                o["action"].as_str().unwrap_or_default().into(),
                o["kind"].as_str().unwrap_or_default().into(),
            )
        })
        .collect()
}

fn apiservice(fake: &K8sFake) -> Option<Value> {
    fake.get("apiregistration.k8s.io/v1", "APIService", None, APISERVICE)
}

fn deployment(fake: &K8sFake) -> Option<Value> {
    fake.get("apps/v1", "Deployment", Some("kube-system"), "metrics-server")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hub_without_a_metrics_api_gets_metrics_server_listed_by_plan_deployed_by_up_and_never_pruned() {
    let world = world().await;
    let dir = Dir::new(FLEET);
    let hub = world.k8s("lkeobs-e2e-hub").expect("hub api");
    assert!(apiservice(&hub).is_none(), "a fresh cluster has no metrics API");

    let (code, plan, stderr) = dir.run(&world, &["plan"]).await;
    assert_eq!(code, 0, "{stderr}\n{plan:#}");
    let listed = metrics_objects(&plan, "hub");
    for kind in ["Deployment", "Service", "ServiceAccount", "RoleBinding", "APIService"] {
        assert!(
            listed.contains(&("create".into(), kind.into())),
            "plan does not create metrics-server's {kind}: {listed:?}"
        );
    }
    // Edges run no HPA: no metrics-server there.
    assert_eq!(metrics_objects(&plan, "us"), Vec::<(String, String)>::new());

    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let service = apiservice(&hub).expect("the APIService is registered");
    assert_eq!(
        service["spec"]["service"],
        json!({"name": "metrics-server", "namespace": "kube-system"})
    );
    assert_eq!(service["metadata"]["labels"]["app.kubernetes.io/managed-by"], "lkeobs");
    let d = deployment(&hub).expect("metrics-server runs in kube-system");
    let args = d["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(args.contains("--kubelet-insecure-tls"), "{args}");
    let image = d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        image, "registry.k8s.io/metrics-server/metrics-server:v0.8.1",
        "k8s 1.32"
    );
    let edge = world.k8s("lkeobs-e2e-us").expect("edge api");
    assert!(apiservice(&edge).is_none() && deployment(&edge).is_none());

    // Ours from now on: the next plan has nothing to do.
    let (code, plan, stderr) = dir.run(&world, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(code, 0, "{stderr}\n{plan:#}");

    // Someone installs a metrics API of their own over it: ours is left alone, nothing pruned.
    hub.update("apiregistration.k8s.io/v1", "APIService", None, APISERVICE, |o| {
        o["metadata"]["labels"] = json!({"k8s-app": "metrics-server"});
        true
    });
    let (code, plan, stderr) = dir.run(&world, &["plan"]).await;
    assert_eq!(code, 0, "{stderr}\n{plan:#}");
    assert_eq!(
        metrics_objects(&plan, "hub"),
        Vec::<(String, String)>::new(),
        "{plan:#}"
    );
    let notes = plan["notes"].to_string();
    assert!(notes.contains("metrics API lkeobs did not deploy"), "{notes}");
    hub.clear_log();
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert!(deployment(&hub).is_some(), "pruned");
    let touched: Vec<String> = hub
        .writes()
        .iter()
        .filter(|w| w.path.contains("kube-system") || w.path.contains("apiservices"))
        .map(|w| format!("{} {}", w.method, w.path))
        .collect();
    assert_eq!(touched, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hub_that_serves_its_own_metrics_api_is_left_alone() {
    let world = world().await;
    let dir = Dir::new(FLEET);
    let hub = world.k8s("lkeobs-e2e-hub").expect("hub api");
    let theirs = json!({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
        "metadata": {"name": APISERVICE, "labels": {"k8s-app": "metrics-server"}},
        "spec": {"service": {"name": "their-metrics", "namespace": "monitoring-system"},
                 "group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100, "versionPriority": 100}});
    hub.put(theirs.clone());

    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert!(
        deployment(&hub).is_none(),
        "metrics-server deployed next to another metrics API"
    );
    assert_eq!(apiservice(&hub).expect("theirs stays")["spec"], theirs["spec"]);
    assert!(
        !hub.writes()
            .iter()
            .any(|w| w.path.contains("apiservices") || w.path.contains("kube-system")),
        "wrote to their metrics API"
    );

    let (code, plan, stderr) = dir.run(&world, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(code, 0, "{stderr}\n{plan:#}");
    assert_eq!(metrics_objects(&plan, "hub"), Vec::<(String, String)>::new());
    assert!(plan["notes"].to_string().contains(APISERVICE), "{plan:#}");
}
