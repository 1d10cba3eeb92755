//! `ops::verify::run` against the Linode fake and fake Kubernetes APIs: clusters found by tags,
//! probes run, the JUnit file written, exit code 3 on failure, and `--wait`/`--passes` rounds.

use crate::probes_fixtures;
use crate::support;

use std::path::Path;
use std::time::Duration;

use lkeobs::error::exit;
use lkeobs::linode::Token;
use lkeobs::ops::verify::{self, Options};
use lkeobs::ops::{Ctx, LinodeAccess, Paths};
use lkeobs::ui::Printer;
use probes_fixtures::{FLEET, HubBackends, deploy, fleet, mount_hub_backends, proxied};
use support::FAKE_TOKEN;
use support::k8s_fake::K8sFake;
use support::linode_fake::LinodeFake;

/// The fixtures' fleet without its third cluster.
fn two_cluster_fleet() -> String {
    let cut = FLEET.find("[edges.eu-west]").expect("eu-west table");
    FLEET[..cut].to_string()
}

struct World {
    linode: LinodeFake,
    hub: K8sFake,
    _edge: K8sFake,
    _backends: HubBackends,
    dir: tempfile::TempDir,
}

/// A Linode account holding the hub and us-east (not eu-west), both healthy.
async fn world(fleet_text: &str) -> World {
    let (hub, edge) = (K8sFake::start().await, K8sFake::start().await);
    let fl = fleet();
    deploy(&hub, &fl, "hub", &["hub-1", "hub-2", "hub-3"], &[]);
    deploy(&edge, &fl, "us-east", &["use-1", "use-2"], &[]);
    let linode = probes_fixtures::seeded_linode(&hub, &edge).await;
    let backends = mount_hub_backends(&linode, &[("lkeobs-probe-hub", &hub), ("lkeobs-probe-us-east", &edge)]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("lkeobs.toml"), fleet_text).expect("fleet file");
    World {
        linode,
        hub,
        _edge: edge,
        _backends: backends,
        dir,
    }
}

fn ctx(world: &World, token: Result<Token, String>) -> Ctx {
    Ctx::new(
        Printer::new(lkeobs::ui::Format::Json, true, true),
        world.dir.path().join("lkeobs.toml"),
        Some(Duration::from_secs(60)),
        true,
        LinodeAccess {
            base_url: world.linode.base_url(),
            token,
        },
        Paths::default(),
    )
}

fn junit_path(world: &World) -> std::path::PathBuf {
    world.dir.path().join("junit.xml")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_passes_twice_in_a_row_and_writes_junit() {
    let w = world(&two_cluster_fleet()).await;
    let options = Options {
        canary: false,
        junit: Some(junit_path(&w)),
        wait: Some(Duration::from_secs(10)),
        passes: 2,
    };
    let report = verify::run(&ctx(&w, Ok(Token::new(FAKE_TOKEN))), &options)
        .await
        .expect("verify passes");
    assert!(report.passed);
    assert_eq!(
        (report.rounds, report.passes_in_a_row, report.passes_required),
        (2, 2, 2)
    );
    assert_eq!(
        lkeobs::probes::failed(&report.outcomes),
        0,
        "{}",
        lkeobs::probes::table(&report.outcomes)
    );
    let names: Vec<(&str, &str)> = report
        .outcomes
        .iter()
        .map(|o| (o.name.as_str(), o.cluster.as_str()))
        .collect();
    assert!(
        names.contains(&("prometheus/series", "us-east")) && names.contains(&("pods", "hub")),
        "{names:?}"
    );
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["outcomes"][0]["outcome"], "pass");
    assert!(json["api_calls"].is_object() || json["api_calls"].is_array(), "{json}");
    let junit = read(&junit_path(&w));
    assert!(junit.contains("failures=\"0\""), "{junit}");
    assert!(junit.contains("<testsuite name=\"us-east\""), "{junit}");
    // Every backend was reached through a port-forward, none through the API server's proxy.
    assert!(w.hub.requests().iter().any(|r| r.path.ends_with("/portforward")));
    assert_eq!(proxied(&w.hub), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_fails_with_exit_code_3_naming_the_missing_cluster() {
    let w = world(FLEET).await;
    let options = Options {
        junit: Some(junit_path(&w)),
        ..Options::default()
    };
    let report = verify::run(&ctx(&w, Ok(Token::new(FAKE_TOKEN))), &options)
        .await
        .expect("verify reports");
    let outcome = lkeobs::ui::Report::outcome(&report);
    assert_eq!(outcome.exit_code(), exit::VERIFY_FAILED);
    let msg = outcome.message().unwrap_or_default().to_string();
    assert!(msg.starts_with("verification failed: "), "{msg}");
    assert!(
        msg.contains("cluster on eu-west") && msg.contains("prometheus/series on eu-west"),
        "{msg}"
    );
    let junit = read(&junit_path(&w));
    assert!(
        junit.contains("cluster lkeobs-probe-eu-west does not exist (run `lkeobs up`)"),
        "{junit}"
    );
    assert!(
        junit.contains("prometheus: no series with cluster_id=&quot;eu-west&quot; in the last 5m"),
        "{junit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_under_wait_retries_then_gives_up_when_the_wait_runs_out() {
    let w = world(FLEET).await;
    // Long enough for a second round even on a loaded machine (a round against the simulator takes
    // milliseconds; the wait bounds the rounds, it is not a speed target).
    let options = Options {
        wait: Some(Duration::from_secs(3)),
        ..Options::default()
    };
    let report = verify::run(&ctx(&w, Ok(Token::new(FAKE_TOKEN))), &options)
        .await
        .expect("verify reports");
    // The report names the failure; `run` prints it and exits 3.
    let outcome = lkeobs::ui::Report::outcome(&report);
    assert!(
        matches!(
            outcome,
            lkeobs::ui::Outcome::Failed(lkeobs::ui::Failure::VerifyFailed, _)
        ),
        "{outcome:?}"
    );
    assert_eq!(outcome.exit_code(), 3);
    // Rediscovered every round while a cluster is missing: more than one list of clusters.
    let lists = w.linode.state().processed("GET", "/lke/clusters");
    assert!(lists >= 2, "{lists} cluster lists");
}

#[tokio::test]
async fn verify_without_a_token_says_what_it_needs() {
    let w = world(FLEET).await;
    let err = verify::run(&ctx(&w, Err("no LINODE_TOKEN".into())), &Options::default())
        .await
        .expect_err("no token");
    assert_eq!(err.exit_code(), exit::INVALID_INPUT);
    assert_eq!(err.to_string(), "verify needs the Linode API: no LINODE_TOKEN");
}
