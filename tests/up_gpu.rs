//! GPU pools in `lkeobs up` against the Linode fake and fake Kubernetes APIs: the pool gets our label and no
//! taint of ours (NVIDIA's device plugin tolerates only `nvidia.com/gpu`), the fleet's own labels and taints
//! reach the pool and its Nodes, an old taint of ours is removed, and the DCGM exporter tolerates any taint
//! and uses the `nvidia` RuntimeClass only where the cluster has one.

use crate::e2e;
use crate::support;

use std::collections::BTreeMap;

use e2e::{Dir, FLEET, LABELS};
use lkeobs::linode::{NodePoolSpec, Taint, TaintEffect};
use serde_json::{Value, json};
use support::world::{Latencies, World};

const EU: &str = "lkeobs-e2e-eu";
const GPU_TYPE: &str = "g2-gpu-rtx4000a1-s";

async fn world() -> World {
    let w = World::start(LABELS, Latencies::default()).await;
    w.linode.state().kubeconfig_retry_after_secs = 0;
    w
}

/// The GPU pool as the fake holds it.
fn gpu_pool(world: &World) -> Value {
    let st = world.linode.state();
    st.pools
        .values()
        .find(|p| p["type"] == GPU_TYPE)
        .cloned()
        .expect("a GPU pool")
}

/// The Kubernetes Node of the GPU pool, as LKE labelled and tainted it.
fn gpu_node(world: &World) -> Value {
    let pool_id = gpu_pool(world)["id"].to_string();
    let fake = world.k8s(EU).expect("eu API");
    fake.list("v1", "Node")
        .into_iter()
        .find(|n| n["metadata"]["labels"]["lke.linode.com/pool-id"] == pool_id.as_str())
        .expect("a Node of the GPU pool")
}

fn dcgm(world: &World) -> Value {
    world
        .k8s(EU)
        .expect("eu API")
        .get("apps/v1", "DaemonSet", Some("observability"), "dcgm-exporter")
        .expect("the DCGM exporter DaemonSet")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_labels_gpu_pools_and_taints_them_with_nothing_of_ours() {
    let world = world().await;
    let dir = Dir::new(FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "up failed:\n{stderr}\n{report:#}");

    let pool = gpu_pool(&world);
    assert_eq!(pool["labels"], json!({"lkeobs.io/gpu": "true"}));
    assert_eq!(
        pool["taints"],
        json!([]),
        "a taint of ours keeps NVIDIA's device plugin off"
    );
    let node = gpu_node(&world);
    assert_eq!(node["metadata"]["labels"]["lkeobs.io/gpu"], "true");
    assert!(node["spec"]["taints"].is_null(), "{:#}", node["spec"]);

    // No RuntimeClass with handler nvidia in this cluster: the node's default runtime.
    let ds = dcgm(&world);
    let pod = &ds["spec"]["template"]["spec"];
    assert!(pod["runtimeClassName"].is_null(), "{pod:#}");
    assert_eq!(pod["nodeSelector"]["lkeobs.io/gpu"], "true");
    assert_eq!(pod["tolerations"], json!([{"operator": "Exists"}]));
    e2e::assert_requests_match_the_spec(&world);
}

/// [`FLEET`] whose GPU pool carries its own labels and taints.
fn fleet_with_own_taints() -> String {
    let pool = r#"{ type = "g2-gpu-rtx4000a1-s", count = 1 },"#;
    assert!(FLEET.contains(pool));
    FLEET.replace(
        pool,
        r#"{ type = "g2-gpu-rtx4000a1-s", count = 1, labels = { "example.com/team" = "ml" }, taints = [{ key = "nvidia.com/gpu", value = "true", effect = "NoSchedule" }, { key = "dedicated", effect = "PreferNoSchedule" }] },"#,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_fleets_own_labels_and_taints_reach_the_nodes_and_dcgm_uses_the_nvidia_runtime_class() {
    let world = world().await;
    world
        .k8s(EU)
        .expect("eu API")
        .put(json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
        "metadata": {"name": "nvidia"}, "handler": "nvidia"}));
    let dir = Dir::new(&fleet_with_own_taints());
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "up failed:\n{stderr}\n{report:#}");

    let taints = json!([
        {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"},
        {"key": "dedicated", "value": "", "effect": "PreferNoSchedule"},
    ]);
    let pool = gpu_pool(&world);
    assert_eq!(
        pool["labels"],
        json!({"example.com/team": "ml", "lkeobs.io/gpu": "true"})
    );
    assert_eq!(pool["taints"], taints);
    let node = gpu_node(&world);
    assert_eq!(node["metadata"]["labels"]["example.com/team"], "ml");
    assert_eq!(node["spec"]["taints"], taints);
    let pod = dcgm(&world)["spec"]["template"]["spec"].clone();
    assert_eq!(pod["runtimeClassName"], "nvidia");
    assert_eq!(pod["tolerations"], json!([{"operator": "Exists"}]));
    let checked = e2e::assert_requests_match_the_spec(&world);
    let creates_with_taints = world
        .linode
        .state()
        .log
        .iter()
        .filter(|r| {
            r.method == "POST"
                && r.body
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains("nvidia.com/gpu"))
        })
        .count();
    assert_eq!(creates_with_taints, 1, "the cluster create carries the pool's taints");
    eprintln!("{checked} request bodies checked against the spec");

    // Converged: the plan has nothing to do, and a re-run writes nothing.
    let (code, plan, stderr) = dir.run(&world, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(code, 0, "plan sees changes:\n{stderr}\n{plan:#}");
    e2e::clear_logs(&world);
    let (code, _, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(e2e::linode_writes(&world), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_removes_the_taint_lkeobs_once_put_on_a_gpu_pool_and_plan_shows_it() {
    let world = world().await;
    // The edge as an earlier lkeobs left it: the GPU pool labelled and tainted lkeobs.io/gpu.
    let mut gpu = NodePoolSpec::new(GPU_TYPE, 1);
    gpu.labels = BTreeMap::from([("lkeobs.io/gpu".to_string(), "true".to_string())]);
    gpu.taints = vec![Taint {
        key: "lkeobs.io/gpu".into(),
        value: "true".into(),
        effect: TaintEffect::NoSchedule,
    }];
    let tags: Vec<String> = ["lkeobs", "lkeobs-fleet-e2e", "lkeobs-role-edge", "team-obs"]
        .map(String::from)
        .to_vec();
    world
        .linode
        .seed_cluster(EU, "de-fra-2", vec![NodePoolSpec::new("g6-standard-1", 1), gpu], &tags)
        .await;
    let dir = Dir::new(FLEET);

    let (code, plan, stderr) = dir.run(&world, &["plan"]).await;
    assert_eq!(code, 0, "{stderr}\n{plan:#}");
    let eu = plan["clusters"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["label"] == EU))
        .expect("the eu plan");
    let pool = eu["pools"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["type"] == GPU_TYPE))
        .expect("the GPU pool's plan");
    assert_eq!(pool["action"], "update", "{pool:#}");
    assert_eq!(
        pool["taints_before"],
        json!([{"key": "lkeobs.io/gpu", "value": "true", "effect": "NoSchedule"}])
    );
    assert!(pool.get("taints").is_none(), "{pool:#}");
    assert!(pool.get("labels_before").is_none(), "{pool:#}");

    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "up failed:\n{stderr}\n{report:#}");
    assert_eq!(gpu_pool(&world)["taints"], json!([]));
    assert_eq!(gpu_pool(&world)["labels"], json!({"lkeobs.io/gpu": "true"}));
    assert!(gpu_node(&world)["spec"]["taints"].is_null());
    e2e::assert_requests_match_the_spec(&world);
}
