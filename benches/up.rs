//! Benchmark (not a test): `lkeobs up --no-verify` against the test fakes (Linode fake + one fake Kubernetes API
//! per cluster, with controllers) for a hub and N edges, with realistic, time-scaled latencies. Targets:
//! wall time within 10% of the critical path, at most 15 Linode API calls per cluster for a no-op re-run, peak
//! memory under 100 MB with 50 edges. Then the same for a hub in mode "ha" with 200 edges (its buckets and key
//! made through the simulated Object Storage, a new key refused by S3 for `KEY_PROPAGATION`, as the platform's
//! ~30 s, time-scaled, before its markers can be written). Run with `cargo bench --bench up` (release build of
//! the binary included).

#[path = "../tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::FAKE_TOKEN;
use support::linode_fake::State;
use support::world::{Latencies, World};

/// The single-hub fleets' edges (`LKEOBS_BENCH_ONLY_HA=1`: none, only the `ha` run).
fn edges() -> &'static [usize] {
    if std::env::var_os("LKEOBS_BENCH_ONLY_HA").is_some() {
        &[]
    } else {
        &[1, 10, 50]
    }
}
/// Edges of the `ha` run.
const HA_EDGES: usize = 200;
/// How long a new limited key is refused by S3 (the platform's ~30 s, scaled like the other latencies).
const KEY_PROPAGATION: Duration = Duration::from_millis(1000);
const KUBECONFIG_POLLS: u32 = 2;
const RETRY_AFTER_SECS: u64 = 1;

fn latencies() -> Latencies {
    let ms = Duration::from_millis;
    Latencies {
        node_ready: ms(2000),
        rollout: ms(1000),
        load_balancer: ms(1000),
        volume: ms(500),
        pod_start: ms(200),
        pod_termination: ms(200),
        volume_detach: ms(500),
        tick: ms(20),
    }
}

/// The slowest chain of waits, in seconds, and its formula. In the fakes, a cluster's kubeconfig wait (503 polls
/// honouring Retry-After) and its nodes' Ready clock both start at cluster creation, so they overlap. Then the hub
/// applies its stack: the gateway's LoadBalancer address (the gateway certificate is issued at once) gates every
/// edge's apply and rollout (the edge stack has no volumes); the hub's own rollouts (StatefulSets: volume, then
/// rollout) run meanwhile.
fn critical_path(l: &Latencies, ha: bool) -> (f64, String) {
    let kubeconfig = f64::from(KUBECONFIG_POLLS) * RETRY_AFTER_SECS as f64;
    // An `ha` hub makes its buckets and key before its stack: the new key's refusals come first.
    let key = if ha { KEY_PROPAGATION.as_secs_f64() } else { 0.0 };
    let s = |d: Duration| d.as_secs_f64();
    let ready = kubeconfig.max(s(l.node_ready));
    // A rollout's status follows its pods: they start (`pod_start`), then the status is written.
    let edge_chain = s(l.load_balancer) + s(l.pod_start) + s(l.rollout);
    let hub_chain = s(l.volume) + s(l.pod_start) + s(l.rollout);
    let total = ready + key + edge_chain.max(hub_chain);
    let formula = format!(
        "critical = max(kubeconfig {KUBECONFIG_POLLS}x{RETRY_AFTER_SECS}s, node_ready {:.1}s) + key propagation {key:.1}s \
         + max(load_balancer {:.1}s + edge pod start {:.1}s + rollout {:.1}s, hub volume {:.1}s + pod start {:.1}s + rollout {:.1}s) = {total:.2}s",
        s(l.node_ready),
        s(l.load_balancer),
        s(l.pod_start),
        s(l.rollout),
        s(l.volume),
        s(l.pod_start),
        s(l.rollout),
    );
    (total, formula)
}

/// The fleet: a hub in us-ord and `edges` edges alternating us-ord / de-fra-2, one small pool each; with `ha`
/// the hub runs mode "ha" on three g6-standard-8 nodes.
fn fleet_text(edges: usize, ha: bool) -> String {
    let hub = if ha {
        "pools = [{ type = \"g6-standard-8\", count = 3 }]\nmode = \"ha\"\n\n"
    } else {
        "pools = [{ type = \"g6-standard-1\", count = 1 }]\n\n"
    };
    let mut s = format!("[fleet]\nname = \"bench\"\nk8s_version = \"1.32\"\n\n[hub]\nregion = \"us-ord\"\n{hub}");
    for i in 1..=edges {
        let region = if i % 2 == 1 { "us-ord" } else { "de-fra-2" };
        let _ = write!(
            s,
            "[edges.e{i}]\nregion = \"{region}\"\npools = [{{ type = \"g6-standard-1\", count = 1 }}]\n\n"
        );
    }
    s.push_str("[security]\ngateway_firewall = true\nmtls = true\n");
    s
}

fn labels(edges: usize) -> Vec<String> {
    std::iter::once("lkeobs-bench-hub".to_string())
        .chain((1..=edges).map(|i| format!("lkeobs-bench-e{i}")))
        .collect()
}

/// `--concurrency N` from `LKEOBS_BENCH_CONCURRENCY` (default: none, `up`'s own default).
fn concurrency() -> Vec<String> {
    std::env::var("LKEOBS_BENCH_CONCURRENCY")
        .ok()
        .map(|n| vec!["--concurrency".to_string(), n])
        .unwrap_or_default()
}

/// The least time `requests` Linode requests take at lkeobs' own pace (`RateLimits::default()`: a burst,
/// then `per_minute`), in seconds.
fn rate_floor(requests: usize) -> f64 {
    let limits = lkeobs::linode::RateLimits::default();
    let paced = requests.saturating_sub(limits.burst as usize) as f64;
    paced * 60.0 / f64::from(limits.per_minute)
}

/// One finished `lkeobs` run.
struct Run {
    code: i32,
    wall: Duration,
    report: Value,
    stderr: String,
    /// Peak resident set (VmHWM), KiB.
    peak_kib: u64,
    /// CPU seconds of lkeobs (last sample before it exited) and of this process (the fakes) meanwhile.
    cpu: f64,
    fakes_cpu: f64,
}

/// VmHWM (or VmRSS) of a live process, KiB.
fn hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    field("VmHWM:").or_else(|| field("VmRSS:"))
}

/// User + system CPU seconds of a process (`self` or a pid), from /proc/<pid>/stat.
fn cpu_secs(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// Runs `lkeobs --fleet FLEET --output json up --no-verify` against the world, sampling its memory every 10 ms.
fn run_up(dir: &Path, linode_url: &str) -> Run {
    let home = dir.join("home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lkeobs"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", &home)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("KUBECONFIG", dir.join("kube").join("config"))
        .env("NO_COLOR", "1")
        .env("LINODE_URL", linode_url)
        .env("LINODE_TOKEN", FAKE_TOKEN)
        .arg("--fleet")
        .arg(dir.join("fleet.toml"))
        .args(["--output", "json", "up", "--no-verify"])
        .args(concurrency())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let fakes_before = cpu_secs("self").unwrap_or(0.0);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("lkeobs does not start: {e}"));
    let pid = child.id();
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let mut peak_kib = 0;
    let mut cpu = 0.0;
    let status = loop {
        if let Some(kib) = hwm_kib(pid) {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(c) = cpu_secs(&pid.to_string()) {
            cpu = c;
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("waiting for lkeobs: {e}"),
        }
    };
    let wall = start.elapsed();
    let fakes_cpu = cpu_secs("self").unwrap_or(0.0) - fakes_before;
    let stdout = out.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    Run {
        code: status.code().unwrap_or(-1),
        wall,
        report: serde_json::from_slice(&stdout).unwrap_or(Value::Null),
        stderr,
        peak_kib,
        cpu,
        fakes_cpu,
    }
}

/// The API calls a report counted, in total.
fn total_calls(report: &Value) -> u64 {
    report["api_calls"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0)
}

/// Requests the Linode fake received since its log was last cleared (503 polls and 429s included).
fn fake_requests(world: &World) -> usize {
    world.linode.state().log.len()
}

struct Row {
    edges: usize,
    ha: bool,
    wall: f64,
    critical: f64,
    calls_up: f64,
    seen_up: f64,
    calls_noop: f64,
    seen_noop: f64,
    noop_wall: f64,
    peak_mb: f64,
    peak_noop_mb: f64,
}

fn check(run: &Run, what: &str) {
    if run.code != 0 || run.report["ok"] != true {
        panic!(
            "{what} failed (exit {}):\n{}\n{:#}",
            run.code,
            run.stderr.lines().rev().take(40).collect::<Vec<_>>().join("\n"),
            run.report
        );
    }
}

/// The three slowest clusters, by their report's seconds.
fn slowest_cluster(report: &Value) -> String {
    let mut clusters: Vec<(String, f64)> = report["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["label"].as_str().unwrap_or_default().to_string(),
                c["seconds"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    clusters.sort_by(|a, b| b.1.total_cmp(&a.1));
    clusters
        .iter()
        .take(3)
        .map(|(l, s)| format!("{l} {s:.2}s"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn bench(edges: usize, ha: bool) -> Row {
    let (critical, _) = critical_path(&latencies(), ha);
    let labels = labels(edges);
    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let mut state = State::seeded();
    state.kubeconfig_not_ready_polls = KUBECONFIG_POLLS;
    state.kubeconfig_retry_after_secs = RETRY_AFTER_SECS;
    state.object_storage.key_propagation = KEY_PROPAGATION;
    let world = World::start_with(state, &refs, latencies()).await;
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let dir: PathBuf = tmp.path().to_path_buf();
    std::fs::write(dir.join("fleet.toml"), fleet_text(edges, ha)).unwrap_or_else(|e| panic!("fleet file: {e}"));
    let url = world.linode.base_url();
    let clusters = (edges + 1) as f64;

    world.linode.state().log.clear();
    let (d, u) = (dir.clone(), url.clone());
    let up = tokio::task::spawn_blocking(move || run_up(&d, &u))
        .await
        .unwrap_or_else(|e| panic!("join: {e}"));
    check(&up, "up from empty");
    let seen_up = fake_requests(&world);
    // lkeobs paces its Linode requests under the account's rate limit: with many clusters the requests, not
    // the latencies, are the critical path.
    let paced = rate_floor(seen_up);
    let critical = critical.max(paced);
    eprintln!(
        "  N={edges}: up from empty {:.2}s (report {:.2}s; CPU: lkeobs {:.2}s, fakes {:.2}s); slowest clusters: {}",
        up.wall.as_secs_f64(),
        up.report["seconds"].as_f64().unwrap_or(0.0),
        up.cpu,
        up.fakes_cpu,
        slowest_cluster(&up.report)
    );

    world.linode.state().log.clear();
    let (d, u) = (dir.clone(), url.clone());
    let noop = tokio::task::spawn_blocking(move || run_up(&d, &u))
        .await
        .unwrap_or_else(|e| panic!("join: {e}"));
    check(&noop, "no-op re-run");
    let seen_noop = fake_requests(&world);
    let changes: usize = noop.report["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["changes"].as_array().map_or(0, Vec::len))
        .sum();
    if changes > 0 {
        eprintln!("  N={edges}: the re-run reported {changes} change(s): not a no-op");
    }
    eprintln!(
        "  N={edges}: api_calls up {}; no-op {}",
        up.report["api_calls"], noop.report["api_calls"]
    );
    eprintln!(
        "  N={edges}: no-op re-run {:.2}s (CPU: lkeobs {:.2}s, fakes {:.2}s)",
        noop.wall.as_secs_f64(),
        noop.cpu,
        noop.fakes_cpu
    );

    Row {
        edges,
        ha,
        wall: up.wall.as_secs_f64(),
        critical,
        calls_up: total_calls(&up.report) as f64 / clusters,
        seen_up: seen_up as f64 / clusters,
        calls_noop: total_calls(&noop.report) as f64 / clusters,
        seen_noop: seen_noop as f64 / clusters,
        noop_wall: noop.wall.as_secs_f64(),
        peak_mb: up.peak_kib as f64 / 1024.0,
        peak_noop_mb: noop.peak_kib as f64 / 1024.0,
    }
}

fn main() {
    let lat = latencies();
    let (_, formula) = critical_path(&lat, false);
    let (_, formula_ha) = critical_path(&lat, true);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let mut rows = Vec::new();
    for &n in edges() {
        rows.push(runtime.block_on(bench(n, false)));
    }
    rows.push(runtime.block_on(bench(HA_EDGES, true)));

    println!("lkeobs up --no-verify against the fakes (hub + N edges, 1 node each, mTLS + gateway firewall)");
    println!(
        "latencies: node_ready {:?}, rollout {:?}, load_balancer {:?}, volume {:?}, controller tick {:?}; \
         kubeconfig {KUBECONFIG_POLLS} x 503 with Retry-After {RETRY_AFTER_SECS}s",
        lat.node_ready, lat.rollout, lat.load_balancer, lat.volume, lat.tick
    );
    println!("{formula}");
    println!("ha: {formula_ha}");
    println!(
        "crit s = the larger of that and the Linode requests the fake received at lkeobs' pace \
         (RateLimits::default(): burst, then per_minute)"
    );
    println!(
        "API calls per cluster = sum(report.api_calls) / (N+1); [fake] = requests the Linode fake received / (N+1)"
    );
    println!();
    println!(
        "{:>7} {:>9} {:>9} {:>7} {:>9} {:>14} {:>14} {:>14} {:>9} {:>9}",
        "N",
        "wall s",
        "crit s",
        "ratio",
        "overhead",
        "calls/cl up",
        "calls/cl noop",
        "noop wall s",
        "peak MB",
        "noop MB"
    );
    for r in &rows {
        let ratio = r.wall / r.critical;
        println!(
            "{:>7} {:>9.2} {:>9.2} {:>7.3} {:>8.1}% {:>14} {:>14} {:>14.2} {:>9.1} {:>9.1}",
            if r.ha {
                format!("{} ha", r.edges)
            } else {
                r.edges.to_string()
            },
            r.wall,
            r.critical,
            ratio,
            (ratio - 1.0) * 100.0,
            format!("{:.1} [{:.1}]", r.calls_up, r.seen_up),
            format!("{:.1} [{:.1}]", r.calls_noop, r.seen_noop),
            r.noop_wall,
            r.peak_mb,
            r.peak_noop_mb
        );
    }
    println!();
    println!(
        "targets: ratio <= 1.10; no-op calls/cluster <= 15; peak memory < 100 MB at N=50 \
         (wall includes process start and the one-off preflight/discovery)"
    );
}
