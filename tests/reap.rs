//! `lkeobs reap` against the Linode fake: only fleets whose `lkeobs-expires-<unix>` tag has passed are torn
//! down; `--dry-run` lists them and deletes nothing.

use crate::support;
use crate::tooling;

use lkeobs::linode::NodePoolSpec;
use serde_json::Value;
use support::FAKE_TOKEN;
use support::linode_fake::LinodeFake;
use tooling::lkeobs;

async fn cluster(fake: &LinodeFake, label: &str, tags: &[String]) {
    fake.seed_cluster(label, "us-ord", vec![NodePoolSpec::new("g6-standard-1", 1)], tags)
        .await;
}

fn tags(fleet: &str, expires: Option<u64>) -> Vec<String> {
    let mut t = vec!["lkeobs".to_string(), format!("lkeobs-fleet-{fleet}")];
    t.extend(expires.map(|e| format!("lkeobs-expires-{e}")));
    t
}

async fn world() -> LinodeFake {
    let fake = LinodeFake::start().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    cluster(&fake, "lkeobs-old-hub", &tags("old", Some(now - 60))).await;
    cluster(&fake, "lkeobs-old-e1", &tags("old", Some(now - 60))).await;
    cluster(&fake, "lkeobs-young-hub", &tags("young", Some(now + 3600))).await;
    cluster(&fake, "lkeobs-prod-hub", &tags("prod", None)).await;
    // Expired by its tags but not carrying `lkeobs`: not ours, never touched.
    cluster(
        &fake,
        "imposter",
        &["lkeobs-fleet-x".to_string(), format!("lkeobs-expires-{}", now - 60)],
    )
    .await;
    fake
}

fn reap(fake: &LinodeFake, extra: &[&str]) -> (i32, Value) {
    let out = lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .args(["reap", "--output", "json"])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

fn labels(fake: &LinodeFake) -> Vec<String> {
    let mut v: Vec<String> = fake
        .state()
        .clusters
        .values()
        .map(|c| c["label"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reap_deletes_only_expired_fleets() {
    let fake = world().await;
    let (code, r) = reap(&fake, &["--yes"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["expired"][0]["fleet"], "old");
    assert_eq!(r["alive"][0]["fleet"], "young");
    assert_eq!(r["torn_down"][0]["left"], serde_json::json!([]));
    assert_eq!(labels(&fake), ["imposter", "lkeobs-prod-hub", "lkeobs-young-hub"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_lists_and_deletes_nothing() {
    let fake = world().await;
    let seeded = fake.state().log.len();
    let (code, r) = reap(&fake, &["--dry-run"]);
    assert_eq!(code, 0);
    assert_eq!(r["expired"].as_array().unwrap().len(), 1);
    assert_eq!(r["expired"][0]["clusters"].as_array().unwrap().len(), 2);
    assert_eq!(labels(&fake).len(), 5);
    assert!(
        fake.state().log[seeded..].iter().all(|l| l.method == "GET"),
        "--dry-run wrote"
    );
}
