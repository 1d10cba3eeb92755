//! `[alerts]` end to end offline: the rendered Alertmanager config passes Debian's `amtool check-config`
//! (0.25), the hub's objects pass `kubernetes-validate --strict`, Prometheus' config with `alerting:` passes
//! promtool, and a receiver with an unknown key, a non-https URL or a missing secret variable is exit 2 at
//! its line.

use crate::e2e;
use crate::support;
use crate::tooling;

use std::path::Path;

use e2e::{Dir, FLEET, LABELS, linode_writes};
use support::world::{Latencies, World};
use tooling::hermetic::Sandbox;
use tooling::{amtool, fleet, kubernetes_validate, promtool, render_to, run};

/// The e2e fleet with a Slack and a webhook receiver.
fn slack_and_webhook() -> String {
    format!(
        r##"{FLEET}
[alerts]
default_receiver = "chat"

[[alerts.receivers]]
name = "chat"
type = "slack"
url_env = "SLACK_WEBHOOK_URL"
channel = "#obs"

[[alerts.receivers]]
name = "tickets"
type = "webhook"
url = "https://hooks.example.com/alertmanager"
token_env = "TICKETS_TOKEN"

[[alerts.routes]]
receiver = "tickets"
severity = "critical"
"##
    )
}

fn line_of(fleet: &str, needle: &str) -> usize {
    fleet.lines().position(|l| l.contains(needle)).expect("the line") + 1
}

/// The `key` of ConfigMap `name` among the rendered files of `dir`.
fn configmap(dir: &Path, name: &str, key: &str) -> Option<String> {
    for f in std::fs::read_dir(dir).unwrap().flatten() {
        let text = std::fs::read_to_string(f.path()).unwrap();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let v = <serde_yaml_ng::Value as serde::Deserialize>::deserialize(doc).unwrap();
            if v["kind"] == "ConfigMap" && v["metadata"]["name"] == name {
                return v["data"][key].as_str().map(str::to_string);
            }
        }
    }
    None
}

fn render_fleet_text(text: &str, out: &Path) -> std::path::PathBuf {
    let file = out.join("fleet.toml");
    std::fs::write(&file, text).unwrap();
    tooling::lkeobs()
        .args(["render", "--fleet"])
        .arg(&file)
        .arg("--out")
        .arg(out.join("render"))
        .assert()
        .success();
    out.join("render").join("hub")
}

#[test]
fn amtool_accepts_the_rendered_config_and_refuses_a_broken_one() {
    let Some(amtool) = amtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let hub = render_fleet_text(&slack_and_webhook(), dir.path());
    let config = configmap(&hub, "alertmanager", "alertmanager.yml").expect("an alertmanager ConfigMap");
    assert!(
        config.contains("api_url_file") && config.contains("credentials_file"),
        "{config}"
    );
    let file = dir.path().join("alertmanager.yml");
    std::fs::write(&file, &config).unwrap();
    let (ok, out) = run(Sandbox::new().command(&amtool).arg("check-config").arg(&file));
    assert!(
        ok,
        "amtool check-config refused the rendered config:\n{out}\n--- config ---\n{config}"
    );
    assert!(out.contains("2 receivers") && out.contains("2 inhibit rules"), "{out}");

    // The example fleet's (Slack, PagerDuty, webhook, email) too.
    let out_dir = tempfile::tempdir().unwrap();
    render_to("alerts", out_dir.path());
    let config = configmap(&out_dir.path().join("hub"), "alertmanager", "alertmanager.yml").expect("ConfigMap");
    std::fs::write(&file, &config).unwrap();
    let (ok, out) = run(Sandbox::new().command(&amtool).arg("check-config").arg(&file));
    assert!(ok, "fleet/alerts.toml: {out}\n{config}");

    // The check can fail: a misspelt key is refused.
    std::fs::write(&file, config.replace("repeat_interval", "repeat_intervall")).unwrap();
    let (ok, _) = run(Sandbox::new().command(&amtool).arg("check-config").arg(&file));
    assert!(!ok, "amtool accepted a misspelt key");
}

#[test]
fn no_secret_value_is_rendered_and_no_alertmanager_without_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let hub = render_fleet_text(&slack_and_webhook(), dir.path());
    let all: String = std::fs::read_dir(&hub)
        .unwrap()
        .flatten()
        .map(|f| std::fs::read_to_string(f.path()).unwrap())
        .collect();
    assert!(all.contains("/etc/alertmanager/secrets/SLACK_WEBHOOK_URL"));
    assert!(
        !all.contains("hooks.slack.com"),
        "the Slack URL is a secret; it is never rendered"
    );
    let prom = configmap(&hub, "prometheus", "prometheus.yml").unwrap();
    assert!(
        prom.contains("alertmanager.monitoring.svc.cluster.local:9093"),
        "{prom}"
    );
    let grafana = configmap(&hub, "grafana-datasources", "datasources.yaml").unwrap();
    assert!(grafana.contains("type: alertmanager"), "{grafana}");

    let plain = tempfile::tempdir().unwrap();
    let hub = render_fleet_text(FLEET, plain.path());
    assert!(configmap(&hub, "alertmanager", "alertmanager.yml").is_none());
    assert!(
        !configmap(&hub, "prometheus", "prometheus.yml")
            .unwrap()
            .contains("alerting:")
    );
    assert!(
        !configmap(&hub, "grafana-datasources", "datasources.yaml")
            .unwrap()
            .contains("alertmanager")
    );
}

#[test]
fn kubernetes_validate_and_promtool_accept_the_alerting_hub() {
    let dir = tempfile::tempdir().unwrap();
    let hub = render_fleet_text(&slack_and_webhook(), dir.path());
    if let Some(tool) = kubernetes_validate() {
        let mut files: Vec<_> = std::fs::read_dir(&hub).unwrap().flatten().map(|f| f.path()).collect();
        files.sort();
        assert!(files.iter().any(|f| f.ends_with("27-alertmanager.yaml")));
        let (ok, out) = run(Sandbox::new()
            .command(&tool)
            .args(["--strict", "--quiet", "-k", "1.32.0"])
            .args(&files));
        assert!(ok && !out.contains("rror"), "kubernetes-validate --strict:\n{out}");
    }
    if let Some(promtool) = promtool() {
        let file = dir.path().join("prometheus.yml");
        std::fs::write(&file, configmap(&hub, "prometheus", "prometheus.yml").unwrap()).unwrap();
        let (ok, out) = run(Sandbox::new()
            .command(&promtool)
            .args(["check", "config", "--syntax-only"])
            .arg(&file));
        assert!(ok, "promtool check config:\n{out}");
    }
}

#[test]
fn a_receiver_with_an_unknown_key_or_plain_http_is_exit_2_at_its_line() {
    for (from, to, field, needle) in [
        (
            "channel = \"#obs\"",
            "chanel = \"#obs\"",
            "alerts.receivers[0].chanel",
            "chanel",
        ),
        (
            "url = \"https://hooks.example.com/alertmanager\"",
            "url = \"http://hooks.example.com/alertmanager\"",
            "alerts.receivers[1].url",
            "http://hooks",
        ),
    ] {
        let fleet_text = slack_and_webhook().replacen(from, to, 1);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("fleet.toml");
        std::fs::write(&file, &fleet_text).unwrap();
        let out = tooling::lkeobs()
            .args(["validate", "--offline", "--output", "json", "--fleet"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{to}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["errors"][0]["field"], field, "{report:#}");
        assert_eq!(report["errors"][0]["line"], line_of(&fleet_text, needle), "{report:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_refuses_a_receiver_whose_secret_is_not_in_the_environment_before_any_write() {
    let world = World::start(LABELS, Latencies::default()).await;
    let fleet_text = slack_and_webhook();
    let dir = Dir::new(&fleet_text);
    let env = [("TICKETS_TOKEN", "t0ken-S3CRET")];
    let (code, report, stderr) = dir.run_env(&world, &["up", "--yes"], &env).await;
    assert_eq!(code, 2, "{stderr}\n{report:#}");
    assert_eq!(
        report["errors"][0]["field"], "alerts.receivers[0].url_env",
        "{report:#}"
    );
    assert_eq!(
        report["errors"][0]["line"],
        line_of(&fleet_text, "url_env"),
        "{report:#}"
    );
    assert!(!format!("{report}{stderr}").contains("S3CRET"));
    assert_eq!(linode_writes(&world), Vec::<String>::new());

    // A Slack URL that is not https is refused without quoting it.
    let env = [
        ("TICKETS_TOKEN", "t0ken"),
        ("SLACK_WEBHOOK_URL", "http://hooks.slack.com/services/S3CRET"),
    ];
    let (code, report, stderr) = dir.run_env(&world, &["up", "--yes"], &env).await;
    assert_eq!(code, 2, "{stderr}\n{report:#}");
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("https://")
    );
    assert!(!format!("{report}{stderr}").contains("S3CRET"));
}

#[test]
fn the_example_alerts_fleet_is_valid() {
    let text = std::fs::read_to_string(fleet("alerts")).unwrap();
    let loaded = lkeobs::fleet::parse("alerts.toml", &text).expect("valid");
    assert_eq!(loaded.fleet.alerts.map(|a| a.receivers.len()), Some(4));
}
