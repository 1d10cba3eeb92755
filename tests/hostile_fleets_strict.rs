//! Fleet files that weaken security or attack the terminal, under `--policy strict` (the default under CI):
//! each is refused by `validate` with exit 2 at the offending line, and no diagnostic writes a control
//! character to stderr. `--policy open` keeps them as warnings, and `--expect-fleet` pins the fleet a
//! pipeline may touch.

use crate::tooling;

use tooling::lkeobs;

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
control_plane_acl = ["203.0.113.0/24"]

[stack]
retention = "7d"
"#;

/// `validate --offline` of BASE with `from` replaced by `to`, plus `args`: (exit code, stdout, stderr).
fn validate(from: &str, to: &str, args: &[&str]) -> (Option<i32>, String, String) {
    assert!(BASE.contains(from), "BASE lacks {from:?}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.toml");
    std::fs::write(&file, BASE.replacen(from, to, 1)).unwrap();
    let out = lkeobs()
        .args(["validate", "--offline", "--fleet"])
        .arg(&file)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the fleet"));
    text[..at].matches('\n').count() + 1
}

/// No control character but the line feeds between lines, and no line a CI system would read as a command.
fn assert_terminal_safe(stderr: &str) {
    assert!(
        !stderr.chars().any(|c| c != '\n' && lkeobs::text::is_control(c)),
        "a control character reached stderr: {stderr:?}"
    );
    assert!(
        !stderr.lines().any(|l| l.trim_start().starts_with("::")),
        "a line could be read as a CI workflow command: {stderr}"
    );
}

/// `to` in place of `from` is refused under `--policy strict` at `to`'s line (its `marker`) on `field`.
fn refused(from: &str, to: &str, marker: &str, field: &str, message: &str) {
    let (code, _, err) = validate(from, to, &["--policy", "strict"]);
    assert_eq!(code, Some(2), "{to:?} was accepted:\n{err}");
    let fleet = BASE.replacen(from, to, 1);
    let at = format!("hostile.toml:{}:", line_of(&fleet, marker));
    assert!(
        err.lines()
            .any(|l| l.contains(&at) && l.contains(field) && l.contains(message)),
        "no error at {at} on {field} saying {message:?} for {to:?}:\n{err}"
    );
    assert_terminal_safe(&err);
}

#[test]
fn the_base_fleet_passes_the_strict_policy() {
    let (code, _, err) = validate("", "", &["--policy", "strict"]);
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn keys_with_control_characters_are_refused_and_never_echoed_raw() {
    for key in [
        r#""x\n::warning::pwned""#,
        r#""x\n::add-mask::y""#,
        r#""\u001b]0;x\u0007""#,
        r#""a\rb""#,
    ] {
        let to = format!("tags = [\"team-obs\"]\n{key} = 1");
        refused(r#"tags = ["team-obs"]"#, &to, key, "fleet.", "control characters");
        // The same under the open policy: a key is never a matter of policy.
        let (code, _, err) = validate(r#"tags = ["team-obs"]"#, &to, &["--policy", "open"]);
        assert_eq!(code, Some(2), "{err}");
        assert_terminal_safe(&err);
    }
}

#[test]
fn networks_wider_than_a_slash_8_or_covering_everything_are_refused() {
    let acl = r#"control_plane_acl = ["203.0.113.0/24"]"#;
    refused(
        acl,
        r#"control_plane_acl = ["0.0.0.0/0"]"#,
        "control_plane_acl",
        "security.control_plane_acl[0]",
        "wider than /8",
    );
    refused(
        acl,
        r#"control_plane_acl = ["0.0.0.0/1", "128.0.0.0/1"]"#,
        "control_plane_acl",
        "security.control_plane_acl",
        "together admit every address",
    );
    refused(
        r#"grafana_allow = ["198.51.100.0/24"]"#,
        r#"grafana_allow = ["2000::/8"]"#,
        "grafana_allow",
        "security.grafana_allow[0]",
        "wider than /16",
    );
}

#[test]
fn security_switches_off_are_refused() {
    let at = r#"grafana_allow = ["198.51.100.0/24"]"#;
    refused(at, &format!("{at}\nmtls = false"), "mtls", "security.mtls", "mTLS off");
    refused(
        at,
        &format!("{at}\ngateway_firewall = false"),
        "gateway_firewall",
        "security.gateway_firewall",
        "firewall off",
    );
    refused(
        r#"retention = "7d""#,
        "retention = \"7d\"\ngpu_profiling = true",
        "gpu_profiling",
        "stack.gpu_profiling",
        "SYS_ADMIN",
    );
}

#[test]
fn node_labels_and_taints_under_reserved_prefixes_are_refused() {
    let pool = r#"pools = [{ type = "g6-standard-2", count = 2 }]"#;
    refused(
        pool,
        r#"pools = [{ type = "g6-standard-2", count = 2, labels = { "node-role.kubernetes.io/control-plane" = "x" } }]"#,
        "node-role",
        "edges.us-east.pools[0].labels[0]",
        "reserves",
    );
    refused(
        pool,
        r#"pools = [{ type = "g6-standard-2", count = 2, taints = [{ key = "node.k8s.io/x", effect = "NoSchedule" }] }]"#,
        "node.k8s.io",
        "edges.us-east.pools[0].taints[0].key",
        "reserves",
    );
}

#[test]
fn the_open_policy_warns_instead() {
    let (code, out, err) = validate(
        r#"control_plane_acl = ["203.0.113.0/24"]"#,
        r#"control_plane_acl = ["0.0.0.0/1", "128.0.0.0/1"]"#,
        &["--policy", "open", "--output", "json"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("together admit every address"), "{out}");
}

#[test]
fn a_renamed_fleet_is_refused_with_expect_fleet() {
    let (code, _, err) = validate(r#"name = "prod""#, r#"name = "prod""#, &["--expect-fleet", "staging"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("hostile.toml:2:") && err.contains("fleet.name"), "{err}");
    assert!(err.contains("\"staging\""), "{err}");
    let (code, _, err) = validate("", "", &["--expect-fleet", "prod"]);
    assert_eq!(code, Some(0), "{err}");
}
