//! The simulator the suite starts when it is not live: `lkeobs sim` as a child process on 127.0.0.1 (fast
//! provisioning), its address and token read from its JSON report, killed when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use serde_json::Value;

/// A running `lkeobs sim`.
pub struct SimProcess {
    child: Child,
    pub url: String,
    pub token: String,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `lkeobs sim --speed 600` with `env` added (the trap's proxies: the simulator must not reach
/// out either) and reads where it listens.
pub fn start(env: &[(&'static str, String)]) -> SimProcess {
    let mut child = crate::tooling::hermetic::Sandbox::new()
        .lkeobs()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["sim", "--output", "json", "--speed", "600"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("lkeobs sim starts");
    let stdout = child.stdout.take().expect("its stdout");
    let mut text = String::new();
    // The report is one pretty-printed JSON object: read up to its closing brace.
    for line in BufReader::new(stdout).lines() {
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
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "the simulator listens on loopback: {url}"
    );
    SimProcess { child, url, token }
}
