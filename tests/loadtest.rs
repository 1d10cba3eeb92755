//! `lkeobs loadtest` against the simulator: the edge's Job controller runs the generator Job (pod
//! Running, then Complete after its `--duration`), the hub's Prometheus answers from the simulator's
//! gateway figures, which follow that load, and the report, exit code and clean-up are checked: a healthy run, a gateway refusing more
//! than the threshold (exit 3), and an interrupted run that still removes its Job.

use crate::loadtest_fixtures;
use crate::support;
use crate::tooling;

use std::time::Duration;

use lkeobs::error::exit;
use lkeobs::linode::Token;
use lkeobs::ops::loadtest::fleet::{self as loadtest, FleetOptions as Args};
use lkeobs::ops::loadtest::{Options, Rates};
use lkeobs::ops::{Ctx, LinodeAccess, Paths};
use lkeobs::ui::progress::Mode;
use lkeobs::ui::{Printer, Report};
use loadtest_fixtures::{REPLICAS, Setup, setup};
use support::FAKE_TOKEN;
use support::jobs::STARTED;

fn ctx(s: &Setup) -> Ctx {
    ctx_until(s, Duration::from_secs(60))
}

/// A context whose `--timeout` is `timeout`.
fn ctx_until(s: &Setup, timeout: Duration) -> Ctx {
    Ctx::new(
        Printer::new(lkeobs::ui::Format::Json, true, true),
        s.fleet_path(),
        Some(timeout),
        true,
        LinodeAccess {
            base_url: s.linode.base_url(),
            token: Ok(Token::new(FAKE_TOKEN)),
        },
        Paths::default(),
    )
}

fn args(duration: Duration) -> Args {
    Args {
        edges: Vec::new(),
        options: Options {
            rates: Rates {
                traces: 1000.0,
                metrics: 5000.0,
                logs: 2000.0,
            },
            duration,
            max_refused_percent: 1.0,
            progress: Mode::Quiet,
            deadline: None,
        },
    }
}

/// Never resolves: a run nobody interrupts.
async fn never() {
    std::future::pending::<()>().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_healthy_run_reports_the_rates_exits_0_and_leaves_no_job_behind() {
    let s = setup(0.0).await;
    let report = loadtest::run(&ctx(&s), &args(Duration::from_secs(1)), never())
        .await
        .expect("the load test runs");
    assert_eq!(report.outcome().exit_code(), exit::OK, "{}", report.text());
    assert_eq!(report.edges.len(), 1);
    assert!(report.edges[0].completed, "{:?}", report.edges);
    let signals = report.signals.as_ref().expect("gateway figures");
    for (sig, want) in signals.iter().zip([1000.0, 5000.0, 2000.0]) {
        assert_eq!(sig.sent_per_sec, want, "{sig:?}");
        // The simulated gateway accepted what the Job sent (plus a little traffic of its own).
        let ratio = sig.accepted_per_sec / want;
        assert!((0.9..1.2).contains(&ratio), "{sig:?}");
        assert_eq!(sig.refused, 0.0, "{sig:?}");
    }
    let queue = report.peak_queue.as_ref().expect("a queue seen");
    // The fullest of the gateway's exporter queues (one replica, 5000 items each), filling with the
    // rate being sent.
    assert!(queue.size > 0.0 && queue.capacity == 5000.0, "{queue:?}");
    assert_eq!(report.peak_replicas, Some(REPLICAS as i32));
    assert_eq!(report.latency.len(), 3);
    assert!(
        report.latency.iter().all(|l| l.found_after_ms.is_some()),
        "{:?}",
        report.latency
    );
    assert_eq!(report.removed.len(), 1, "{:?}", report.removed);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // The Job went through the Kubernetes API of the edge, and nothing of it is left there.
    assert!(
        s.edge
            .writes()
            .iter()
            .any(|w| w.method == "POST" && w.path.ends_with("/jobs"))
    );
    support::eventually("the Job and its pod are gone", || s.leftovers().is_empty()).await;
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["signals"][0]["signal"], "traces", "{json}");
    assert!(json["run_id"].as_str().is_some_and(|r| r.len() == 8), "{json}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_refusing_more_than_the_threshold_exits_3_naming_the_share() {
    let s = setup(0.05).await;
    let report = loadtest::run(&ctx(&s), &args(Duration::from_secs(1)), never())
        .await
        .expect("the load test runs");
    let outcome = report.outcome();
    assert_eq!(outcome.exit_code(), exit::VERIFY_FAILED, "{}", report.text());
    let msg = outcome.message().unwrap_or_default();
    assert!(
        msg.contains("% of spans") && msg.contains("--max-refused-percent 1"),
        "{msg}"
    );
    let spans = &report.signals.as_ref().expect("figures")[0];
    assert!((4.0..5.1).contains(&spans.lost_percent), "{spans:?}");
    assert!(spans.refused > 0.0, "{spans:?}");
    support::eventually("the Job and its pod are gone", || s.leftovers().is_empty()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_interrupted_run_removes_its_job() {
    let s = setup(0.0).await;
    let edge = s.edge.clone();
    // Interrupted as soon as the generator's pod runs, long before its hour is up.
    let interrupt = async move {
        support::eventually("the generator to start", || {
            edge.list("batch/v1", "Job")
                .iter()
                .any(|j| j["metadata"]["annotations"][STARTED].is_string())
        })
        .await;
    };
    let started = std::time::Instant::now();
    let err = loadtest::run(&ctx(&s), &args(Duration::from_secs(3600)), interrupt)
        .await
        .expect_err("interrupted");
    assert_eq!(err.exit_code(), exit::INTERRUPTED, "{err}");
    assert!(
        err.to_string()
            .contains("its Jobs were removed (us-east/observability/lkeobs-loadtest-"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        s.edge
            .writes()
            .iter()
            .any(|w| w.method == "DELETE" && w.path.contains("/jobs/"))
    );
    support::eventually("the Job and its pod are gone", || s.leftovers().is_empty()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_cut_short_by_the_timeout_says_so_and_removes_its_job() {
    let s = setup(0.0).await;
    let (ctx, args) = (ctx_until(&s, Duration::from_secs(2)), args(Duration::from_secs(3600)));
    let run = loadtest::run(&ctx, &args, never());
    let report = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the run stops at the --timeout")
        .expect("the load test reports");
    let outcome = report.outcome();
    assert_eq!(outcome.exit_code(), exit::FAILURE, "{}", report.text());
    let msg = outcome.message().unwrap_or_default();
    assert!(msg.contains("us-east: did not finish before the deadline"), "{msg}");
    assert_eq!(report.removed.len(), 1, "{:?}", report.removed);
    support::eventually("the Job and its pod are gone", || s.leftovers().is_empty()).await;
}

#[tokio::test]
async fn an_edge_not_in_the_fleet_is_refused_before_anything_runs() {
    let s = setup(0.0).await;
    let mut a = args(Duration::from_secs(1));
    a.edges = vec!["nowhere".into()];
    let err = loadtest::run(&ctx(&s), &a, never()).await.expect_err("unknown edge");
    assert_eq!(err.exit_code(), exit::INVALID_INPUT);
    assert!(err.to_string().contains("--edge nowhere"), "{err}");
    assert!(s.edge.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ctrl_c_to_the_binary_removes_the_job_and_exits_130() {
    let s = setup(0.0).await;
    let mut child = tooling::hermetic::Sandbox::at(s.dir.path())
        .lkeobs()
        .env("LINODE_URL", s.linode.base_url())
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .arg("--fleet")
        .arg(s.fleet_path())
        .args(["loadtest", "--duration", "1h"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("lkeobs starts");
    let edge = s.edge.clone();
    support::eventually("the generator to start", || {
        edge.list("batch/v1", "Job")
            .iter()
            .any(|j| j["metadata"]["annotations"][STARTED].is_string())
    })
    .await;
    // SIGINT, as Ctrl-C in a terminal sends it.
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = tokio::task::spawn_blocking(move || {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        (child.wait().expect("lkeobs ends"), err)
    })
    .await
    .expect("join");
    let (status, stderr) = out;
    assert_eq!(status.code(), Some(exit::INTERRUPTED), "{stderr}");
    assert!(stderr.contains("its Jobs were removed"), "{stderr}");
    support::eventually("the Job and its pod are gone", || s.leftovers().is_empty()).await;
}
