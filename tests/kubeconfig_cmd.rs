//! `lkeobs kubeconfig` against the Linode fake: contexts named `lkeobs-<fleet>-<cluster>`, merged under a lock
//! with foreign entries kept, current-context changed only by `--use`, files 0600, credentials never printed.

use crate::support;
use crate::tooling;

use std::os::unix::fs::PermissionsExt;

use lkeobs::linode::NodePoolSpec;
use serde_yaml_ng::Value;
use support::FAKE_TOKEN;
use support::linode_fake::{LinodeFake, State};
use tooling::{fleet, lkeobs};

const FOREIGN: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: work\n  cluster:\n    server: https://work.example\nusers:\n- name: me\n  user:\n    token: mine\ncontexts:\n- name: work\n  context:\n    cluster: work\n    user: me\ncurrent-context: work\n";

async fn fake_with(labels: &[(&str, &str, &str)]) -> LinodeFake {
    let mut st = State::seeded();
    st.kubeconfig_not_ready_polls = 1;
    st.regions
        .push(serde_json::json!({"id": "us-east", "label": "us-east", "capabilities": ["Kubernetes"], "status": "ok"}));
    let fake = LinodeFake::start_with(st).await;
    for (label, region, role) in labels {
        let tags = [
            "lkeobs".to_string(),
            "lkeobs-fleet-example".into(),
            format!("lkeobs-role-{role}"),
        ];
        fake.seed_cluster(label, region, vec![NodePoolSpec::new("g6-standard-1", 1)], &tags)
            .await;
    }
    fake
}

fn contexts(path: &std::path::Path) -> (Vec<String>, String) {
    let doc: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let names = doc["contexts"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    (names, doc["current-context"].as_str().unwrap_or("").to_string())
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_keeps_foreign_entries_and_replaces_ours() {
    let fake = fake_with(&[
        ("lkeobs-example-hub", "us-ord", "hub"),
        ("lkeobs-example-us-east", "us-east", "edge"),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kube").join("config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, FOREIGN).unwrap();
    let run = |extra: &[&str]| {
        lkeobs()
            .env("LINODE_URL", fake.base_url())
            .env("LINODE_TOKEN", FAKE_TOKEN)
            .env("KUBECONFIG", format!("{}:/elsewhere/config", config.display()))
            .env("XDG_STATE_HOME", dir.path().join("state"))
            .args(["kubeconfig", "--merge", "--fleet"])
            .arg(fleet("example"))
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(!all.contains("sim-k8s-token"), "a credential was printed: {all}");
    let (names, current) = contexts(&config);
    assert_eq!(names, ["work", "lkeobs-example.hub", "lkeobs-example.us-east"]);
    assert_eq!(current, "work", "current-context changed without --use");
    assert_eq!(mode(&config), 0o600);
    let cache = dir.path().join("state/lkeobs/example/kubeconfig");
    assert_eq!(mode(&cache), 0o600);
    // Again, with --use: ours replaced (not duplicated), current-context set.
    assert!(run(&["--use", "us-east"]).status.success());
    let (names, current) = contexts(&config);
    assert_eq!(names, ["work", "lkeobs-example.hub", "lkeobs-example.us-east"]);
    assert_eq!(current, "lkeobs-example.us-east");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_not_created_yet_are_listed_and_out_writes_a_standalone_file() {
    let fake = fake_with(&[("lkeobs-example-hub", "us-ord", "hub")]).await;
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("fleet.kubeconfig");
    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .args(["kubeconfig", "--output", "json", "--out"])
        .arg(&out_file)
        .arg("--fleet")
        .arg(fleet("example"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["contexts"], serde_json::json!(["lkeobs-example.hub"]));
    assert_eq!(v["missing"], serde_json::json!(["us-east"]));
    assert!(v["api_calls"]["GET /lke/clusters/{id}/kubeconfig"].as_u64().unwrap() >= 1);
    let (names, current) = contexts(&out_file);
    assert_eq!(names, ["lkeobs-example.hub"]);
    assert_eq!(current, "lkeobs-example.hub");
    assert_eq!(mode(&out_file), 0o600);
}

#[test]
fn kubeconfig_without_a_token_says_so() {
    lkeobs()
        .args(["kubeconfig", "--fleet"])
        .arg(fleet("example"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains("LINODE_TOKEN"));
}
