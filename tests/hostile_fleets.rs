//! Fleet files written by an attacker (a pull request CI applies): every injection or exfiltration
//! attempt is refused by `validate` with exit 2 at the offending line, before anything is rendered.

use crate::tooling;

use tooling::lkeobs;

/// A valid fleet; each case replaces one marked line.
const BASE: &str = r#"[fleet]
name = "prod"
k8s_version = "1.33"
tags = ["team-obs"]

[hub]
region = "us-ord"
pools = [{ type = "g6-standard-4", count = 3 }]

[edges.us-east]
region = "us-east"
pools = [{ type = "g6-standard-2", count = 2 }]

[security]
grafana_allow = ["198.51.100.0/24"]

[[destinations]]
type = "splunk_hec"
endpoint = "https://splunk.example.com:8088/services/collector"
token_env = "SPLUNK_HEC_TOKEN"
signals = ["logs"]

[[destinations]]
type = "datadog"
site = "datadoghq.eu"
token_env = "DD_API_KEY"
signals = ["metrics"]
"#;

/// Runs `validate --offline` on BASE with `from` replaced by `to`; returns (exit code, stderr).
fn validate(from: &str, to: &str) -> (Option<i32>, String) {
    assert!(BASE.contains(from), "BASE lacks {from:?}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.toml");
    std::fs::write(&file, BASE.replacen(from, to, 1)).unwrap();
    let out = lkeobs()
        .args(["validate", "--offline", "--fleet"])
        .arg(&file)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The 1-based line of BASE holding `from`.
fn line_of(from: &str) -> usize {
    let at = BASE.find(from).expect("in BASE");
    BASE[..at].matches('\n').count() + 1
}

/// Asserts `to` (in place of `from`) is refused with exit 2 by an error at `from`'s line on `field`.
fn refused(from: &str, to: &str, field: &str, message: &str) {
    let line = line_of(from);
    let (code, err) = validate(from, to);
    assert_eq!(code, Some(2), "{to:?} was accepted:\n{err}");
    let at = format!("hostile.toml:{line}:");
    let hit = err
        .lines()
        .find(|l| l.contains(&at) && l.contains(field))
        .unwrap_or_else(|| panic!("no error at line {line} on {field} for {to:?}:\n{err}"));
    assert!(hit.contains(message), "{hit}");
    // The error never echoes the control characters back to the terminal.
    assert!(!err.contains('\r') && !err.contains('\u{1b}'), "{err:?}");
}

#[test]
fn the_base_fleet_is_valid() {
    let (code, err) = validate("", "");
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn a_datadog_site_smuggling_a_document_is_refused() {
    let site = r#"site = "datadoghq.com\"\r---\rapiVersion: v1\rkind: Namespace\rmetadata: {name: pwned}""#;
    refused(
        r#"site = "datadoghq.eu""#,
        site,
        "destinations[1].site",
        "control characters",
    );
    let newline = r#"site = "datadoghq.com\n    extra: exporter""#;
    refused(
        r#"site = "datadoghq.eu""#,
        newline,
        "destinations[1].site",
        "line breaks",
    );
    refused(
        r#"site = "datadoghq.eu""#,
        r#"site = "evil.example.com""#,
        "destinations[1].site",
        "not a Datadog site",
    );
}

#[test]
fn collector_expansions_are_refused_anywhere() {
    refused(
        "https://splunk.example.com:8088/services/collector",
        "https://splunk.example.com/?t=${env:LINODE_TOKEN}",
        "destinations[0].endpoint",
        "`${`",
    );
    refused(
        r#"region = "us-east""#,
        r#"region = "us-${file:/etc/passwd}""#,
        "edges.us-east.region",
        "`${`",
    );
}

#[test]
fn tags_that_could_break_out_of_an_annotation_are_refused() {
    refused(
        r#"tags = ["team-obs"]"#,
        r#"tags = ["a\"}, evil: {\"x"]"#,
        "fleet.tags[0]",
        "commas",
    );
    refused(
        r#"tags = ["team-obs"]"#,
        r#"tags = ["team{obs}'"]"#,
        "fleet.tags[0]",
        "only letters, digits",
    );
    refused(
        r#"tags = ["team-obs"]"#,
        &format!(r#"tags = ["{}"]"#, "t".repeat(51)),
        "fleet.tags[0]",
        "3–50 characters",
    );
    refused(
        r#"tags = ["team-obs"]"#,
        r#"tags = ["ok", "tab\there"]"#,
        "fleet.tags[1]",
        "tab",
    );
}

#[test]
fn tokens_cannot_be_read_from_credential_variables() {
    for var in [
        "LINODE_TOKEN",
        "LINODE_CLI_TOKEN",
        "KUBECONFIG",
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
    ] {
        refused(
            r#"token_env = "SPLUNK_HEC_TOKEN""#,
            &format!(r#"token_env = "{var}""#),
            "destinations[0].token_env",
            "credential variable",
        );
    }
}

#[test]
fn token_carrying_endpoints_must_be_https_without_user_info() {
    refused(
        "https://splunk.example.com:8088/services/collector",
        "http://splunk.example.com:8088/services/collector",
        "destinations[0].endpoint",
        "must be https://",
    );
    let (code, err) = validate(
        "https://splunk.example.com:8088/services/collector",
        "https://admin:hunter2@splunk.example.com:8088/services/collector",
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("user-info"), "{err}");
    assert!(!err.contains("hunter2"), "the password is never echoed: {err}");
}

#[test]
fn unicode_line_separators_are_refused() {
    refused(
        r#"grafana_allow = ["198.51.100.0/24"]"#,
        "grafana_allow = [\"198.51.100.0/24\u{2028}x\"]",
        "security.grafana_allow[0]",
        "line breaks",
    );
}
