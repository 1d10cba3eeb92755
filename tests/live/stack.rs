//! Items proven on a running fleet by lkeobs' own probes: `verify --canary` (port-forward, the canary
//! through the edges' identities, Loki's structured metadata, the gateway's counters, the pods with PII
//! rules on), `status` (fresh data per signal) and `loadtest`.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use serde_json::Value;

use crate::live::harness::Harness;

/// The probe outcomes of a `verify` report, as `(name, cluster, outcome, detail)`.
fn outcomes(report: &Value) -> Vec<(String, String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    report["outcomes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| (s(&o["name"]), s(&o["cluster"]), s(&o["outcome"]), s(&o["detail"])))
                .collect()
        })
        .unwrap_or_default()
}

/// Passes when every outcome named `name` (on every cluster `on` accepts) passed, and there is one.
fn all_pass(report: &Value, name: &str, on: impl Fn(&str) -> bool) -> Result<String, String> {
    let rows: Vec<_> = outcomes(report)
        .into_iter()
        .filter(|(n, c, _, _)| n == name && on(c))
        .collect();
    if rows.is_empty() {
        return Err(format!("no `{name}` outcome in the report"));
    }
    let bad: Vec<String> = rows
        .iter()
        .filter(|(_, _, o, _)| o != "pass")
        .map(|(_, c, o, d)| format!("{c}: {o}: {d}"))
        .collect();
    if bad.is_empty() {
        Ok(rows
            .iter()
            .map(|(_, c, _, d)| format!("{c}: {d}"))
            .collect::<Vec<_>>()
            .join("\n"))
    } else {
        Err(bad.join("\n"))
    }
}

/// `verify --canary` once, its outcomes attributed to the items they prove.
pub fn verify(h: &mut Harness) {
    let junit = h.dir.join("verify-junit.xml");
    let junit = junit.to_string_lossy().into_owned();
    let wait = h.target.verify_wait();
    let out = h.lkeobs_ahead(&["verify", "--canary", "--wait", wait, "--junit", &junit]);
    let report = out.json.clone();
    let why = out.why();
    h.check(
        "probes-over-port-forward",
        "verify --canary exits 0 (probes reach the backends through pods/portforward)",
        |_| {
            if out.code != 0 {
                return Err(format!("verify --canary: {why}"));
            }
            let backends: Vec<String> = outcomes(&report)
                .into_iter()
                .filter(|(n, _, o, _)| {
                    ["prometheus/", "loki/", "tempo/", "gateway/"]
                        .iter()
                        .any(|p| n.starts_with(p))
                        && o == "pass"
                })
                .map(|(n, c, _, _)| format!("{c} {n}"))
                .collect();
            if backends.is_empty() {
                return Err("no backend probe passed".into());
            }
            Ok(format!("passed through port-forwards: {}", backends.join(", ")))
        },
    );
    let edge = |c: &str| c != "hub";
    for signal in ["trace", "log", "metric"] {
        h.check(
            "edge-identity",
            &format!("the canary {signal} of every edge reaches the hub through the gateway"),
            |_| all_pass(&report, &format!("canary/{signal}"), edge),
        );
    }
    h.check(
        "loki-collector-details",
        "the canary log is found in Loki by its structured metadata",
        |_| all_pass(&report, "canary/log", |_| true),
    );
    h.check(
        "loki-collector-details",
        "the gateway's collector counters are read from Prometheus",
        |_| all_pass(&report, "gateway/counters", |_| true),
    );
    h.check(
        "pii-and-dcgm",
        "with pii_scrubbing on, every stack workload is ready",
        |h| {
            let text = std::fs::read_to_string(h.fleet_file()).map_err(|e| e.to_string())?;
            let doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
            if doc["stack"]["pii_scrubbing"].as_bool() != Some(true) {
                return Err("the fleet does not turn pii_scrubbing on (fleet/ci.toml should)".into());
            }
            all_pass(&report, "pods", |_| true)?;
            all_pass(&report, "agent", |_| true)
        },
    );
    pii_collectors(h);
}

/// Live: the collectors (the agents everywhere, the gateway at the hub) run with the PII rules and never
/// restarted: a collector that cannot load its OTTL statements exits at start.
fn pii_collectors(h: &mut Harness) {
    let why = "the simulator's pods run no otelcol-contrib: a config it cannot load still looks Ready";
    h.live_only(
        "pii-and-dcgm",
        "the agents and the gateway load the PII rules (Ready, never restarted)",
        why,
        |h| {
            let mut seen = Vec::new();
            for cluster in crate::live::changes::clusters_of(h) {
                let mut sets = vec![(lkeobs::objects::AGENT.namespace, lkeobs::objects::AGENT.name)];
                if cluster == "hub" {
                    sets.push((lkeobs::objects::GATEWAY.namespace, lkeobs::objects::GATEWAY.name));
                }
                for (ns, name) in sets {
                    let api: Api<Pod> = Api::namespaced(h.kube(&cluster)?, ns);
                    let selector = format!("app.kubernetes.io/name={name}");
                    let pods =
                        h.rt.block_on(api.list(&ListParams::default().labels(&selector)))
                            .map_err(|e| format!("{cluster} {ns}/{name}: {e}"))?;
                    if pods.items.is_empty() {
                        return Err(format!("{cluster}: no {name} pod"));
                    }
                    for p in &pods.items {
                        let pod = p.metadata.name.clone().unwrap_or_default();
                        for c in p.status.iter().flat_map(|s| s.container_statuses.iter().flatten()) {
                            if !c.ready || c.restart_count > 0 {
                                return Err(format!(
                                    "{cluster} {pod}/{}: ready {}, {} restart(s)",
                                    c.name, c.ready, c.restart_count
                                ));
                            }
                        }
                    }
                    seen.push(format!("{cluster}: {} {name}", pods.items.len()));
                }
            }
            Ok(seen.join(", "))
        },
    );
}

/// `status` once: fresh data per signal for every cluster (the metrics' freshness is the kubelet stats
/// series, `k8s_node_cpu_usage` and `k8s_node_memory_working_set_bytes`).
pub fn status(h: &mut Harness) {
    let out = h.lkeobs_ahead(&["status"]);
    let result = out.ok("status").and_then(|()| fresh(&out.json));
    h.check(
        "probes-over-port-forward",
        "status shows fresh data per signal for every cluster",
        |_| result.clone(),
    );
    h.check(
        "loki-collector-details",
        "status' freshness queries find the kubelet stats metrics, logs and traces",
        |_| result,
    );
}

fn fresh(report: &Value) -> Result<String, String> {
    let clusters = report["clusters"].as_array().cloned().unwrap_or_default();
    if clusters.is_empty() {
        return Err(format!("status lists no cluster: {report:#}"));
    }
    let mut seen = Vec::new();
    for c in &clusters {
        for signal in ["metrics", "logs", "traces"] {
            let f = &c["freshness"][signal];
            if f["state"] != "recent" {
                return Err(format!("{} {signal}: {f}", c["name"]));
            }
            seen.push(format!("{} {signal} {}s", c["name"], f["age_seconds"]));
        }
    }
    Ok(seen.join(", "))
}

/// `loadtest` at the default rates (5000 metric points/s per edge): exit 0, every generator Job completed
/// and removed; live, the marked items found in Tempo, Loki and Prometheus.
pub fn loadtest(h: &mut Harness) {
    const ITEM: &str = "telemetrygen";
    let duration = if h.target.is_live() { "2m" } else { "5s" };
    let out = h.lkeobs_ahead(&["loadtest", "--duration", duration]);
    h.check(
        ITEM,
        &format!("loadtest --duration {duration} exits 0; every generator Job completed and was removed"),
        |_| {
            out.ok("loadtest")?;
            let edges = out.json["edges"].as_array().cloned().unwrap_or_default();
            let removed = out.json["removed"].as_array().map_or(0, Vec::len);
            if edges.is_empty() || edges.iter().any(|e| e["completed"] != true) || removed < edges.len() {
                return Err(format!(
                    "edges {:#}, removed {:#}",
                    out.json["edges"], out.json["removed"]
                ));
            }
            Ok(format!("edges {}", out.json["edges"]))
        },
    );
    let why = "lkeobs sim's data path answers the probes' and the canary's queries, not telemetrygen's marked items";
    h.live_only(
        ITEM,
        "the marked items are found in Tempo, Loki and Prometheus",
        why,
        |_| {
            let latency = out.json["latency"].as_array().cloned().unwrap_or_default();
            let missing: Vec<String> = latency
                .iter()
                .filter(|l| l["found_after_ms"].is_null())
                .map(|l| l.to_string())
                .collect();
            if latency.len() != 3 || !missing.is_empty() {
                return Err(format!("not found: {missing:?} in {:#}", out.json["latency"]));
            }
            Ok(format!("found: {}", Value::Array(latency)))
        },
    );
}
