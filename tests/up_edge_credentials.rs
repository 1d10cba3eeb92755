//! Each edge's gateway credential end to end (security.mtls): `up` keeps one password per edge in the hub,
//! derives the gateway's htpasswd file and copies each edge its own; a re-run changes nothing; `add-edge`
//! adds one entry; `remove-edge` revokes it in both hub Secrets and restarts the gateway; no password ever
//! reaches stdout or stderr.

use crate::e2e;
use crate::support;

use std::collections::BTreeMap;

use base64::Engine as _;
use e2e::{Dir, FLEET, LABELS};
use support::world::{Latencies, World};

const HUB: &str = "lkeobs-e2e-hub";

async fn world() -> World {
    let w = World::start(LABELS, Latencies::default()).await;
    w.linode.state().kubeconfig_retry_after_secs = 0;
    w
}

/// A Secret's data, decoded.
fn secret(world: &World, label: &str, ns: &str, name: &str) -> Option<BTreeMap<String, String>> {
    let s = world.k8s(label)?.get("v1", "Secret", Some(ns), name)?;
    let data = s["data"].as_object().cloned().unwrap_or_default();
    Some(
        data.into_iter()
            .map(|(k, v)| {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(v.as_str().unwrap())
                    .unwrap();
                (k, String::from_utf8(raw).unwrap())
            })
            .collect(),
    )
}

fn credentials(world: &World) -> BTreeMap<String, String> {
    secret(world, HUB, "observability-hub", "lkeobs-edge-credentials").expect("hub credentials Secret")
}

fn htpasswd_users(world: &World) -> Vec<String> {
    let s = secret(world, HUB, "observability-hub", "otel-gateway-htpasswd").expect("htpasswd Secret");
    s["htpasswd"]
        .lines()
        .map(|l| l.split(':').next().unwrap().to_string())
        .collect()
}

fn gateway_restart_reason(world: &World) -> Option<String> {
    let gw = world
        .k8s(HUB)?
        .get("apps/v1", "Deployment", Some("observability-hub"), "otel-gateway")?;
    gw["spec"]["template"]["metadata"]["annotations"]["lkeobs.io/restart-reason"]
        .as_str()
        .map(str::to_string)
}

fn assert_secret_free(passwords: &BTreeMap<String, String>, what: &str, text: &str) {
    for (edge, p) in passwords {
        assert!(!text.contains(p.as_str()), "{what} leaks {edge}'s gateway password");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn edge_credentials_follow_the_fleet_and_remove_edge_revokes() {
    let world = world().await;
    let dir = Dir::new(FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "up failed:\n{stderr}\n{report:#}");

    // One entry per edge in both hub Secrets; each edge holds the hub's password under its own name.
    let creds = credentials(&world);
    assert_eq!(creds.keys().collect::<Vec<_>>(), ["eu", "us"]);
    assert_eq!(htpasswd_users(&world), ["eu", "us"]);
    for (edge, label) in [("us", "lkeobs-e2e-us"), ("eu", "lkeobs-e2e-eu")] {
        let own = secret(&world, label, "observability", "otel-edge-auth").expect("edge credential");
        assert_eq!(own["username"], edge);
        assert_eq!(own["password"], creds[edge], "{edge}'s copy differs from the hub's");
        assert!(creds[edge].len() >= 43, "a 256-bit password");
    }
    assert_ne!(creds["us"], creds["eu"]);
    let htpasswd = &secret(&world, HUB, "observability-hub", "otel-gateway-htpasswd").unwrap()["htpasswd"];
    assert_secret_free(&creds, "the htpasswd file", htpasswd);
    assert_secret_free(&creds, "up's JSON report", &report.to_string());
    assert_secret_free(&creds, "up's stderr", &stderr);
    assert!(
        report.to_string().contains("edge credentials: 2 added"),
        "not reported: {report:#}"
    );
    // A fresh hub: the gateway started with the file, no restart.
    assert_eq!(gateway_restart_reason(&world), None);

    // A re-run changes nothing: same passwords, no write, no restart.
    e2e::clear_logs(&world);
    let (code, again, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "re-run failed:\n{stderr}\n{again:#}");
    assert_eq!(e2e::k8s_writes(&world), Vec::<String>::new());
    assert_eq!(credentials(&world), creds);
    assert_eq!(gateway_restart_reason(&world), None);

    // add-edge: one more entry, the others kept, the gateway restarted to read the new file.
    let (code, added, stderr) = dir.run(&world, &e2e::ADD_FRA).await;
    assert_eq!(code, 0, "add-edge failed:\n{stderr}\n{added:#}");
    let after_add = credentials(&world);
    assert_eq!(after_add.keys().collect::<Vec<_>>(), ["eu", "fra", "us"]);
    assert_eq!((&after_add["us"], &after_add["eu"]), (&creds["us"], &creds["eu"]));
    assert_eq!(htpasswd_users(&world), ["eu", "fra", "us"]);
    let fra = secret(&world, "lkeobs-e2e-fra", "observability", "otel-edge-auth").expect("fra's credential");
    assert_eq!(fra["password"], after_add["fra"]);
    assert_eq!(
        gateway_restart_reason(&world).as_deref(),
        Some("edge credentials changed")
    );
    assert_secret_free(&after_add, "add-edge's report", &added.to_string());
    assert_secret_free(&after_add, "add-edge's stderr", &stderr);

    // remove-edge: the entry leaves both hub Secrets before the cluster goes, and the gateway restarts.
    let (code, removed, stderr) = dir.run(&world, &["remove-edge", "eu", "--yes"]).await;
    assert_eq!(code, 0, "remove-edge failed:\n{stderr}\n{removed:#}");
    assert_eq!(removed["credential_revoked"], true, "{removed:#}");
    assert_eq!(credentials(&world).keys().collect::<Vec<_>>(), ["fra", "us"]);
    assert_eq!(htpasswd_users(&world), ["fra", "us"]);
    assert_eq!(
        gateway_restart_reason(&world).as_deref(),
        Some("edge credential revoked")
    );
    assert_secret_free(&after_add, "remove-edge's report", &removed.to_string());
    assert_secret_free(&after_add, "remove-edge's stderr", &stderr);
    let text = dir.run_text(&world, &["status"]).await;
    assert_secret_free(&after_add, "status", &text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_revokes_an_edge_dropped_from_the_fleet_file() {
    let world = world().await;
    let dir = Dir::new(FLEET);
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "up failed:\n{stderr}\n{report:#}");
    let before = credentials(&world);

    // The edge's table removed by hand: the next `up` drops its credential and restarts the gateway.
    let without_eu = FLEET.split("[edges.eu]").next().unwrap().to_string()
        + "[security]"
        + FLEET.split("[security]").nth(1).unwrap();
    std::fs::write(dir.fleet(), &without_eu).unwrap();
    let (code, report, stderr) = dir.run(&world, &["up", "--no-verify"]).await;
    assert_eq!(code, 0, "up failed:\n{stderr}\n{report:#}");
    assert_eq!(credentials(&world).keys().collect::<Vec<_>>(), ["us"]);
    assert_eq!(credentials(&world)["us"], before["us"]);
    assert_eq!(htpasswd_users(&world), ["us"]);
    assert!(
        report.to_string().contains("1 revoked (eu)"),
        "not reported: {report:#}"
    );
    assert_eq!(
        gateway_restart_reason(&world).as_deref(),
        Some("edge credentials changed")
    );
}
