//! A converged fleet whose change touches a field Kubernetes will not change in place: the fake API
//! refuses it as the real one does (422 Invalid), `plan` shows the object as replaced naming the field,
//! and `up` replaces it (delete, wait until gone, apply) and re-converges.

use crate::e2e;
use crate::support;

use e2e::{Dir, FLEET, LABELS};
use serde_json::Value;
use support::world::{Latencies, World};

async fn world() -> World {
    let w = World::start(LABELS, Latencies::default()).await;
    w.linode.state().kubeconfig_retry_after_secs = 0;
    w
}

fn hub_objects(plan: &Value) -> Vec<Value> {
    plan["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .find(|c| c["name"] == "hub")
        .expect("hub")["objects"]
        .as_array()
        .expect("objects")
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tag_added_after_up_replaces_the_storage_class_in_plan_and_up() {
    let world = world().await;
    let dir = Dir::new(FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "up failed:\n{stderr}\n{report:#}");
    let hub = world.k8s("lkeobs-e2e-hub").expect("hub api");
    let sc_before = hub.list("storage.k8s.io/v1", "StorageClass");
    assert_eq!(sc_before.len(), 1, "{sc_before:#?}");
    let name = sc_before[0]["metadata"]["name"].as_str().unwrap().to_string();
    let uid_before = sc_before[0]["metadata"]["uid"].clone();

    // One more tag: the StorageClass carries the tags in its (immutable) parameters.
    std::fs::write(
        dir.fleet(),
        FLEET.replace(r#"tags = ["team-obs"]"#, r#"tags = ["team-obs", "cost-center-7"]"#),
    )
    .expect("fleet file");

    let (code, plan, stderr) = dir.run(&world, &["plan"]).await;
    assert_eq!(code, 0, "plan failed:\n{stderr}\n{plan:#}");
    let sc: Vec<Value> = hub_objects(&plan)
        .into_iter()
        .filter(|o| o["kind"] == "StorageClass")
        .collect();
    assert_eq!(sc.len(), 1, "{plan:#}");
    assert_eq!(sc[0]["action"], "replace", "{:#}", sc[0]);
    assert_eq!(sc[0]["fields"], serde_json::json!(["parameters"]), "{:#}", sc[0]);
    // The text plan names it too.
    let text = dir.run_text(&world, &["plan"]).await;
    assert!(
        text.contains(&format!("-/+ StorageClass/{name}  [parameters]")),
        "{text}"
    );

    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "up after the tag change failed:\n{stderr}\n{report:#}");
    let after = hub
        .get("storage.k8s.io/v1", "StorageClass", None, &name)
        .expect("the StorageClass is back");
    assert_ne!(after["metadata"]["uid"], uid_before, "not re-created");
    assert!(
        after["parameters"]["linodebs.csi.linode.com/volumeTags"]
            .as_str()
            .unwrap_or_default()
            .contains("cost-center-7"),
        "{after:#}"
    );
    // The delete went before the apply, and was waited for.
    let writes: Vec<String> = hub
        .writes()
        .iter()
        .filter(|w| w.path.contains("/storageclasses/"))
        .map(|w| w.method.clone())
        .collect();
    let delete = writes
        .iter()
        .position(|m| m == "DELETE")
        .expect("a DELETE of the StorageClass");
    assert!(writes[delete + 1..].iter().any(|m| m == "PATCH"), "{writes:?}");

    // Converged: the next plan has nothing to replace.
    let (code, plan, stderr) = dir.run(&world, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(code, 0, "{stderr}\n{plan:#}");
}
