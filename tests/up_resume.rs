//! `up` killed at every stage and run again converges without a duplicate; `up` through a 429 storm and
//! server errors converges; `add-edge` then `remove-edge` returns the account and the fleet file to where
//! they were, the firewall following; `reap` deletes only expired fleets.

use crate::e2e;
use crate::support;

use e2e::{Dir, FLEET, LABELS};
use support::linode_fake::{Faults, State};
use support::world::{Latencies, World};

async fn world_with(state: State) -> World {
    let w = World::start_with(state, LABELS, Latencies::default()).await;
    w.linode.state().kubeconfig_retry_after_secs = 0;
    w
}

/// Everything `up` creates exists exactly once.
fn assert_no_duplicates(world: &World) {
    assert_eq!(
        e2e::cluster_labels(world),
        ["lkeobs-e2e-eu", "lkeobs-e2e-hub", "lkeobs-e2e-us"]
    );
    let st = world.linode.state();
    assert_eq!(st.firewalls.len(), 1, "firewalls: {:?}", st.firewalls);
    let mut pools_per_cluster: Vec<usize> = st
        .clusters
        .keys()
        .map(|id| st.pools.values().filter(|p| p["cluster_id"] == *id).count())
        .collect();
    pools_per_cluster.sort();
    assert_eq!(pools_per_cluster, [1, 1, 2], "pools: {:?}", st.pools);
    assert_eq!(st.nodebalancers.len(), 1, "only the gateway's: {:?}", st.nodebalancers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_at_every_stage_then_rerun_converges_without_duplicates() {
    for marker in [
        "creating or updating the cluster",
        "waiting for the kubeconfig",
        "waiting for nodes Ready",
        "applying the stack",
        "waiting for the gateway address",
        "certificates",
        "waiting for rollouts",
    ] {
        let world = world_with(State::seeded()).await;
        let dir = Dir::new(FLEET);
        dir.run_until(&world, &["up", "--no-verify"], marker).await;
        let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
        assert_eq!(
            code, 0,
            "re-run after a kill at {marker:?} failed:\n{stderr}\n{report:#}"
        );
        assert_no_duplicates(&world);
        assert_eq!(
            e2e::firewall_ips(&world),
            e2e::node_ips(&world, &["lkeobs-e2e-us", "lkeobs-e2e-eu"]),
            "after a kill at {marker:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn converges_through_429s_and_server_errors() {
    let mut state = State::seeded();
    state.faults = Faults {
        rate_limit_percent: 30,
        retry_after: std::time::Duration::from_millis(50),
        server_error_percent: 5,
        ..Faults::default()
    };
    let world = world_with(state).await;
    let dir = Dir::new(FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert!(world.linode.state().injected() > 5, "faults were injected");
    assert_no_duplicates(&world);
    assert_eq!(
        e2e::firewall_ips(&world),
        e2e::node_ips(&world, &["lkeobs-e2e-us", "lkeobs-e2e-eu"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn add_edge_then_remove_edge_returns_to_the_same_state() {
    let world = world_with(State::seeded()).await;
    let dir = Dir::new(FLEET);
    let (code, _, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}");
    let ips_before = e2e::firewall_ips(&world);
    let labels_before = e2e::cluster_labels(&world);

    e2e::clear_logs(&world);
    let (code, report, stderr) = dir.run(&world, &e2e::ADD_FRA).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let text = std::fs::read_to_string(dir.fleet()).unwrap();
    let mut lines = text.lines();
    assert!(
        FLEET.lines().all(|want| lines.any(|l| l == want)),
        "the rest of the file (comments included) is kept, in order:\n{text}"
    );
    assert!(text.contains("[edges.fra]"), "{text}");
    assert!(e2e::cluster_labels(&world).contains(&"lkeobs-e2e-fra".to_string()));
    assert_eq!(
        e2e::firewall_ips(&world),
        e2e::node_ips(&world, &["lkeobs-e2e-us", "lkeobs-e2e-eu", "lkeobs-e2e-fra"]),
        "the firewall follows the new edge"
    );
    let hub_writes: Vec<String> = e2e::k8s_writes(&world)
        .into_iter()
        .filter(|w| w.starts_with("lkeobs-e2e-hub"))
        .collect();
    // In the hub, add-edge writes only the new edge's gateway credential and restarts the gateway.
    assert!(
        hub_writes
            .iter()
            .all(|w| w.ends_with("/namespaces/observability-hub/secrets")
                || w.ends_with("/namespaces/observability-hub/secrets/lkeobs-edge-credentials")
                || w.ends_with("/namespaces/observability-hub/secrets/otel-gateway-htpasswd")
                || w.ends_with("/namespaces/observability-hub/deployments/otel-gateway")),
        "add-edge changes more than the edge credentials in the hub: {hub_writes:?}"
    );
    assert!(
        world
            .k8s("lkeobs-e2e-fra")
            .unwrap()
            .get("v1", "Secret", Some("observability"), "otel-client-tls")
            .is_some()
    );

    let (code, report, stderr) = dir.run(&world, &["remove-edge", "fra", "--yes"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert_eq!(std::fs::read_to_string(dir.fleet()).unwrap(), FLEET);
    assert_eq!(e2e::cluster_labels(&world), labels_before);
    assert_eq!(e2e::firewall_ips(&world), ips_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reap_deletes_only_the_expired_fleet() {
    let world = world_with(State::seeded()).await;
    let dir = Dir::new(FLEET);
    let (code, _, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}");
    // Another fleet, still alive.
    let alive = [
        "lkeobs",
        "lkeobs-fleet-other",
        "lkeobs-role-hub",
        "lkeobs-expires-4102444800",
    ]
    .map(String::from)
    .to_vec();
    world
        .linode
        .seed_cluster(
            "lkeobs-other-hub",
            "us-ord",
            vec![lkeobs::linode::NodePoolSpec::new("g6-standard-1", 1)],
            &alive,
        )
        .await;
    // The e2e fleet's expiry passes.
    {
        let mut st = world.linode.state();
        for c in st.clusters.values_mut() {
            if let Some(tags) = c["tags"].as_array_mut() {
                for t in tags.iter_mut() {
                    if t.as_str()
                        .is_some_and(|s| s.starts_with("lkeobs-expires-") && s != "lkeobs-expires-4102444800")
                    {
                        *t = serde_json::json!("lkeobs-expires-1000000000");
                    }
                }
            }
        }
    }
    let (code, report, stderr) = dir.run(&world, &["reap", "--yes"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert_eq!(e2e::cluster_labels(&world), ["lkeobs-other-hub"]);
    let st = world.linode.state();
    assert!(st.firewalls.is_empty() && st.nodebalancers.is_empty() && st.volumes.is_empty());
}
