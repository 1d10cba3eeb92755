//! The live acceptance suite: the "Not yet proven on LKE" list (docs/unproven-on-lke.md) as named checks on one small fleet
//! (`fleet/ci.toml`), with a cost ceiling before anything is created, a TTL tag for `reap`, teardown
//! always, proof of zero leftovers and a JUnit file (`target/live-junit.xml`, or `LKEOBS_LIVE_JUNIT`).
//!
//! `cargo test --test suite live::` runs it against an `lkeobs sim` it starts on 127.0.0.1 (what the simulator
//! cannot prove is reported skipped); `LKEOBS_LIVE=1 LINODE_TOKEN=… cargo test --test suite live:: -- --ignored
//! --test-threads 1` (or `scripts/live-acceptance`) runs it against the real account. See
//! docs/live-acceptance.md.

#[path = "live/changes.rs"]
mod changes;
#[path = "live/cleanup.rs"]
mod cleanup;
#[path = "live/gpu.rs"]
mod gpu;
#[path = "live/harness.rs"]
mod harness;
#[path = "live/items.rs"]
mod items;
#[path = "live/junit.rs"]
mod junit;
#[path = "live/platform.rs"]
mod platform;
#[path = "live/safety.rs"]
mod safety;
#[path = "live/sim.rs"]
mod sim;
#[path = "live/stack.rs"]
mod stack;
#[path = "live/target.rs"]
mod target;
use crate::tooling;
#[path = "live/trap.rs"]
mod trap;

use std::path::PathBuf;
use std::process::Command;

use harness::Harness;
use junit::Verdict;
use target::Target;

/// Where the JUnit file goes: `LKEOBS_LIVE_JUNIT`, else `target/live-junit.xml`.
fn junit_path() -> PathBuf {
    if let Some(p) = std::env::var_os("LKEOBS_LIVE_JUNIT").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tooling::root().join("target"));
    target.join("live-junit.xml")
}

/// Runs the suite on `target`, writes the JUnit file and the summary, tears down (the harness' drop),
/// and returns the checks and the file.
fn run(target: Target) -> (Vec<junit::Check>, PathBuf) {
    let mut h = Harness::new(target);
    items::run(&mut h);
    eprintln!("\n{}", items::summary(&h));
    let suite = format!("lkeobs live acceptance ({})", h.target.word());
    let meaning = if h.target.is_live() {
        "a run against the real Linode API: a passed check is proven on LKE"
    } else {
        "a rehearsal against lkeobs' simulator: a passed check shows the procedure and lkeobs' side \
         work; only LKEOBS_LIVE=1 proves an item on LKE"
    };
    let xml = junit::junit(
        &suite,
        &[("target", h.target.word()), ("fleet", &h.fleet), ("meaning", meaning)],
        &h.checks,
    );
    let path = junit_path();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&path, xml).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    eprintln!("JUnit: {}", path.display());
    let checks = h.checks.clone();
    drop(h);
    (checks, path)
}

fn failures(checks: &[junit::Check]) -> Vec<String> {
    checks
        .iter()
        .filter_map(|c| match &c.verdict {
            Verdict::Failed(why) => Some(format!("{} / {}: {why}", c.item, c.name)),
            _ => None,
        })
        .collect()
}

#[test]
fn acceptance_on_the_simulator() {
    let (checks, path) = run(Target::Simulator);
    let failed = failures(&checks);
    assert!(failed.is_empty(), "failed checks:\n{}", failed.join("\n\n"));
    // The file names every item and the suite's own checks, and a parser reads it.
    let xml = std::fs::read_to_string(&path).expect("the JUnit file");
    for (id, _) in items::ITEMS.iter().chain([&(safety::ITEM, "")]) {
        assert!(
            xml.contains(&format!("classname=\"{id}\"")),
            "{id} is not in {}",
            path.display()
        );
    }
    if let Some(rows) = junit::parse_with_python(&path) {
        let rows = rows.unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()));
        assert_eq!(rows.len(), checks.len(), "{rows:?}");
    }
    // What only LKE can answer is reported as such, never as passed.
    let sim_skips: Vec<&junit::Check> = checks
        .iter()
        .filter(|c| matches!(&c.verdict, Verdict::Skipped(w) if w.starts_with("not provable on the simulator")))
        .collect();
    assert!(sim_skips.iter().any(|c| c.item == "nodebalancer-tls"), "{sim_skips:?}");
    assert!(
        checks
            .iter()
            .any(|c| c.name == "no request off loopback" && c.verdict == Verdict::Passed),
        "the loopback check ran"
    );
}

#[test]
#[ignore = "creates a fleet on a real Linode account: LKEOBS_LIVE=1 LINODE_TOKEN=… cargo test --test suite -- --ignored --test-threads 1 live::"]
fn acceptance_on_linode() {
    let target = target::live_from_env().unwrap_or_else(|why| panic!("{why}"));
    let (checks, path) = run(target);
    let failed = failures(&checks);
    assert!(
        failed.is_empty(),
        "failed checks (JUnit: {}):\n{}",
        path.display(),
        failed.join("\n\n")
    );
}

/// The trap really catches a leak: `lkeobs validate` with a token and no `LINODE_URL` goes for
/// https://api.linode.com — and, through the trap's proxy variables, reaches the trap, not the network.
#[test]
fn the_trap_catches_a_request_to_the_real_api() {
    let trap = trap::Trap::start();
    let home = tempfile::tempdir().expect("temp dir");
    let out = tooling::hermetic::Sandbox::at(home.path())
        .lkeobs()
        .env("LINODE_TOKEN", "not-a-real-token")
        .envs(trap.env())
        .arg("--fleet")
        .arg(tooling::fleet("ci"))
        .args(["--timeout", "3s", "validate"])
        .output()
        .expect("lkeobs runs");
    let seen = trap.seen();
    assert!(
        seen.iter().any(|l| l.starts_with("CONNECT api.linode.com:443")),
        "the trap saw {seen:?}; lkeobs said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Teardown always: a run that panics after `up` still deletes the fleet (the harness' drop), and the
/// account is empty afterwards.
#[test]
fn a_run_that_panics_after_up_still_tears_down() {
    let mut h = Harness::new(Target::Simulator);
    let sim = h.sim.clone().expect("the simulator");
    let client = h.client();
    let fleet = h.fleet.clone();
    assert!(safety::up(&mut h), "up: {:?}", h.checks);
    let inventory = h.inventory.clone();
    assert!(inventory.items.iter().any(|(k, _, _)| *k == "cluster"), "{inventory:?}");
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _h = h;
        panic!("a check blew up");
    }));
    assert!(panicked.is_err());
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let left = rt
        .block_on(cleanup::left(&client, &fleet, &inventory))
        .expect("the account lists");
    assert!(left.is_empty(), "left after the panic: {left:?}");
    drop(sim);
}

/// `scripts/live-acceptance` tears the fleet down when interrupted: its suite (here a stand-in that runs
/// `lkeobs up` against a simulator, then waits) is stopped by Ctrl-C, and the account is empty after.
#[test]
fn the_wrapper_tears_down_on_ctrl_c() {
    let sim = sim::start(&[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().display().to_string();
    let fleet = format!("ci-wrap{}", fastrand::u32(1000..10000));
    harness::write_fleet(dir.path(), &fleet);
    let bin = tooling::hermetic::lkeobs_bin().display().to_string();
    let stand_in = format!(
        "env HOME='{d}/home' XDG_STATE_HOME='{d}/state' XDG_CONFIG_HOME='{d}/config' KUBECONFIG='{d}/kubeconfig' \
         LINODE_URL='{url}' '{bin}' --fleet '{d}/lkeobs.toml' --yes up --no-verify >'{d}/up.log' 2>&1; \
         touch '{d}/up-done'; sleep 600",
        url = sim.url
    );
    let mut script = tooling::hermetic::Sandbox::at(dir.path())
        .command(tooling::root().join("scripts/live-acceptance"))
        .env("LINODE_TOKEN", &sim.token)
        .env("LKEOBS_LIVE_DIR", dir.path())
        .env("LKEOBS_LIVE_FLEET_NAME", &fleet)
        .env("LKEOBS_LIVE_TEARDOWN_URL", &sim.url)
        .env("LKEOBS_BIN", &bin)
        .env("LKEOBS_LIVE_COMMAND", &stand_in)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the script starts");
    let done = dir.path().join("up-done");
    let started = std::time::Instant::now();
    while !done.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(180),
            "the stand-in's up did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let mut config = lkeobs::linode::ClientConfig::new(lkeobs::linode::Token::new(sim.token.clone()));
    config.base_url = sim.url.clone();
    let client = lkeobs::linode::Client::new(config).expect("client");
    let prefix = format!("lkeobs-{fleet}-");
    let ours = |rt: &tokio::runtime::Runtime| {
        rt.block_on(client.list_lke_clusters(None))
            .expect("clusters")
            .into_iter()
            .filter(|c| c.label.starts_with(&prefix))
            .count()
    };
    let up_log = std::fs::read_to_string(dir.path().join("up.log")).unwrap_or_default();
    assert_eq!(ours(&rt), 2, "up created the fleet: {up_log}");

    let sent = Command::new("kill")
        .args(["-INT", &script.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let exit = script.wait().expect("the script ends");
    assert_eq!(exit.code(), Some(130), "interrupted: {exit:?}");
    assert_eq!(ours(&rt), 0, "the script tore the fleet down");
}
