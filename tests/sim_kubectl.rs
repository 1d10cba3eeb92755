//! The real kubectl against a `lkeobs sim` cluster after `up`, as a user or a pipeline runs it between
//! lkeobs' steps: `get` with the server's STATUS/READY columns and true ages, `rollout status`,
//! `describe`, `logs` (a clear refusal: nothing runs in a simulated pod), `port-forward svc/...`
//! (over the WebSocket tunnel and over SPDY) reaching the stand-in behind the pod; and server-side
//! apply's field ownership: replicas the HorizontalPodAutoscaler set survive lkeobs' next `up`.
//!
//! kubectl comes from `KUBECTL` or PATH; without it the tests skip loudly, or fail under CI.

use crate::tooling;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use tooling::hermetic::Sandbox;

const HUB: &str = "lkeobs-example.hub";

/// A running `lkeobs sim`, killed when dropped.
struct Sim {
    child: Child,
    url: String,
    token: String,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `lkeobs sim` and reads where it listens from its JSON report.
fn start_sim() -> Sim {
    let mut child = Sandbox::new()
        .lkeobs()
        .args(["sim", "--output", "json", "--speed", "600"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("lkeobs sim starts");
    let stdout = child.stdout.take().expect("its stdout");
    let mut text = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("a line of the report");
        text.push_str(&line);
        if line == "}" {
            break;
        }
    }
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    Sim {
        child,
        url: report["linode_url"].as_str().expect("linode_url").to_string(),
        token: report["linode_token"].as_str().expect("linode_token").to_string(),
    }
}

/// A folder with the example fleet, where `up` writes its kubeconfig and state.
fn fleet_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(tooling::fleet("example"), dir.path().join("lkeobs.toml")).expect("the example fleet");
    dir
}

/// `lkeobs up` of the example fleet against the simulator (kubeconfig at DIR/kubeconfig).
fn up(sim: &Sim, dir: &Path) {
    let out = Sandbox::at(dir)
        .lkeobs()
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("LINODE_URL", &sim.url)
        .env("LINODE_TOKEN", &sim.token)
        .arg("--fleet")
        .arg(dir.join("lkeobs.toml"))
        .args([
            "--yes",
            "--output",
            "json",
            "up",
            "--merge-kubeconfig",
            "--verify-wait",
            "1m",
        ])
        .output()
        .expect("lkeobs runs");
    assert!(
        out.status.success(),
        "up: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// kubectl with a clean environment: only the kubeconfig `up` wrote, never the developer's.
fn kubectl(bin: &Path, dir: &Path) -> Command {
    let mut cmd = Sandbox::at(dir).command(bin);
    cmd.env("KUBECONFIG", dir.join("kubeconfig")).args(["--context", HUB]);
    cmd
}

/// Runs kubectl; (success, stdout, stderr).
fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("kubectl runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The tables of `kubectl get` output: each block's header and rows, split on runs of spaces.
fn tables(text: &str) -> Vec<(Vec<String>, Vec<Vec<String>>)> {
    let split = |l: &str| -> Vec<String> {
        l.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect()
    };
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let mut lines = block.lines().filter(|l| !l.trim().is_empty());
            let header = split(lines.next().unwrap_or_default());
            (header, lines.map(split).collect())
        })
        .collect()
}

/// Whether an AGE cell is seconds or minutes (`42s`, `3m12s`, `12m`): made during this test.
fn fresh(age: &str) -> bool {
    let digits_then = |s: &str, unit: char| {
        s.strip_suffix(unit)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    digits_then(age, 's')
        || digits_then(age, 'm')
        || age
            .split_once('m')
            .is_some_and(|(m, s)| digits_then(&format!("{m}m"), 'm') && digits_then(s, 's'))
}

#[test]
fn kubectl_gets_rolls_out_describes_and_logs_on_a_sim_cluster() {
    let Some(kubectl_bin) = tooling::require_tool("KUBECTL", "kubectl", "apt-get install kubectl, or see .ci/run")
    else {
        return;
    };
    let sim = start_sim();
    let dir = fleet_dir();
    up(&sim, dir.path());

    let (ok, out, err) = run(kubectl(&kubectl_bin, dir.path()).args(["get", "svc,pods,nodes,deploy", "-A"]));
    assert!(ok, "{out}\n{err}");
    let tables = tables(&out);
    assert_eq!(tables.len(), 4, "services, pods, nodes, deployments:\n{out}");
    // A cell by its column's name (a cluster-scoped row has no NAMESPACE cell: kubectl leaves it blank).
    let cell = |t: usize, row: &[String], name: &str| -> String {
        let header = &tables[t].0;
        let at = header
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("column {name} in {header:?}:\n{out}"));
        let at = at - (header.len() - row.len());
        row[at].clone()
    };
    let (pods, nodes, deploys) = (&tables[1].1, &tables[2].1, &tables[3].1);
    for (t, columns) in [
        (
            0,
            &[
                "NAMESPACE",
                "NAME",
                "TYPE",
                "CLUSTER-IP",
                "EXTERNAL-IP",
                "PORT(S)",
                "AGE",
            ][..],
        ),
        (1, &["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"][..]),
        (2, &["NAMESPACE", "NAME", "STATUS", "ROLES", "AGE", "VERSION"][..]),
        (3, &["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"][..]),
    ] {
        assert_eq!(tables[t].0, columns, "the server's columns:\n{out}");
        for row in &tables[t].1 {
            assert!(fresh(&cell(t, row, "AGE")), "AGE made during the test: {row:?}\n{out}");
        }
    }
    let grafana = pods
        .iter()
        .find(|r| r[1].starts_with("pod/grafana-"))
        .unwrap_or_else(|| panic!("a grafana pod:\n{out}"));
    let parts: Vec<&str> = grafana[1].trim_start_matches("pod/").split('-').collect();
    assert!(
        parts.len() == 3 && parts[2].len() == 5,
        "a Deployment's pod is <deploy>-<template hash>-<5 chars>: {grafana:?}"
    );
    assert!(
        pods.iter().any(|r| r[1] == "pod/prometheus-0"),
        "a StatefulSet's pod is <sts>-<ordinal>:\n{out}"
    );
    for row in pods {
        assert_eq!(
            (row[2].as_str(), row[3].as_str(), row[4].as_str()),
            ("1/1", "Running", "0"),
            "{row:?}"
        );
    }
    assert_eq!(nodes.len(), 3, "the hub's nodes:\n{out}");
    for row in nodes {
        assert_eq!(cell(2, row, "STATUS"), "Ready", "{row:?}");
        assert!(cell(2, row, "VERSION").starts_with("v1."), "{row:?}");
    }
    for row in &tables[0].1 {
        assert_ne!(
            cell(0, row, "CLUSTER-IP"),
            "<none>",
            "the server gives a Service its cluster IP: {row:?}"
        );
    }
    let grafana_deploy = deploys
        .iter()
        .find(|r| r[1] == "deployment.apps/grafana")
        .unwrap_or_else(|| panic!("deployment grafana:\n{out}"));
    assert_eq!(&grafana_deploy[2..5], ["1/1", "1", "1"], "READY UP-TO-DATE AVAILABLE");

    for (workload, namespace, done) in [
        ("deploy/grafana", "monitoring", "successfully rolled out"),
        ("sts/prometheus", "monitoring", "roll out complete"),
        ("ds/otel-agent", "observability", "successfully rolled out"),
    ] {
        let (ok, out, err) = run(kubectl(&kubectl_bin, dir.path()).args([
            "rollout",
            "status",
            workload,
            "-n",
            namespace,
            "--timeout",
            "30s",
        ]));
        assert!(ok && out.contains(done), "rollout status {workload}: {out}\n{err}");
    }

    for what in ["deploy/grafana", "pod/prometheus-0"] {
        let (ok, out, err) = run(kubectl(&kubectl_bin, dir.path()).args(["describe", what, "-n", "monitoring"]));
        assert!(ok, "describe {what}: {out}\n{err}");
        assert!(out.contains("Name:") && out.contains("Namespace:"), "{out}");
    }

    // A client-side apply (validation left to the server through /openapi/v3), then a server-side one.
    let manifest = dir.path().join("settings.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n",
    )
    .expect("manifest");
    for args in [&["apply"][..], &["apply", "--server-side"][..]] {
        let (ok, out, err) = run(kubectl(&kubectl_bin, dir.path()).args(args).arg("-f").arg(&manifest));
        assert!(
            ok && out.contains("configmap/settings"),
            "kubectl {args:?}: {out}\n{err}"
        );
    }

    let (ok, out, err) = run(kubectl(&kubectl_bin, dir.path()).args(["logs", "deploy/grafana", "-n", "monitoring"]));
    assert!(!ok, "no logs from a simulated pod: {out}");
    assert!(
        err.contains("BadRequest") && err.contains("no container runs here"),
        "a clear refusal: {err}"
    );
}

/// Runs `kubectl port-forward svc/SERVICE :PORT` (`websockets`: the WebSocket tunnel, else SPDY) and
/// sends `GET path` through the local port it picked; the answer, or kubectl's output on failure.
fn through_port_forward(
    kubectl_bin: &Path,
    dir: &Path,
    service: &str,
    port: u16,
    path: &str,
    websockets: bool,
) -> String {
    let mut child = kubectl(kubectl_bin, dir)
        .env(
            "KUBECTL_PORT_FORWARD_WEBSOCKETS",
            if websockets { "true" } else { "false" },
        )
        .args([
            "-n",
            "monitoring",
            "port-forward",
            &format!("svc/{service}"),
            &format!(":{port}"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl port-forward starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    // `Forwarding from 127.0.0.1:PORT -> 3000`: kubectl listens once it printed it.
    let local = lines.by_ref().map_while(Result::ok).find_map(|l| {
        l.strip_prefix("Forwarding from 127.0.0.1:")
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u16>().ok())
    });
    let Some(local) = local else {
        let _ = child.kill();
        let mut err = String::new();
        let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
        panic!("kubectl port-forward svc/{service} did not start listening: {err}");
    };
    let mut tcp = TcpStream::connect(("127.0.0.1", local)).expect("connect to the forwarded port");
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer);
    let _ = child.kill();
    let mut err = String::new();
    let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
    let _ = child.wait();
    if answer.is_empty() { err } else { answer }
}

#[test]
fn kubectl_port_forwards_a_service_to_its_pods_stand_in() {
    let Some(kubectl_bin) = tooling::require_tool("KUBECTL", "kubectl", "apt-get install kubectl, or see .ci/run")
    else {
        return;
    };
    let sim = start_sim();
    let dir = fleet_dir();
    up(&sim, dir.path());
    for websockets in [true, false] {
        let answer = through_port_forward(&kubectl_bin, dir.path(), "grafana", 3000, "/api/health", websockets);
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.contains("\"database\""),
            "Grafana's health through port-forward (websockets: {websockets}): {answer}"
        );
        let answer = through_port_forward(&kubectl_bin, dir.path(), "prometheus", 9090, "/-/ready", websockets);
        assert!(
            answer.starts_with("HTTP/1.1 "),
            "an answer from Prometheus' stand-in: {answer}"
        );
    }
}

#[test]
fn replicas_the_autoscaler_set_survive_the_next_up() {
    let Some(kubectl_bin) = tooling::require_tool("KUBECTL", "kubectl", "apt-get install kubectl, or see .ci/run")
    else {
        return;
    };
    let sim = start_sim();
    let dir = fleet_dir();
    up(&sim, dir.path());
    let gateway = ["-n", "observability-hub", "deployment/otel-gateway"];
    // The HorizontalPodAutoscaler scales through the scale subresource, as kube-controller-manager.
    let (ok, out, err) = run(kubectl(&kubectl_bin, dir.path()).args(["patch"]).args(gateway).args([
        "--subresource=scale",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":3}}"#,
        "--field-manager=kube-controller-manager",
    ]));
    assert!(ok, "{out}\n{err}");
    up(&sim, dir.path());
    let (ok, out, err) = run(kubectl(&kubectl_bin, dir.path()).args(["get"]).args(gateway).args([
        "--show-managed-fields",
        "-o",
        "json",
    ]));
    assert!(ok, "{out}\n{err}");
    let deploy: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        deploy["spec"]["replicas"], 3,
        "lkeobs' apply left the autoscaler's replicas alone"
    );
    let owners: Vec<&Value> = deploy["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| !e["fieldsV1"]["f:spec"]["f:replicas"].is_null())
        .collect();
    assert_eq!(owners.len(), 1, "one owner of spec.replicas: {owners:#?}");
    assert_eq!(owners[0]["manager"], "kube-controller-manager");
    assert_eq!(owners[0]["subresource"], "scale");
    assert!(
        deploy["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["manager"] == "lkeobs" && e["operation"] == "Apply"),
        "lkeobs' apply is recorded: {:#}",
        deploy["metadata"]["managedFields"]
    );

    // Another manager's apply that takes replicas is refused with kube-apiserver's 409, unless forced.
    let manifest = dir.path().join("replicas.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: otel-gateway\n  namespace: observability-hub\nspec:\n  replicas: 1\n",
    )
    .expect("manifest");
    let apply = |force: bool| {
        let mut cmd = kubectl(&kubectl_bin, dir.path());
        cmd.args(["apply", "--server-side", "--field-manager=someone", "-f"])
            .arg(&manifest);
        if force {
            cmd.arg("--force-conflicts");
        }
        run(&mut cmd)
    };
    let (ok, out, err) = apply(false);
    assert!(!ok, "a conflict: {out}");
    assert!(
        err.contains("conflict") && err.contains("kube-controller-manager") && err.contains(".spec.replicas"),
        "{err}"
    );
    let (ok, out, err) = apply(true);
    assert!(ok, "{out}\n{err}");
    // (The value is the simulated HPA controller's again at once: it raises replicas to its minimum.)
}
