//! `lkeobs sim` and `lkeobs demo` as a pipeline uses them: the simulator started as a background process
//! with a state file, then `up`, `verify --canary --junit` and `teardown` as separate processes against it
//! (the simulator restarted in between, continuing from its state file), teardown proving zero leftovers;
//! the same with 30% 429s and 5% 5xx injected, converging with no duplicate resource; and `demo`.

use crate::support;
use crate::tooling;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use lkeobs::linode::Client;
use serde_json::Value;
use support::{fast_retry, test_config};
use tooling::hermetic::Sandbox;

/// A running `lkeobs sim`, killed when dropped.
struct SimProcess {
    child: Child,
    url: String,
    token: String,
}

impl SimProcess {
    /// Stops it as a pipeline would (SIGTERM): it saves its state file once more and exits 0.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let exit = self.child.wait().expect("the simulator ends");
        assert!(exit.success(), "lkeobs sim ends cleanly on SIGTERM: {exit:?}");
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `lkeobs sim ARGS --output json` and reads where it listens from its JSON report.
fn start_sim(args: &[&str]) -> SimProcess {
    let mut child = Sandbox::new()
        .lkeobs()
        .args(["sim", "--output", "json", "--speed", "600"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("lkeobs sim starts");
    let stdout = child.stdout.take().expect("its stdout");
    let mut text = String::new();
    let mut lines = BufReader::new(stdout).lines();
    // The report is one pretty-printed JSON object: read up to its closing brace.
    for line in lines.by_ref() {
        let line = line.expect("a line of the report");
        text.push_str(&line);
        text.push('\n');
        if line == "}" {
            break;
        }
    }
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let url = report["linode_url"].as_str().expect("linode_url").to_string();
    let token = report["linode_token"].as_str().expect("linode_token").to_string();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/v4"), "{url}");
    assert!(token.starts_with("sim-"), "a random token unlike a real one: {token}");
    SimProcess { child, url, token }
}

/// Runs `lkeobs ARGS --output json` against the simulator with its own state and kubeconfig in `dir`.
fn lkeobs(sim: &SimProcess, dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = Sandbox::at(dir)
        .lkeobs()
        .env("LINODE_URL", &sim.url)
        .env("LINODE_TOKEN", &sim.token)
        .arg("--fleet")
        .arg(dir.join("lkeobs.toml"))
        .args(["--yes", "--output", "json"])
        .args(args)
        .output()
        .expect("lkeobs runs");
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fleet_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fleet/example.toml"),
        dir.path().join("lkeobs.toml"),
    )
    .expect("the example fleet");
    dir
}

/// A client of the simulated account (fast retries, through the injected faults).
fn client(sim: &SimProcess) -> Client {
    let mut config = test_config(&sim.url, &sim.token);
    config.retry = fast_retry();
    config.retry.max_retries = 20;
    Client::new(config).expect("client")
}

/// Checks what teardown left: its report says nothing, and the account lists nothing.
async fn nothing_left(sim: &SimProcess, report: &Value) {
    assert_eq!(report["left"], serde_json::json!([]), "{report:#}");
    let c = client(sim);
    assert!(c.list_lke_clusters(None).await.expect("clusters").is_empty());
    assert!(c.list_firewalls(None).await.expect("firewalls").is_empty());
    assert!(c.list_nodebalancers(None).await.expect("nodebalancers").is_empty());
    assert!(c.list_volumes(None).await.expect("volumes").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_runs_up_verify_and_teardown_as_separate_processes_against_a_restarted_sim() {
    let dir = fleet_dir();
    let state = dir.path().join("sim-state.json");
    let state_arg = state.to_string_lossy().into_owned();
    let sim = start_sim(&["--state", &state_arg]);
    let (code, report, stderr) = lkeobs(&sim, dir.path(), &["up", "--verify-wait", "1m"]);
    assert_eq!(code, 0, "{stderr}\n{report:#}");

    // The account is saved (0600, atomically) and a restarted simulator continues from it.
    let saved = std::fs::read_to_string(&state).expect("the state file");
    assert!(
        saved.contains("lkeobs-example-hub"),
        "the state file holds the clusters"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&state).expect("state file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the state file holds Secrets: {mode:o}");
    }
    let port = sim
        .url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/v4")
        .to_string();
    let token = sim.token.clone();
    sim.stop();
    let sim = start_sim(&["--state", &state_arg, "--port", &port, "--token", &token]);

    let junit = dir.path().join("junit.xml");
    let junit_arg = junit.to_string_lossy().into_owned();
    let (code, report, stderr) = lkeobs(&sim, dir.path(), &["verify", "--canary", "--junit", &junit_arg]);
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    for probe in ["canary/trace", "canary/log", "canary/metric"] {
        assert!(xml.contains(probe), "{probe} in {xml}");
    }
    assert!(!xml.contains("<failure"), "{xml}");

    let (code, report, stderr) = lkeobs(&sim, dir.path(), &["teardown"]);
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    nothing_left(&sim, &report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_429s_and_5xx_injected_the_pipeline_converges_with_no_duplicate() {
    let dir = fleet_dir();
    let sim = start_sim(&["--fail-429", "0.3", "--fail-5xx", "0.05", "--seed", "7"]);
    let (code, report, stderr) = lkeobs(&sim, dir.path(), &["up", "--verify-wait", "1m"]);
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let c = client(&sim);
    let mut labels: Vec<String> = c
        .list_lke_clusters(None)
        .await
        .expect("clusters")
        .into_iter()
        .map(|c| c.label)
        .collect();
    labels.sort();
    assert_eq!(
        labels,
        ["lkeobs-example-hub", "lkeobs-example-us-east"],
        "one cluster each"
    );
    let firewalls = c.list_firewalls(None).await.expect("firewalls");
    assert_eq!(firewalls.len(), 1, "one gateway firewall: {firewalls:?}");
    let nodebalancers = c.list_nodebalancers(None).await.expect("nodebalancers");
    assert_eq!(nodebalancers.len(), 1, "one gateway NodeBalancer: {nodebalancers:?}");

    let (code, report, stderr) = lkeobs(&sim, dir.path(), &["verify", "--canary"]);
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    let (code, report, stderr) = lkeobs(&sim, dir.path(), &["teardown"]);
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    nothing_left(&sim, &report).await;
}

/// Behind a corporate proxy (`HTTPS_PROXY` set, loopback in `NO_PROXY`), the Kubernetes clients work: kube's
/// proxy support is built in (without it every command that talks to a cluster failed with "requires the
/// disabled feature kube/http-proxy").
#[test]
fn demo_works_with_a_proxy_configured() {
    let out = Sandbox::new()
        .lkeobs()
        .arg("demo")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .expect("lkeobs demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
}

#[test]
fn demo_runs_the_lifecycle_and_exits_0() {
    let out = Sandbox::new().lkeobs().arg("demo").output().expect("lkeobs demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let mut at = 0;
    for step in [
        "$ lkeobs up",
        "$ lkeobs status",
        "$ lkeobs verify --canary",
        "$ lkeobs add-edge",
        "$ lkeobs teardown",
    ] {
        let found = stdout[at..]
            .find(step)
            .unwrap_or_else(|| panic!("{step} after the previous step:\n{stdout}"));
        at += found;
    }
    assert!(stdout.contains("canary/metric"), "{stdout}");
    assert!(stdout.contains("Nothing of the fleet is left"), "{stdout}");
}

/// `demo --ha` runs the same lifecycle on a hub in mode "ha": buckets and key made, the engines' rings 3/3
/// in verify and status, the buckets emptied and deleted by teardown.
#[test]
fn demo_ha_runs_the_lifecycle_on_mimir_loki_and_tempo_over_object_storage() {
    let out = Sandbox::new()
        .lkeobs()
        .args(["demo", "--ha"])
        .output()
        .expect("lkeobs demo --ha runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for said in [
        "bucket lkeobs-ha-",
        "Object Storage key stored for the engines",
        "ring/mimir",
        "3/3 ACTIVE (mimir-0 ACTIVE, mimir-1 ACTIVE, mimir-2 ACTIVE)",
        "mimir: 3/3 ACTIVE",
        "canary/metric",
        "emptied and deleted bucket lkeobs-ha-",
        "Nothing of the fleet is left",
    ] {
        assert!(stdout.contains(said), "{said:?} in:\n{stdout}");
    }
}

/// Every listener of `lkeobs sim` demands what a real API would: a request with a foreign `Host` (a web page
/// through DNS rebinding) gets 421, a `text/plain` body 415, an oversized one 413; the kubeconfig's token is
/// random per API, demanded on every route over TLS, and every socket the simulator listens on is one of
/// those APIs or an Object Storage endpoint's S3 data plane (403 unsigned); the data path's stand-ins are
/// served in-process, reached only through a port-forward.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulators_listeners_demand_their_own_host_and_json_bodies() {
    let sim = start_sim(&[]);
    let dir = fleet_dir();
    let (code, report, stderr) = lkeobs(&sim, dir.path(), &["up", "--no-verify"]);
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    // The hub's Kubernetes API and its token, from the kubeconfig the Linode API hands out.
    let client = lkeobs::linode::Client::new(test_config(&sim.url, &sim.token)).expect("client");
    let hub = client
        .list_lke_clusters(None)
        .await
        .expect("clusters")
        .into_iter()
        .find(|c| c.label == "lkeobs-example-hub")
        .expect("the hub");
    let yaml = client.get_kubeconfig(hub.id).await.expect("kubeconfig");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).expect("yaml");
    let server = doc["clusters"][0]["cluster"]["server"]
        .as_str()
        .expect("server")
        .to_string();
    let token = doc["users"][0]["user"]["token"].as_str().expect("token").to_string();
    assert!(
        token.len() >= 40 && !token.contains("token-"),
        "a random token: {token}"
    );
    assert!(server.starts_with("https://127.0.0.1:"), "served over TLS: {server}");
    let host = server.trim_start_matches("https://").to_string();
    let secrets = format!("{server}/api/v1/namespaces/monitoring/secrets");
    // The kubeconfig's CA is the one the API's serving certificate chains to.
    use base64::Engine as _;
    let ca_pem = base64::engine::general_purpose::STANDARD
        .decode(
            doc["clusters"][0]["cluster"]["certificate-authority-data"]
                .as_str()
                .expect("certificate-authority-data"),
        )
        .expect("base64");
    lkeobs::tls::install_crypto_provider();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca_pem).expect("a PEM CA")])
        .build()
        .expect("client");
    let status = |r: reqwest::Response| r.status().as_u16();

    let ok = http.get(&secrets).bearer_auth(&token).send().await.expect("answer");
    assert_eq!(status(ok), 200);
    // Without the token, with another cluster's or a wrong one: 401 on every route.
    for path in [
        "/api/v1/namespaces/monitoring/secrets",
        "/version",
        "/apis",
        "/openapi/v2",
    ] {
        let anonymous = http.get(format!("{server}{path}")).send().await.expect("answer");
        assert_eq!(status(anonymous), 401, "{path} without a token");
        let wrong = http
            .get(format!("{server}{path}"))
            .bearer_auth("sim-k8s-00000000000000000000000000000000")
            .send()
            .await
            .expect("answer");
        assert_eq!(status(wrong), 401, "{path} with a wrong token");
    }
    // Plain HTTP gets no answer (the listener speaks TLS only).
    let plain = reqwest::Client::new()
        .get(format!("http://{host}/api/v1/namespaces/monitoring/secrets"))
        .send()
        .await
        .map(|r| r.status().as_u16());
    assert!(plain.map_or(true, |code| code != 200), "plain HTTP read a Secret");
    let rebinding = http
        .get(&secrets)
        .bearer_auth(&token)
        .header("host", "evil.example")
        .send()
        .await
        .expect("answer");
    assert_eq!(status(rebinding), 421);
    let text = http
        .post(format!("{server}/api/v1/namespaces/monitoring/configmaps"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(status(text), 415);
    let huge = http
        .post(format!("{server}/api/v1/namespaces/monitoring/configmaps"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b' '; 9 * 1024 * 1024])
        .send()
        .await
        .map(status)
        .unwrap_or(413);
    assert_eq!(huge, 413);
    assert!(host.starts_with("127.0.0.1:"), "{host}");
    // The Linode API: a foreign Host is refused as well, and no token is 401.
    let linode = http
        .get(format!("{}/regions", sim.url))
        .bearer_auth(&sim.token)
        .header("host", "evil.example")
        .send()
        .await
        .expect("answer");
    assert_eq!(status(linode), 421);
    let anonymous = http.get(format!("{}/regions", sim.url)).send().await.expect("answer");
    assert_eq!(status(anonymous), 401);

    // Every listener of the process: the Linode API and one Kubernetes API per cluster, each refusing a
    // request without its token (401) and one addressed to another host (421).
    let mut kube_ports = Vec::new();
    for cluster in client.list_lke_clusters(None).await.expect("clusters") {
        let yaml = client.get_kubeconfig(cluster.id).await.expect("kubeconfig");
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).expect("yaml");
        let server = doc["clusters"][0]["cluster"]["server"].as_str().expect("server");
        let port: u16 = server.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port");
        kube_ports.push(port);
    }
    let linode_port: u16 = sim
        .url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/v4")
        .parse()
        .expect("the Linode API's port");
    // One S3 data plane per Object Storage endpoint, as the API lists them.
    let endpoints: Value = http
        .get(format!("{}/object-storage/endpoints", sim.url))
        .bearer_auth(&sim.token)
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("JSON");
    let s3_ports: Vec<u16> = endpoints["data"]
        .as_array()
        .expect("endpoints")
        .iter()
        .filter_map(|e| e["s3_endpoint"].as_str()?.strip_prefix("127.0.0.1:")?.parse().ok())
        .collect();
    assert!(s3_ports.len() >= 2, "{endpoints}");
    let listening = listening_ports(sim.child.id());
    let mut expected: Vec<u16> = kube_ports
        .iter()
        .copied()
        .chain([linode_port])
        .chain(s3_ports.iter().copied())
        .collect();
    expected.sort_unstable();
    assert_eq!(listening, expected, "the simulator listens only on its APIs");
    // An S3 endpoint answers an unsigned request 403 (S3's AccessDenied) and a foreign Host 421.
    for port in &s3_ports {
        let url = format!("http://127.0.0.1:{port}/lkeobs-example-aaaaaa-metrics?list-type=2");
        let anonymous = reqwest::Client::new().get(&url).send().await.expect("answer");
        assert_eq!(status(anonymous), 403, "{url}");
        let foreign = reqwest::Client::new()
            .get(&url)
            .header("host", "evil.example")
            .send()
            .await
            .expect("answer");
        assert_eq!(status(foreign), 421, "{url}");
    }
    for port in &kube_ports {
        let base = format!("https://127.0.0.1:{port}");
        for path in [
            "/api/v1/namespaces/monitoring/secrets",
            "/api/v1/namespaces/monitoring/pods",
        ] {
            let anonymous = http.get(format!("{base}{path}")).send().await.expect("answer");
            assert_eq!(status(anonymous), 401, "{base}{path}");
            let foreign = http
                .get(format!("{base}{path}"))
                .header("host", "evil.example")
                .send()
                .await
                .expect("answer");
            assert_eq!(status(foreign), 421, "{base}{path}");
        }
    }
}

/// The TCP ports process `pid` listens on (Linux: its socket inodes matched in /proc/net/tcp).
fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: std::collections::BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("the simulator's file descriptors")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().to_string();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address rem_address st ... inode (field 9); 0A is LISTEN.
            if f.len() > 9 && f[3] == "0A" && inodes.contains(f[9]) {
                let port = f[1].rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
                ports.extend(port);
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}
