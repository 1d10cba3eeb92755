//! One test per `[[destinations]]` rule (type, keys, protocol, endpoint, token variable, signals): each fails if its rule is removed.

use super::tests::{append, errors, one_error};

const SPLUNK: &str = "[[destinations]]\ntype = \"splunk_hec\"\nendpoint = \"https://splunk.example.com:8088\"\ntoken_env = \"SPLUNK_HEC_TOKEN\"\nsignals = [\"logs\"]";

#[test]
fn destinations_valid_example_passes() {
    assert!(errors(&append(SPLUNK)).is_empty());
    assert!(errors(&append("[[destinations]]\ntype = \"datadog\"\ntoken_env = \"DD_API_KEY\"\nsite = \"datadoghq.eu\"\nsignals = [\"metrics\", \"traces\"]")).is_empty());
    assert!(
        errors(&append(
            "[[destinations]]\ntype = \"otlp\"\nendpoint = \"https://o.example.net:4317\"\nsignals = [\"traces\"]"
        ))
        .is_empty()
    );
}

#[test]
fn destination_type_known() {
    let e = one_error(
        &append(&SPLUNK.replace("splunk_hec", "splunk")),
        "destinations[0].type",
        "unknown destination type",
    );
    assert!(e.help.unwrap_or_default().contains("splunk_hec"));
}

#[test]
fn splunk_needs_endpoint_and_token() {
    one_error(
        &append(&SPLUNK.replace("token_env = \"SPLUNK_HEC_TOKEN\"\n", "")),
        "destinations[0].token_env",
        "needs `token_env`",
    );
    one_error(
        &append(&SPLUNK.replace("endpoint = \"https://splunk.example.com:8088\"\n", "")),
        "destinations[0].endpoint",
        "needs `endpoint`",
    );
}

#[test]
fn datadog_needs_token_and_takes_site_not_endpoint() {
    one_error(
        &append("[[destinations]]\ntype = \"datadog\"\nsignals = [\"metrics\"]"),
        "destinations[0].token_env",
        "needs `token_env`",
    );
    one_error(
        &append(
            "[[destinations]]\ntype = \"datadog\"\ntoken_env = \"DD\"\nendpoint = \"https://x.example\"\nsignals = [\"metrics\"]",
        ),
        "destinations[0].endpoint",
        "takes `site`",
    );
}

#[test]
fn otlp_needs_endpoint_and_a_known_protocol() {
    one_error(
        &append("[[destinations]]\ntype = \"otlp\"\nsignals = [\"traces\"]"),
        "destinations[0].endpoint",
        "needs `endpoint`",
    );
    one_error(
        &append(
            "[[destinations]]\ntype = \"otlp\"\nendpoint = \"https://o.example\"\nprotocol = \"udp\"\nsignals = [\"traces\"]",
        ),
        "destinations[0].protocol",
        "\"grpc\" or \"http\"",
    );
}

#[test]
fn destination_endpoint_is_a_url() {
    one_error(
        &append(&SPLUNK.replace("https://splunk.example.com:8088", "splunk:8088")),
        "destinations[0].endpoint",
        "http:// or https://",
    );
}

#[test]
fn signals_within_metrics_logs_traces() {
    one_error(
        &append(&SPLUNK.replace("[\"logs\"]", "[\"events\"]")),
        "destinations[0].signals[0]",
        "\"metrics\", \"logs\" or \"traces\"",
    );
    one_error(
        &append(&SPLUNK.replace("[\"logs\"]", "[]")),
        "destinations[0].signals",
        "list the signals",
    );
    one_error(
        &append(&SPLUNK.replace("[\"logs\"]", "[\"logs\", \"logs\"]")),
        "destinations[0].signals[1]",
        "twice",
    );
}

#[test]
fn secret_env_var_names_valid_and_never_echoed() {
    let secret = "hec-9f8e7d6c-secret-value";
    let e = one_error(
        &append(&SPLUNK.replace("SPLUNK_HEC_TOKEN", secret)),
        "destinations[0].token_env",
        "environment variable name",
    );
    assert!(!e.value.contains(secret));
    assert!(!e.render().contains(secret), "{}", e.render());
}
