//! Turning `security.gateway_firewall` off on a running fleet: the cloud controller detaches and deletes
//! the firewall once the gateway Service loses its firewall-id annotation; `plan` says so, and neither
//! `up` nor `teardown` fails on the firewall having gone.

use crate::e2e;
use crate::support;

use std::time::Duration;

use e2e::{Dir, FLEET, LABELS};
use support::world::{Latencies, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn turning_the_gateway_firewall_off_is_planned_as_the_controllers_delete_and_converges() {
    let world = World::start(LABELS, Latencies::default()).await;
    world.linode.state().kubeconfig_retry_after_secs = 0;
    let dir = Dir::new(FLEET);
    let (code, _, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}");
    let fw_id = *world
        .linode
        .state()
        .firewalls
        .keys()
        .next()
        .expect("the gateway firewall");

    std::fs::write(
        dir.fleet(),
        FLEET.replace("gateway_firewall = true", "gateway_firewall = false"),
    )
    .unwrap();
    let (code, plan, stderr) = dir.run(&world, &["plan"]).await;
    assert_eq!(code, 0, "{stderr}\n{plan:#}");
    assert_eq!(plan["firewall"]["action"], "delete", "{plan:#}");
    assert_eq!(plan["firewall"]["id"], fw_id);
    assert!(
        plan["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .contains("the cloud controller detaches and deletes firewall")),
        "{plan:#}"
    );

    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let mut gone = false;
    for _ in 0..100 {
        if world.linode.state().firewalls.is_empty() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "the controller deletes the firewall no annotation names");
    let gateway = world
        .k8s("lkeobs-e2e-hub")
        .unwrap()
        .get("v1", "Service", Some("observability-hub"), "otel-gateway-external")
        .unwrap();
    assert!(
        gateway["metadata"]["annotations"]["service.beta.kubernetes.io/linode-loadbalancer-firewall-id"].is_null(),
        "{gateway:#}"
    );

    let (code, report, stderr) = dir.run(&world, &["teardown", "--yes"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
}
