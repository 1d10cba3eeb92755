//! The helper scripts: they parse, and `generate-client-cert.sh` issues a client certificate that verifies against the CA.

use crate::tooling;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use tooling::hermetic::Sandbox;
use tooling::{require_tool, root, run};

#[test]
fn scripts_parse_and_answer_help() {
    for s in ["smoke-test.sh", "generate-client-cert.sh"] {
        let path = root().join("scripts").join(s);
        let (ok, out) = run(Command::new("bash").arg("-n").arg(&path));
        assert!(ok, "{s}: {out}");
        // The project's scripts run kubectl and lkeobs: never with the developer's environment.
        let (ok, out) = run(Sandbox::new().command(&path).arg("--help"));
        assert!(ok && out.contains("Usage:"), "{s} --help: {out}");
    }
}

#[test]
fn client_certificate_verifies_against_the_ca_and_key_is_private() {
    let Some(openssl) = require_tool("OPENSSL", "openssl", "apt-get install openssl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, out) = run(Command::new(&openssl)
        .current_dir(d)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=lkeobs-test-ca",
        ])
        .args([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]));
    assert!(ok, "test CA: {out}");
    let script = root().join("scripts/generate-client-cert.sh");
    let (ok, out) =
        run(Sandbox::new()
            .command(&script)
            .current_dir(d)
            .args(["--out-dir", "certs", "ca.crt", "ca.key", "us-east"]));
    assert!(ok, "generate-client-cert.sh: {out}");
    let crt = d.join("certs/us-east.crt");
    let key = d.join("certs/us-east.key");
    let (ok, out) = run(Command::new(&openssl)
        .args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(d.join("ca.crt"))
        .arg(&crt));
    assert!(ok, "openssl verify: {out}");
    let (_, subject) = run(Command::new(&openssl)
        .args(["x509", "-noout", "-subject", "-in"])
        .arg(&crt));
    assert!(subject.contains("CN") && subject.contains("us-east"), "{subject}");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "private key mode {mode:o}");
    // A second run must not overwrite the key.
    let (ok, _) =
        run(Sandbox::new()
            .command(&script)
            .current_dir(d)
            .args(["--out-dir", "certs", "ca.crt", "ca.key", "us-east"]));
    assert!(!ok, "overwrote an existing certificate");
}
