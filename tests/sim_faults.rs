//! `lkeobs sim --lose-answers N`: the first N creating requests are carried out, but their answers come
//! only after the client has given up; lkeobs then finds what it created by label instead of creating it
//! twice.

use crate::support;

use std::time::Duration;

use lkeobs::linode::{Client, CreateLkeCluster, NodePoolSpec};
use lkeobs::sim::serve::{LOST_ANSWER_DELAY, Options, Sim};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_answer_is_found_by_label_and_nothing_is_created_twice() {
    let sim = Sim::start(&Options {
        lose_answers: 2,
        ..Options::default()
    })
    .await
    .expect("the simulator starts");
    assert!(
        LOST_ANSWER_DELAY > Duration::from_secs(60),
        "past lkeobs' request timeout"
    );
    let mut config = support::test_config(&sim.url(), sim.token());
    // A client that gives up sooner than lkeobs' 60 s, so the test does not wait for the late answer.
    config.timeout = Some(Duration::from_secs(1));
    let client = Client::new(config).expect("client");
    let regions = client.list_regions().await.expect("regions");
    let region = regions
        .iter()
        .find(|r| r.capabilities.iter().any(|c| c == "Kubernetes"))
        .expect("an LKE region");
    let versions = client.list_lke_versions().await.expect("versions");
    let request = CreateLkeCluster {
        label: "lkeobs-lost-hub".into(),
        region: region.id.clone(),
        k8s_version: versions.last().expect("a version").id.clone(),
        node_pools: vec![NodePoolSpec::new("g6-standard-2", 1)],
        tags: vec!["lkeobs".into()],
        control_plane: None,
        tier: None,
    };
    // A plain create: carried out, but its answer never comes in time.
    let plain = CreateLkeCluster {
        label: "lkeobs-lost-edge".into(),
        ..request.clone()
    };
    assert!(client.create_lke_cluster(&plain).await.is_err(), "the answer was lost");
    assert!(
        sim.world()
            .linode()
            .state()
            .clusters
            .values()
            .any(|c| c["label"] == "lkeobs-lost-edge"),
        "yet the cluster exists"
    );
    let created = client
        .create_lke_cluster_idempotent(&request)
        .await
        .expect("found by label");
    assert_eq!(created.label, "lkeobs-lost-hub");
    let st = sim.world().linode().state();
    assert_eq!(st.clusters.len(), 2, "each created once: {:?}", st.clusters.keys());
    let posts = st
        .log
        .iter()
        .filter(|l| l.method == "POST" && l.path == "/lke/clusters")
        .count();
    assert_eq!(posts, 2, "no create was repeated");
}
