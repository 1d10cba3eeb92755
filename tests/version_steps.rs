//! Kubernetes versions LKE cannot move a fleet's clusters to (a downgrade, a skip of minor versions) are
//! invalid input: `plan` and `up` exit 2 at the fleet file's `k8s_version` line, and nothing is written.

use crate::support;
use crate::tooling;

use support::FAKE_TOKEN;
use support::linode_fake::{EXAMPLE_REGIONS, LinodeFake, State, us_regions};
use tooling::{fleet, lkeobs};

/// The example fleet's hub and edge exist, running Kubernetes 1.32 (the fake's default).
async fn example_at_1_32() -> LinodeFake {
    let mut st = State::seeded();
    st.regions = us_regions(&EXAMPLE_REGIONS);
    st.versions = ["1.31", "1.32", "1.33", "1.34", "1.35"].map(String::from).to_vec();
    let fake = LinodeFake::start_with(st).await;
    fake.seed_example("g6-standard-2", 1).await;
    fake
}

/// `lkeobs ARGS --fleet F` with the example fleet asking for `version`: exit code and stderr.
fn run(fake: &LinodeFake, version: &str, args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("example.toml");
    let text = std::fs::read_to_string(fleet("example")).expect("example fleet");
    assert!(text.contains("k8s_version = \"1.33\""));
    std::fs::write(
        &file,
        text.replace("k8s_version = \"1.33\"", &format!("k8s_version = \"{version}\"")),
    )
    .expect("write");
    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(args)
        .arg("--fleet")
        .arg(&file)
        .output()
        .expect("runs");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skip_of_minor_versions_and_a_downgrade_are_refused_at_the_version_line_with_no_write() {
    let fake = example_at_1_32().await;
    let seeded = fake.writes();
    for (version, needle) in [
        ("1.34", "needs intermediate upgrades"),
        ("1.31", "LKE cannot downgrade"),
    ] {
        for args in [&["plan"][..], &["up", "--yes", "--no-verify", "--timeout", "30s"][..]] {
            let (code, stderr) = run(&fake, version, args);
            assert_eq!(code, Some(2), "{version} {args:?}: {stderr}");
            assert!(stderr.contains("example.toml:6:"), "{version} {args:?}: {stderr}");
            assert!(stderr.contains("lkeobs-example-hub: runs Kubernetes 1.32"), "{stderr}");
            assert!(
                stderr.contains("lkeobs-example-us-east"),
                "every cluster is named: {stderr}"
            );
            assert!(stderr.contains(needle), "{stderr}");
        }
    }
    assert_eq!(fake.writes(), seeded, "nothing written after seeding");
}

/// The example fleet's clusters moved to `version` (as a finished upgrade leaves them).
fn at(fake: &LinodeFake, version: &str) {
    for c in fake.state().clusters.values_mut() {
        c["k8s_version"] = serde_json::json!(version);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issue_s_cases_1_33_to_1_35_and_1_34_to_1_33_are_refused_with_no_write() {
    let fake = example_at_1_32().await;
    for (have, want, needle) in [
        ("1.33", "1.35", "needs intermediate upgrades"),
        ("1.34", "1.33", "LKE cannot downgrade"),
    ] {
        at(&fake, have);
        let seeded = fake.writes();
        for args in [&["plan"][..], &["up", "--yes", "--no-verify", "--timeout", "30s"][..]] {
            let (code, stderr) = run(&fake, want, args);
            assert_eq!(code, Some(2), "{have} → {want} {args:?}: {stderr}");
            assert!(
                stderr.contains(&format!("runs Kubernetes {have}")) && stderr.contains(needle),
                "{stderr}"
            );
        }
        assert_eq!(fake.writes(), seeded, "{have} → {want}: nothing written");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_minor_version_up_is_planned_as_an_upgrade() {
    let fake = example_at_1_32().await;
    let seeded = fake.writes();
    let (code, stderr) = run(&fake, "1.33", &["plan"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(fake.writes(), seeded);
}
