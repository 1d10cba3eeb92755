//! `lkeobs alerts test` against the simulator: `up` applies a fleet with [alerts] (the Alertmanager config
//! and the Secret of its receivers' secrets), the sim's Alertmanager routes the synthetic alerts through the
//! config actually applied and counts deliveries per receiver; a receiver switched to fail makes the
//! command exit 1 naming it.

use crate::e2e;
use crate::support;

use e2e::{Dir, FLEET, LABELS};
use support::world::{Latencies, World};

fn fleet() -> String {
    format!(
        r##"{FLEET}
[alerts]
default_receiver = "chat"

[[alerts.receivers]]
name = "chat"
type = "slack"
url_env = "SLACK_WEBHOOK_URL"

[[alerts.receivers]]
name = "tickets"
type = "webhook"
url = "https://hooks.example.com/alertmanager"
"##
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alerts_test_reports_each_receiver_and_names_a_failing_one() {
    let world = World::start(LABELS, Latencies::default()).await;
    world.linode.state().kubeconfig_retry_after_secs = 0;
    // The hub's stand-ins (Prometheus, …, Alertmanager) serve from the start, as under `lkeobs sim`.
    let data = world.data_path().await;
    let dir = Dir::new(&fleet());
    let env = [("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/S3CRET")];
    let (code, report, stderr) = dir.run_env(&world, &["up", "--yes", "--no-verify"], &env).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let hub = world.kube("lkeobs-e2e-hub");
    assert!(
        hub.get_secret("monitoring", "lkeobs-alertmanager")
            .await
            .expect("read")
            .is_some_and(|d| d.contains_key("SLACK_WEBHOOK_URL")),
        "up stores the receiver's secret for Alertmanager"
    );

    let (code, report, stderr) = dir.run_env(&world, &["alerts", "test", "--wait", "20s"], &[]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let deliveries = report["deliveries"].as_array().expect("deliveries");
    assert_eq!(deliveries.len(), 2, "{report:#}");
    for (d, integration) in deliveries.iter().zip(["slack", "webhook"]) {
        assert_eq!(d["result"], "delivered", "{report:#}");
        assert_eq!(d["integrations"][0], integration, "{report:#}");
        assert_eq!(d["attempts"], 1.0, "{report:#}");
    }
    assert!(!format!("{report}{stderr}").contains("S3CRET"));

    // verify passes its Alertmanager probe: ready, config loaded, no receiver failing.
    let (code, verify, stderr) = dir.run_env(&world, &["verify", "--wait", "60s"], &[]).await;
    let probe = |v: &serde_json::Value| {
        v["outcomes"]
            .as_array()
            .and_then(|o| o.iter().find(|o| o["name"] == "alertmanager"))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(probe(&verify)["outcome"], "pass", "{stderr}\n{verify:#}");
    assert_eq!(code, 0, "{stderr}\n{verify:#}");

    // One receiver fails at the hub's Alertmanager: exit 1 naming it; the other is still delivered.
    data.fail_receiver("tickets");
    let (code, report, stderr) = dir.run_env(&world, &["alerts", "test", "--wait", "20s"], &[]).await;
    assert_eq!(code, 1, "{stderr}\n{report:#}");
    assert!(stderr.contains("tickets") && !stderr.contains("chat"), "{stderr}");
    assert_eq!(report["deliveries"][0]["result"], "delivered", "{report:#}");
    assert_eq!(report["deliveries"][1]["result"], "failed", "{report:#}");

    // status shows the failures per receiver and the silences; verify fails naming the receiver.
    let (code, status, stderr) = dir.run_env(&world, &["status"], &[]).await;
    assert_eq!(code, 0, "{stderr}\n{status:#}");
    let am = &status["alertmanager"];
    assert_eq!(am["state"], "read", "{status:#}");
    assert_eq!(am["silences"], serde_json::json!([]), "{status:#}");
    assert!(am["receivers"]["tickets"]["failed"].as_f64() > Some(0.0), "{status:#}");
    assert_eq!(am["receivers"]["chat"]["failed"], 0.0, "{status:#}");
    let (code, verify, stderr) = dir.run_env(&world, &["verify"], &[]).await;
    assert_eq!(code, 3, "{stderr}\n{verify:#}");
    let probe = probe(&verify);
    assert_eq!(probe["outcome"], "fail", "{verify:#}");
    assert!(probe["detail"].as_str().unwrap_or("").contains("tickets"), "{probe:#}");

    // --receiver tests one; a misspelt one is a usage error with a did-you-mean.
    let (code, report, stderr) = dir
        .run_env(&world, &["alerts", "test", "--receiver", "chat", "--wait", "20s"], &[])
        .await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert_eq!(report["deliveries"].as_array().map(Vec::len), Some(1));
    let (code, report, stderr) = dir
        .run_env(&world, &["alerts", "test", "--receiver", "chatt"], &[])
        .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        report["error"].as_str().unwrap_or("").contains("did you mean `chat`"),
        "{report:#}"
    );

    // The fleet drops [alerts]: the receivers' secrets do not outlive their use.
    std::fs::write(dir.fleet(), FLEET).expect("the fleet without [alerts]");
    let (code, report, stderr) = dir.run_env(&world, &["up", "--yes", "--no-verify"], &[]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert!(
        hub.get_secret("monitoring", "lkeobs-alertmanager")
            .await
            .expect("read")
            .is_none(),
        "the Secret of the receivers' secrets is deleted with [alerts]"
    );
    let changes = report.to_string();
    assert!(changes.contains("secret_removed"), "{report:#}");
    // A second run has nothing left to remove.
    let (code, report, stderr) = dir.run_env(&world, &["up", "--yes", "--no-verify"], &[]).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    assert!(!report.to_string().contains("secret_removed"), "{report:#}");
}

/// The receivers a `plan` shows: all new on an empty account, unchanged once `up` applied them, and a
/// webhook moved to another host marked `needs review` with the host it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plan_reviews_the_receivers_against_the_running_alertmanager() {
    let world = World::start(LABELS, Latencies::default()).await;
    world.linode.state().kubeconfig_retry_after_secs = 0;
    let _data = world.data_path().await;
    let dir = Dir::new(&fleet());
    let env = [("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/S3CRET")];
    let receivers = |plan: &serde_json::Value| -> Vec<(String, String, bool)> {
        plan["receivers"]
            .as_array()
            .map(|r| {
                r.iter()
                    .map(|r| {
                        let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                        (s("name"), s("status"), r["needs_review"] == true)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (_, plan, stderr) = dir.run_env(&world, &["plan"], &env).await;
    assert_eq!(
        receivers(&plan),
        [
            ("chat".into(), "new".into(), true),
            ("tickets".into(), "new".into(), true)
        ],
        "{stderr}\n{plan:#}"
    );
    let (code, report, stderr) = dir.run_env(&world, &["up", "--yes", "--no-verify"], &env).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let (_, plan, stderr) = dir.run_env(&world, &["plan"], &env).await;
    assert_eq!(
        receivers(&plan),
        [
            ("chat".into(), "unchanged".into(), false),
            ("tickets".into(), "unchanged".into(), false)
        ],
        "{stderr}\n{plan:#}"
    );
    let moved = fleet().replace(
        "https://hooks.example.com/alertmanager",
        "https://alerts.example.org/in",
    );
    std::fs::write(dir.fleet(), moved).expect("the fleet with the webhook moved");
    let (_, plan, stderr) = dir.run_env(&world, &["plan"], &env).await;
    assert_eq!(
        receivers(&plan)[1],
        ("tickets".into(), "host_changed".into(), true),
        "{stderr}\n{plan:#}"
    );
    assert_eq!(plan["receivers"][1]["running_host"], "hooks.example.com", "{plan:#}");
    let text = dir.run_text(&world, &["plan"]).await;
    assert!(
        text.contains("! receiver tickets (webhook) → alerts.example.org: host changed from hooks.example.com"),
        "{text}"
    );
}
