//! One test per `[alerts]` rule (receiver types and keys, secrets by variable, https, routes): each fails if
//! its rule is removed.

use super::tests::{append, errors, one_error};

const ALERTS: &str = r##"[alerts]
default_receiver = "chat"
repeat_interval = "4h"

[[alerts.receivers]]
name = "chat"
type = "slack"
url_env = "SLACK_WEBHOOK_URL"
channel = "#alerts"

[[alerts.receivers]]
name = "hooks"
type = "webhook"
url = "https://hooks.example.com/alertmanager"
token_env = "HOOKS_TOKEN"

[[alerts.receivers]]
name = "pager"
type = "pagerduty"
routing_key_env = "PD_ROUTING_KEY"

[[alerts.receivers]]
name = "mail"
type = "email"
smtp_host = "smtp.example.com:587"
from = "alerts@example.com"
to = ["oncall@example.com"]
password_env = "SMTP_PASSWORD"

[[alerts.routes]]
receiver = "pager"
severity = "critical"
cluster_id = "us-east"
repeat_interval = "1h"

[[alerts.routes]]
receiver = "hooks"
alertname = "LkeobsMetricsSilent"
group_by = ["cluster_id"]"##;

fn alerts(from: &str, to: &str) -> String {
    assert!(ALERTS.contains(from), "ALERTS lacks {from:?}");
    append(&ALERTS.replacen(from, to, 1))
}

#[test]
fn alerts_valid_example_passes() {
    assert!(errors(&append(ALERTS)).is_empty(), "{:#?}", errors(&append(ALERTS)));
}

#[test]
fn receiver_unknown_key_is_named_with_did_you_mean() {
    let e = one_error(
        &alerts(
            "url_env = \"SLACK_WEBHOOK_URL\"",
            "url_env = \"SLACK_WEBHOOK_URL\"\nchanel = \"#x\"",
        ),
        "alerts.receivers[0].chanel",
        "unknown key",
    );
    assert!(e.help.unwrap_or_default().contains("channel"));
    assert_eq!(e.line, 29, "the line of the unknown key");
}

#[test]
fn receiver_type_known() {
    let e = one_error(
        &alerts("type = \"slack\"", "type = \"slak\""),
        "alerts.receivers[0].type",
        "unknown receiver type",
    );
    assert!(e.help.unwrap_or_default().contains("\"slack\""));
}

#[test]
fn receiver_keys_follow_its_type() {
    one_error(
        &alerts("url_env = \"SLACK_WEBHOOK_URL\"\n", ""),
        "alerts.receivers[0].url_env",
        "needs `url_env`",
    );
    one_error(
        &alerts(
            "routing_key_env = \"PD_ROUTING_KEY\"",
            "routing_key_env = \"PD_ROUTING_KEY\"\nurl = \"https://x.example.com\"",
        ),
        "alerts.receivers[2].url",
        "not used by a pagerduty receiver",
    );
    one_error(
        &alerts("password_env = \"SMTP_PASSWORD\"\n", ""),
        "alerts.receivers[3].password_env",
        "needs `password_env`",
    );
}

#[test]
fn webhook_url_is_https_to_a_public_host() {
    let e = one_error(
        &alerts(
            "https://hooks.example.com/alertmanager",
            "http://hooks.example.com/alertmanager",
        ),
        "alerts.receivers[1].url",
        "https://",
    );
    assert_eq!(e.line, 34, "the url's own line");
    one_error(
        &alerts("https://hooks.example.com/alertmanager", "https://169.254.169.254/x"),
        "alerts.receivers[1].url",
        "metadata",
    );
    one_error(
        &alerts(
            "https://hooks.example.com/alertmanager",
            "https://u:p@hooks.example.com/",
        ),
        "alerts.receivers[1].url",
        "user-info",
    );
}

#[test]
fn secrets_are_variable_names_not_values_nor_lkeobs_credentials() {
    let e = one_error(
        &alerts("\"HOOKS_TOKEN\"", "\"s3cr3t-t0ken\""),
        "alerts.receivers[1].token_env",
        "environment variable name",
    );
    assert_eq!(e.value, "<not shown>");
    one_error(
        &alerts("\"PD_ROUTING_KEY\"", "\"LINODE_TOKEN\""),
        "alerts.receivers[2].routing_key_env",
        "credential variable",
    );
}

#[test]
fn smtp_host_and_addresses() {
    one_error(
        &alerts("smtp.example.com:587", "smtp.example.com"),
        "alerts.receivers[3].smtp_host",
        "host:port",
    );
    one_error(
        &alerts("smtp.example.com:587", "10.0.0.1:25"),
        "alerts.receivers[3].smtp_host",
        "private",
    );
    one_error(
        &alerts("\"oncall@example.com\"", "\"oncall\""),
        "alerts.receivers[3].to[0]",
        "email address",
    );
}

#[test]
fn receivers_are_named_once_and_routes_name_them() {
    let errs = errors(&alerts("name = \"pager\"", "name = \"chat\""));
    assert!(
        errs.iter()
            .any(|e| e.field == "alerts.receivers[2].name" && e.message.contains("second receiver")),
        "{errs:#?}"
    );
    let e = one_error(
        &alerts("receiver = \"pager\"", "receiver = \"pagr\""),
        "alerts.routes[0].receiver",
        "names no receiver",
    );
    assert!(e.help.unwrap_or_default().contains("\"pager\""));
    one_error(
        &alerts("default_receiver = \"chat\"", "default_receiver = \"nobody\""),
        "alerts.default_receiver",
        "names no receiver",
    );
}

#[test]
fn route_matchers_are_known_values() {
    let e = one_error(
        &alerts("severity = \"critical\"", "severity = \"crit\""),
        "alerts.routes[0].severity",
        "matches no alert",
    );
    assert!(e.help.unwrap_or_default().contains("critical"));
    let e = one_error(
        &alerts(
            "alertname = \"LkeobsMetricsSilent\"",
            "alertname = \"LkeobsMetricSilent\"",
        ),
        "alerts.routes[1].alertname",
        "matches no alert",
    );
    assert!(e.help.unwrap_or_default().contains("LkeobsMetricsSilent"));
    one_error(
        &alerts("cluster_id = \"us-east\"", "cluster_id = \"us-west\""),
        "alerts.routes[0].cluster_id",
        "matches no alert",
    );
    one_error(
        &alerts("alertname = \"LkeobsMetricsSilent\"\n", ""),
        "alerts.routes[1]",
        "at least one of",
    );
}

#[test]
fn durations_and_labels() {
    one_error(
        &alerts("repeat_interval = \"4h\"", "repeat_interval = \"4 hours\""),
        "alerts.repeat_interval",
        "not a duration",
    );
    one_error(
        &alerts("group_by = [\"cluster_id\"]", "group_by = [\"cluster-id\"]"),
        "alerts.routes[1].group_by[0]",
        "label name",
    );
}

#[test]
fn receiver_secrets_follow_the_allowlist_and_ci() {
    use super::alert_secrets::check_allowlist;
    use super::trust::TokenAllowlist;
    let f = super::parse("t.toml", &append(ALERTS)).expect("valid").fleet;
    assert!(check_allowlist(&f, None, false).is_empty());
    assert_eq!(
        check_allowlist(&f, None, true).len(),
        4,
        "every receiver secret needs the operator's consent under CI"
    );
    let list = TokenAllowlist::from_sources(
        &[
            "SLACK_WEBHOOK_URL=hooks.slack.com".into(),
            "HOOKS_TOKEN=elsewhere.example.com".into(),
            "PD_ROUTING_KEY=events.pagerduty.com".into(),
        ],
        None,
    )
    .expect("parses");
    let diags = check_allowlist(&f, list.as_ref(), true);
    let fields: Vec<&str> = diags.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(
        fields,
        ["alerts.receivers[1].token_env", "alerts.receivers[3].password_env"],
        "{diags:#?}"
    );
    assert!(diags[0].message.contains("hooks.example.com"));
}

#[test]
fn secret_values_come_from_the_environment() {
    use secrecy::SecretString;
    let f = super::parse("t.toml", &append(ALERTS)).expect("valid").fleet;
    let env: std::collections::BTreeMap<&str, SecretString> = [
        ("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T0/B0/x"),
        ("HOOKS_TOKEN", "tok"),
        ("SMTP_PASSWORD", "pw"),
    ]
    .into_iter()
    .map(|(k, v)| (k, SecretString::from(v)))
    .collect();
    let errs = super::alert_secrets::read(&f, |n| env.get(n), None).expect_err("PD_ROUTING_KEY is unset");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "alerts.receivers[2].routing_key_env");
    assert!(errs[0].message.contains("PD_ROUTING_KEY is not set"));
    let mut env = env;
    env.insert("PD_ROUTING_KEY", SecretString::from("key"));
    env.insert(
        "SLACK_WEBHOOK_URL",
        SecretString::from("http://hooks.slack.com/services/x"),
    );
    let errs = super::alert_secrets::read(&f, |n| env.get(n), None).expect_err("plain http");
    assert!(errs[0].message.contains("not an https:// URL") && !errs[0].message.contains("services/x"));
    env.insert(
        "SLACK_WEBHOOK_URL",
        SecretString::from("https://hooks.slack.com/services/x"),
    );
    assert_eq!(
        super::alert_secrets::read(&f, |n| env.get(n), None)
            .map(|m| m.len())
            .ok(),
        Some(4)
    );
}
