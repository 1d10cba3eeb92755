//! A token with only some OAuth scopes, as a pipeline's least-privilege token: the simulator refuses what the
//! platform refuses (401 "not authorized to use this endpoint"), `teardown` of a `single` fleet needs neither
//! `account` nor `object_storage`, an `ha` fleet's plan names the scope it lacks, and the scope tables of the
//! simulator and of lkeobs' error messages agree with Linode's OpenAPI spec.

use crate::e2e;
use crate::support;

use e2e::{Dir, FLEET, LABELS};
use support::world::{Latencies, World};

/// The scopes of a token for a `single` fleet: no `account`, no `object_storage`.
const LEAST: &[&str] = &[
    "lke:read_write",
    "firewall:read_write",
    "nodebalancers:read_write",
    "linodes:read_only",
    "volumes:read_write",
    "events:read_only",
];

async fn world() -> World {
    let w = World::start(LABELS, Latencies::default()).await;
    w.linode.state().kubeconfig_retry_after_secs = 0;
    w
}

fn scopes(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|s| s.to_string()).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_and_teardown_of_a_single_fleet_need_no_account_or_object_storage_scope() {
    let world = world().await;
    world.linode.state().token_scopes = scopes(LEAST);
    let dir = Dir::new(FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "up with the least scopes:\n{stderr}\n{report:#}");
    let (code, report, stderr) = dir.run(&world, &["teardown", "--yes"]).await;
    assert_eq!(code, 0, "teardown with the least scopes:\n{stderr}\n{report:#}");
    assert_eq!(report["left"], serde_json::json!([]), "{report:#}");
    let notes = report["notes"].to_string();
    assert!(notes.contains("Object Storage not checked"), "{report:#}");
    let refused: Vec<String> = world
        .linode
        .state()
        .log
        .iter()
        .filter(|l| l.path.ends_with("(401 scope)"))
        .map(|l| format!("{} {}", l.method, l.path))
        .collect();
    assert!(
        refused
            .iter()
            .all(|r| r.contains("/account/settings") || r.contains("/object-storage/")),
        "only the optional Object Storage reads were refused: {refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_ha_fleet_plans_without_the_account_scope_and_names_the_object_storage_scope_it_lacks() {
    let world = world().await;
    let dir = Dir::new(crate::up_ha::HA_FLEET);
    let mut with_storage = LEAST.to_vec();
    with_storage.push("object_storage:read_write");
    world.linode.state().token_scopes = scopes(&with_storage);
    let (code, report, stderr) = dir.run(&world, &["plan"]).await;
    assert_eq!(code, 0, "plan without account:read_only:\n{stderr}\n{report:#}");
    let items = report["cost"].to_string();
    assert!(
        items.contains("Object Storage base charge"),
        "the base charge is counted: {items}"
    );

    world.linode.state().token_scopes = scopes(LEAST);
    let (code, report, stderr) = dir.run(&world, &["plan"]).await;
    assert_ne!(code, 0, "{report:#}");
    let said = format!("{stderr}{report}");
    assert!(
        said.contains("object_storage:read_only") && said.contains("not allowed to call this endpoint"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn teardown_of_an_ha_fleet_without_the_object_storage_scope_leaves_its_buckets_named() {
    let world = world().await;
    world.linode.state().object_storage.key_propagation = std::time::Duration::ZERO;
    let dir = Dir::new(crate::up_ha::HA_FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    world.linode.state().token_scopes = scopes(LEAST);
    let (code, report, stderr) = dir.run(&world, &["teardown", "--yes"]).await;
    assert_eq!(code, 4, "{stderr}\n{report:#}");
    assert!(
        report["left"].to_string().contains("Object Storage buckets and key"),
        "{report:#}"
    );
    assert_eq!(
        world.linode.state().object_storage.buckets.len(),
        3,
        "the buckets were not touched"
    );
    // With the scope, the next teardown finishes.
    world.linode.state().token_scopes = None;
    let (code, report, stderr) = dir.run(&world, &["teardown", "--yes"]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert!(world.linode.state().object_storage.buckets.is_empty());
}

/// Every operation of the spec under the areas lkeobs uses: the scope its `security` names is the one the
/// simulator demands and the one lkeobs' error message names.
#[test]
fn the_scope_tables_agree_with_the_spec() {
    let Some(spec) = support::openapi::load("LKEOBS_LINODE_OPENAPI", "openapi.json") else {
        return;
    };
    let prefixes = [
        "/account/settings",
        "/object-storage/",
        "/lke/clusters",
        "/networking/firewalls",
        "/nodebalancers",
        "/linode/instances",
        "/volumes",
        "/regions",
        "/linode/types",
        "/lke/versions",
    ];
    let mut checked = 0;
    for (template, item) in spec["paths"].as_object().into_iter().flatten() {
        let path = template.strip_prefix("/{apiVersion}").unwrap_or(template);
        if !prefixes.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        for method in ["get", "post", "put", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let spec_scope = op["security"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|s| s["oauth"].as_array()?.first()?.as_str().map(str::to_string));
            let m = method.to_uppercase();
            assert_eq!(
                lkeobs::sim::linode_scopes::needed(&m, path),
                spec_scope,
                "the simulator's scope of {m} {path}"
            );
            assert_eq!(
                lkeobs::linode::scopes::needed(&m, path),
                spec_scope,
                "lkeobs' scope of {m} {path}"
            );
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} operations checked");
}
