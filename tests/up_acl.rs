//! The control-plane ACL is reconciled on every `up`, not only set at create: a changed
//! `control_plane_acl` shows in `plan` and `up` puts it on every cluster of the fleet.

mod e2e;
mod support;

use e2e::{Dir, FLEET, LABELS};
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
