//! The control-plane ACL is reconciled on every `up`, not only set at create: a changed
//! `control_plane_acl` shows in `plan` and `up` puts it on every cluster of the fleet.

use crate::e2e;
use crate::support;

use e2e::{Dir, FLEET, LABELS, clear_logs, linode_writes};
use serde_json::json;
use support::world::{Latencies, World};

fn with_acl(nets: &str) -> String {
    FLEET.replace("mtls = true", &format!("mtls = true\ncontrol_plane_acl = [{nets}]"))
}

fn acls(world: &World) -> Vec<serde_json::Value> {
    world.linode.state().acls.values().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_changed_acl_is_planned_and_put_by_up_then_converged() {
    let world = World::start(LABELS, Latencies::default()).await;
    world.linode.state().kubeconfig_retry_after_secs = 0;
    let dir = Dir::new(&with_acl("\"203.0.113.0/24\""));
    let (code, _, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}");
    let created = acls(&world);
    assert_eq!(created.len(), 3, "set at create on every cluster");
    assert!(
        created
            .iter()
            .all(|a| a["addresses"]["ipv4"] == json!(["203.0.113.0/24"]))
    );

    std::fs::write(dir.fleet(), with_acl("\"198.51.100.0/24\", \"203.0.113.0/24\"")).unwrap();
    let (code, plan, stderr) = dir.run(&world, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(code, 2, "changes pending: {stderr}\n{plan:#}");
    for c in plan["clusters"].as_array().unwrap() {
        assert_eq!(c["acl"]["from"], json!(["203.0.113.0/24"]), "{c:#}");
        assert_eq!(c["acl"]["to"], json!(["198.51.100.0/24", "203.0.113.0/24"]), "{c:#}");
    }

    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    for a in acls(&world) {
        assert_eq!(a["enabled"], true);
        assert_eq!(
            a["addresses"]["ipv4"],
            json!(["198.51.100.0/24", "203.0.113.0/24"]),
            "{a:#}"
        );
    }
    let (code, plan, stderr) = dir.run(&world, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(code, 0, "converged: {stderr}\n{plan:#}");
}

/// The ids of the fleet's clusters in the simulator.
fn cluster_ids(world: &World) -> Vec<u64> {
    world.linode.state().clusters.keys().copied().collect()
}

/// Clusters made without an ACL (by an older lkeobs, by hand, or before the user added the setting), then a
/// fleet that sets one. LKE answers 400 `Cluster does not support Control Plane ACL` on the ACL endpoint for
/// such a cluster: `plan` reads that as "no ACL" and shows it being enabled, `up` enables it with a cluster
/// update (the endpoint refuses such a cluster), and a second `up` writes nothing. An emptied list takes the
/// ACL off through the endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_acl_over_clusters_without_one_is_enabled_by_a_cluster_update() {
    let world = World::start(LABELS, Latencies::default()).await;
    world.linode.state().kubeconfig_retry_after_secs = 0;
    let dir = Dir::new(FLEET);
    let (code, _, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(acls(&world).is_empty(), "made without an ACL");

    // The platform's answer for such a cluster.
    let client = world.linode.client();
    for id in cluster_ids(&world) {
        let err = client.get_control_plane_acl(id).await.expect_err("no ACL to read");
        assert_eq!(err.status(), Some(400), "{err}");
        assert!(
            err.to_string().contains("Cluster does not support Control Plane ACL"),
            "{err}"
        );
        assert_eq!(client.find_control_plane_acl(id).await.expect("read as none"), None);
    }

    std::fs::write(dir.fleet(), with_acl("\"203.0.113.0/24\"")).unwrap();
    let (code, plan, stderr) = dir.run(&world, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(code, 2, "changes pending, not an error: {stderr}\n{plan:#}");
    let clusters = plan["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 3, "{plan:#}");
    for c in clusters {
        assert_eq!(
            c["acl"],
            json!({"from": [], "to": ["203.0.113.0/24"], "via": "cluster_update"}),
            "{c:#}"
        );
    }
    let text = dir.run_text(&world, &["plan"]).await;
    assert!(
        text.contains("control-plane ACL: none → 203.0.113.0/24 (enabled on the cluster)"),
        "{text}"
    );

    clear_logs(&world);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let writes = linode_writes(&world);
    for id in cluster_ids(&world) {
        assert!(writes.contains(&format!("PUT /lke/clusters/{id}")), "{writes:?}");
    }
    assert!(!writes.iter().any(|w| w.ends_with("/control_plane_acl")), "{writes:?}");
    let enabled = acls(&world);
    assert_eq!(enabled.len(), 3, "{enabled:?}");
    for a in &enabled {
        assert_eq!(a["enabled"], true, "{a:#}");
        assert_eq!(a["addresses"]["ipv4"], json!(["203.0.113.0/24"]), "{a:#}");
    }

    clear_logs(&world);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert_eq!(
        linode_writes(&world),
        Vec::<String>::new(),
        "a second up writes nothing"
    );
    let (code, plan, stderr) = dir.run(&world, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(code, 0, "converged: {stderr}\n{plan:#}");

    // An emptied list takes the ACL off, through the endpoint (the cluster has an ACL now).
    std::fs::write(dir.fleet(), with_acl("")).unwrap();
    let text = dir.run_text(&world, &["plan"]).await;
    assert!(text.contains("control-plane ACL: 203.0.113.0/24 → off"), "{text}");
    clear_logs(&world);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let writes = linode_writes(&world);
    assert_eq!(
        writes.iter().filter(|w| w.ends_with("/control_plane_acl")).count(),
        3,
        "{writes:?}"
    );
    assert!(acls(&world).iter().all(|a| a["enabled"] == false));
    let (code, plan, stderr) = dir.run(&world, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(code, 0, "converged: {stderr}\n{plan:#}");
}

/// Without `control_plane_acl` in the file, a cluster's ACL is not read and left as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_the_setting_the_acl_is_left_alone() {
    let world = World::start(LABELS, Latencies::default()).await;
    world.linode.state().kubeconfig_retry_after_secs = 0;
    let dir = Dir::new(&with_acl("\"203.0.113.0/24\""));
    let (code, _, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}");
    std::fs::write(dir.fleet(), FLEET).unwrap();
    clear_logs(&world);
    let (code, plan, stderr) = dir.run(&world, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(code, 0, "{stderr}\n{plan:#}");
    let reads: Vec<_> = world
        .linode
        .state()
        .log
        .iter()
        .filter(|r| r.path.ends_with("/control_plane_acl"))
        .map(|r| r.path.clone())
        .collect();
    assert!(reads.is_empty(), "{reads:?}");
    assert!(acls(&world).iter().all(|a| a["enabled"] == true));
}
