//! The simulator's Linode answers against the official OpenAPI spec: a whole `up` and `teardown` of the
//! end-to-end fleet, then every JSON answer the simulator gave (status 200) validated against the spec's
//! 200 response schema for its path and method (fields the spec predates allowed when linode-cli's newer
//! operations list them for that call). Spec path: `LKEOBS_LINODE_OPENAPI`, default
//! `../shared/linode-openapi/openapi.json`; skipped loudly when absent, failing under `CI=true`.

use crate::e2e;
use crate::support;

use std::collections::BTreeSet;

use e2e::{Dir, FLEET, LABELS};
use support::openapi;
use support::world::{Latencies, World};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answer_of_an_up_and_a_teardown_matches_the_spec() {
    let Some(spec) = openapi::load("LKEOBS_LINODE_OPENAPI", "openapi.json") else {
        return;
    };
    let Some(ops) = openapi::load("LKEOBS_LINODE_CLI_OPS", "linode-cli-5.69.0-baked-ops.json") else {
        return;
    };
    let world = World::start(LABELS, Latencies::default()).await;
    world.linode.state().kubeconfig_retry_after_secs = 0;
    let dir = Dir::new(FLEET);
    let (code, _, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = dir.run(&world, &["teardown", "--yes"]).await;
    assert_eq!(code, 0, "{stderr}");
    let log = world.linode.state().log.clone();
    let mut checked = BTreeSet::new();
    let mut broken = Vec::new();
    for entry in log.iter().filter(|l| l.status == 200) {
        let Some(answer) = &entry.answer else { continue };
        let (template, _) = openapi::path_item(&spec, &entry.path)
            .unwrap_or_else(|| panic!("{} {} is not in the spec", entry.method, entry.path));
        let Some(errors) = openapi::answer_violations(&spec, &ops, &entry.method, &entry.path, answer) else {
            panic!("{} {template} has no JSON 200 answer in the spec", entry.method);
        };
        checked.insert(format!("{} {template}", entry.method));
        for error in errors {
            broken.push(format!("{} {}: {error}", entry.method, entry.path));
        }
    }
    broken.sort();
    broken.dedup();
    assert!(
        broken.is_empty(),
        "the simulator's answers break the spec:\n{}",
        broken.join("\n")
    );
    // The walk covered the lifecycle's calls: reads, creates, updates and deletes.
    for call in [
        "GET /regions",
        "POST /lke/clusters",
        "GET /lke/clusters/{clusterId}/kubeconfig",
        "POST /networking/firewalls",
        "PUT /networking/firewalls/{firewallId}/rules",
        "DELETE /lke/clusters/{clusterId}",
    ] {
        assert!(checked.contains(call), "{call} was not checked: {checked:?}");
    }
}
