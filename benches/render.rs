//! Benchmark (not a test): `render` of a generated 100-cluster fleet (target: under 200 ms in a release build),
//! and render plus offline plan of an `ha` hub with 200 edges, with the engines' sizing.
//! Run with `cargo bench --bench render`; prints in-process and whole-process figures.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use lkeobs::stack::{Inputs, Renderer};

/// A fleet with a hub and `edges` edges, every option on (mTLS, PII scrubbing, destinations, a GPU pool on every tenth edge).
fn fleet_text(edges: usize) -> String {
    let mut s = String::from(
        "[fleet]\nname = \"bench\"\nk8s_version = \"1.33\"\ntags = [\"team-obs\"]\n\n[hub]\nregion = \"us-ord\"\nhigh_availability = true\npools = [{ type = \"g6-standard-4\", count = 3, autoscale = { min = 3, max = 5 } }]\n\n",
    );
    for i in 1..=edges {
        let gpu = if i % 10 == 0 {
            ", { type = \"g2-gpu-rtx4000a1-s\", count = 1 }"
        } else {
            ""
        };
        let _ = write!(
            s,
            "[edges.e{i}]\nregion = \"us-east\"\npools = [{{ type = \"g6-standard-2\", count = 2 }}{gpu}]\n\n"
        );
    }
    s.push_str(
        "[security]\nmtls = true\ngrafana_allow = [\"198.51.100.0/24\"]\n\n[stack]\nretention = \"7d\"\npersistent_queue = \"10Gi\"\npii_scrubbing = true\n\n[[destinations]]\ntype = \"otlp\"\nendpoint = \"https://otlp.example.net:4317\"\nsignals = [\"traces\"]\n",
    );
    s
}

/// `fleet_text(edges)` with the hub in mode "ha" (seven nodes: the sizing asks up to seven replicas at 200 edges).
fn ha_fleet_text(edges: usize) -> String {
    fleet_text(edges).replace(
        "pools = [{ type = \"g6-standard-4\", count = 3, autoscale = { min = 3, max = 5 } }]\n",
        "pools = [{ type = \"g6-dedicated-32\", count = 7 }]\nmode = \"ha\"\n\n[hub.ha]\nretention = { metrics = \"30d\", logs = \"14d\", traces = \"7d\" }\n",
    )
}

/// Render and offline plan of an `ha` hub with `edges` edges, and the sizing `plan` prints.
fn ha(edges: usize, runs: usize) {
    let text = ha_fleet_text(edges);
    let mut times = Vec::new();
    let mut objects = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let loaded = lkeobs::fleet::parse("ha.toml", &text).unwrap_or_else(|e| panic!("ha bench fleet invalid: {e}"));
        let renderer = Renderer::new().unwrap_or_else(|e| panic!("{e}"));
        let plan = lkeobs::plan::offline(&loaded.fleet, &renderer, None).unwrap_or_else(|e| panic!("{e}"));
        objects = plan.clusters.iter().map(|c| c.objects.len()).sum();
        times.push(start.elapsed());
    }
    println!(
        "ha hub + {edges} edges, in process (parse + validate + render + offline plan): median {:.1} ms over {runs} runs; {objects} objects planned",
        median(times).as_secs_f64() * 1e3
    );
    let sizing = lkeobs::stack::ha_sizing::size(edges, 30);
    println!(
        "  sizing for {edges} edges ({} active series assumed):",
        sizing.active_series
    );
    for e in &sizing.per_engine {
        println!(
            "    {} × {} ({} CPU, {} memory, {} volume)",
            e.replicas,
            e.engine.as_str(),
            e.cpu,
            e.memory,
            e.disk
        );
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    ha(200, 5);
    let text = fleet_text(99);
    let runs = 15;
    let mut times = Vec::new();
    let mut files = 0;
    let mut bytes = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let loaded = lkeobs::fleet::parse("bench.toml", &text).unwrap_or_else(|e| panic!("bench fleet invalid: {e}"));
        let renderer = Renderer::new().unwrap_or_else(|e| panic!("{e}"));
        let mut n = 0;
        let mut b = 0;
        for c in loaded.fleet.clusters() {
            let r = renderer
                .render(&loaded.fleet, c, &Inputs::default())
                .unwrap_or_else(|e| panic!("{e}"));
            n += r.files.len();
            b += r.files.iter().map(|f| f.content.len()).sum::<usize>();
        }
        times.push(start.elapsed());
        files = n;
        bytes = b;
    }
    let best = times.iter().min().copied().unwrap_or_default();
    println!(
        "render, 100 clusters, in process (parse + validate + compile templates + render): median {:.1} ms, best {:.1} ms over {runs} runs; {files} files, {:.1} MiB",
        median(times).as_secs_f64() * 1e3,
        best.as_secs_f64() * 1e3,
        bytes as f64 / 1_048_576.0
    );

    // Whole process: `lkeobs render --out DIR`, as a user runs it (includes writing the files).
    let dir = std::env::temp_dir().join(format!("lkeobs-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let fleet_file = dir.join("bench.toml");
    if std::fs::write(&fleet_file, &text).is_err() {
        return;
    }
    let exe = env!("CARGO_BIN_EXE_lkeobs");
    let mut proc_times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let status = std::process::Command::new(exe)
            .args(["render", "--fleet"])
            .arg(&fleet_file)
            .arg("--out")
            .arg(dir.join("out"))
            .env("NO_COLOR", "1")
            .stderr(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status();
        proc_times.push(start.elapsed());
        if !status.is_ok_and(|s| s.success()) {
            println!("lkeobs render failed");
            return;
        }
    }
    println!(
        "render, 100 clusters, whole process (`lkeobs render --out DIR`): median {:.1} ms over {runs} runs (target: under 200 ms)",
        median(proc_times).as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}
