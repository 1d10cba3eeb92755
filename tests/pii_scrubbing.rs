//! `stack.pii_scrubbing`: the rendered OTTL redaction rules, read back out of the collectors' configs and applied with an
//! RE2-compatible engine to sample records, and the gateway pipelines that scrub only what leaves for `[[destinations]]`.

use crate::tooling;

use serde_yaml_ng::Value;
use tooling::fleet;

/// The collector config of ConfigMap `name` when `fleet_text` is rendered for `cluster`.
fn collector_config(fleet_text: &str, cluster: &str, name: &str) -> Value {
    tooling::collector_config(&tooling::render_docs(fleet_text, cluster), name)
}

fn prod() -> String {
    std::fs::read_to_string(fleet("prod")).unwrap()
}

/// One `replace_pattern` / `replace_all_patterns` statement as the collector reads it.
#[derive(Debug, Clone, PartialEq)]
struct Rule {
    target: String,
    regex: String,
    replacement: String,
}

/// An OTTL string literal's value (`\\` and `\"` are its only escapes in our statements).
fn unquote(lit: &str) -> String {
    let inner = lit
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a string literal: {lit}"));
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('\\' | '"')) => out.push(e),
                other => panic!("unexpected escape \\{other:?} in {lit}"),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The top-level arguments of `f(a, "b, c", d)`: string literals kept whole.
fn arguments(call: &str) -> Vec<String> {
    let open = call.find('(').expect("a call");
    let (mut args, mut cur, mut in_str, mut escaped) = (Vec::new(), String::new(), false, false);
    for c in call[open + 1..].chars() {
        if in_str {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                cur.push(c);
            }
            ',' => args.push(std::mem::take(&mut cur).trim().to_string()),
            ')' => {
                args.push(cur.trim().to_string());
                return args;
            }
            _ => cur.push(c),
        }
    }
    panic!("unterminated call: {call}");
}

/// `$$` is the collector's escape for `$` in every config string.
fn collector_string(lit: &str) -> String {
    unquote(lit).replace("$$", "$")
}

fn rule(statement: &str) -> Option<Rule> {
    let func = statement.split('(').next()?.trim();
    let args = arguments(statement);
    let (target, regex, replacement) = match func {
        "replace_pattern" => (args[0].clone(), &args[1], &args[2]),
        // A map-typed log body: each rule over its string values.
        "replace_all_patterns" if args[0] == "log.body" => {
            assert!(statement.ends_with("where IsMap(log.body)"), "{statement}");
            ("log.body (map)".to_string(), &args[2], &args[3])
        }
        "replace_all_patterns" => {
            assert_eq!(args[1], "\"value\"", "{statement}");
            (args[0].clone(), &args[2], &args[3])
        }
        _ => return None,
    };
    Some(Rule {
        target,
        regex: collector_string(regex),
        replacement: collector_string(replacement),
    })
}

/// Every redaction rule of `processor`'s `<signal>_statements`, in order (flat strings or `statements:` groups).
fn rules(cfg: &Value, processor: &str, signal: &str) -> Vec<Rule> {
    let list = cfg["processors"][processor][format!("{signal}_statements")]
        .as_sequence()
        .unwrap_or_else(|| panic!("{processor} has no {signal}_statements"));
    let mut out = Vec::new();
    for item in list {
        let statements: Vec<&Value> = match item.as_str() {
            Some(_) => vec![item],
            None => item["statements"]
                .as_sequence()
                .expect("a statements group")
                .iter()
                .collect(),
        };
        out.extend(
            statements
                .into_iter()
                .filter_map(|s| rule(s.as_str().expect("a statement"))),
        );
    }
    out
}

/// What the collector makes of `text` in `target`: each rule in order, as Go's `ReplaceAllString` with `$1` expansion.
/// Go's RE2 is ASCII-only for `\d`, `\s` and `\b`; so is this engine with Unicode off.
fn scrub(rules: &[Rule], target: &str, text: &str) -> String {
    let mut out = text.as_bytes().to_vec();
    for r in rules.iter().filter(|r| r.target == target) {
        let re = regex::bytes::RegexBuilder::new(&r.regex)
            .unicode(false)
            .build()
            .unwrap_or_else(|e| panic!("{} is not RE2-compatible: {e}", r.regex));
        out = re.replace_all(&out, r.replacement.as_bytes()).into_owned();
    }
    String::from_utf8(out).unwrap()
}

/// (sample, secret that must be gone, marker that must be there) for each category docs/fleet-file.md lists for pii_scrubbing.
const SENSITIVE: &[(&str, &str, &str)] = &[
    (
        "user alice.smith+ops@example.co.uk logged in",
        "alice",
        "[REDACTED_EMAIL]",
    ),
    ("ssn=123-45-6789 on file", "123-45-6789", "[REDACTED_SSN]"),
    ("card 4111 1111 1111 1111 charged", "4111 1111", "[REDACTED_CARD]"),
    ("card 4111-1111-1111-1111 charged", "4111-1111", "[REDACTED_CARD]"),
    ("pan=5555555555554444;", "5555555555554444", "[REDACTED_CARD]"),
    ("amex 378282246310005 ok", "378282246310005", "[REDACTED_CARD]"),
    ("amex 3782-822463-10005 ok", "822463", "[REDACTED_CARD]"),
    ("visa13 4222222222222 ok", "4222222222222", "[REDACTED_CARD]"),
    (
        "unionpay 6212345678901234567 ok",
        "6212345678901234567",
        "[REDACTED_CARD]",
    ),
    (
        "GET https://bob:hunter2@api.example.com/v1",
        "hunter2",
        "https://***:***@api.example.com/v1",
    ),
    (
        "dsn postgres://svc:p%40ss@db:5432/app",
        "p%40ss",
        "postgres://***:***@db:5432/app",
    ),
    (
        "clone https://ghp_abcdefgh12345678@github.com/x/y",
        "ghp_",
        "https://***:***@github.com",
    ),
    (
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
        "eyJhbGci",
        "Bearer [REDACTED]",
    ),
    ("authorization=Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpw", "[REDACTED]"),
    (
        "GET /login?user=bob&password=hunter2&next=/",
        "hunter2",
        "password=[REDACTED]&next=/",
    ),
    (
        "{\"api_key\": \"sk_live_abcdef123456\"}",
        "sk_live",
        "\"api_key\": \"[REDACTED]\"",
    ),
    ("oauth access_token=ya29.a0AfH6SMB", "ya29", "access_token=[REDACTED]"),
    ("client_secret: s3cr3t-value", "s3cr3t", "[REDACTED]"),
];

/// Text that looks like numbers or addresses but is not personal data: left exactly as it is.
const BENIGN: &[&str] = &[
    "2026-11-29T05:22:51.123456789Z level=info msg=\"started\"",
    "ts=1732857600 ts_ms=1732857600123 ts_us=1732857600123456 ts_ns=1732857600123456789",
    "client 10.244.1.17:8080 -> 192.168.0.1:443 and [2001:db8::1]:4317",
    "took 350ms (1.234s, 2m30s, 1500000ns)",
    "request 3f2504e0-4f89-41d3-9a0c-0305e82c3301 and 41111111-2222-4222-8222-222222222222",
    "order ORD-2024-000123 qty 4096 port 8080 year 2026 pin 1234",
    "GET /api/v1/orders/12345?page=2&limit=50 200 in 12ms",
    "image nginx@sha256:0123456789abcdef pulled",
    "see https://example.com/path?q=1#frag and http://10.0.0.1:9090/metrics",
    "max_tokens=100 tokenizer=bert token_count=5 secretName=db-creds",
    "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
    "pod web-7d4b9c8f6d-x2x9z on node lke123456-789012-abcdef",
    "bearer of bad news; phone 555-123-4567",
];

/// Each scrubbed field of each signal, and the rules it runs.
const TARGETS: &[(&str, &str)] = &[
    ("log", "log.body"),
    ("log", "log.body (map)"),
    ("log", "log.attributes"),
    ("log", "resource.attributes"),
    ("trace", "span.name"),
    ("trace", "span.attributes"),
    ("trace", "spanevent.attributes"),
    ("trace", "resource.attributes"),
    ("metric", "datapoint.attributes"),
    ("metric", "resource.attributes"),
];

fn assert_redacts_and_spares(cfg: &Value, processor: &str) {
    let reference: Vec<(String, String)> = rules(cfg, processor, "log")
        .into_iter()
        .filter(|r| r.target == "log.body")
        .map(|r| (r.regex, r.replacement))
        .collect();
    assert!(reference.len() >= 6, "{processor}: {reference:?}");
    for (signal, target) in TARGETS {
        let rules = rules(cfg, processor, signal);
        let here: Vec<(String, String)> = rules
            .iter()
            .filter(|r| r.target == *target)
            .map(|r| (r.regex.clone(), r.replacement.clone()))
            .collect();
        assert_eq!(here, reference, "{processor} {target}: the same rules as log.body");
        for (sample, secret, marker) in SENSITIVE {
            let out = scrub(&rules, target, sample);
            assert!(
                !out.contains(secret) && out.contains(marker),
                "{processor} {target}: {sample:?} became {out:?}"
            );
        }
        for sample in BENIGN {
            assert_eq!(
                scrub(&rules, target, sample),
                *sample,
                "{processor} {target} changed benign text"
            );
        }
    }
}

#[test]
fn edge_agents_redact_every_readme_category_and_spare_benign_text() {
    let cfg = collector_config(&prod(), "us-east", "otel-agent");
    assert_redacts_and_spares(&cfg, "transform/pii");
}

#[test]
fn the_gateway_redacts_what_leaves_for_destinations_with_the_same_rules() {
    let cfg = collector_config(&prod(), "hub", "otel-gateway");
    assert_redacts_and_spares(&cfg, "transform/pii_out");
    let edge = collector_config(&prod(), "us-east", "otel-agent");
    for signal in ["log", "trace", "metric"] {
        assert_eq!(
            rules(&cfg, "transform/pii_out", signal),
            rules(&edge, "transform/pii", signal),
            "{signal}: gateway and edge rules differ"
        );
    }
}

/// (pipeline name, processors, exporters) of every pipeline.
fn pipelines(cfg: &Value) -> Vec<(String, Vec<String>, Vec<String>)> {
    let names = |v: &Value| -> Vec<String> {
        v.as_sequence()
            .map(|s| s.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    cfg["service"]["pipelines"]
        .as_mapping()
        .expect("pipelines")
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                names(&v["processors"]),
                names(&v["exporters"]),
            )
        })
        .collect()
}

const STORES: [&str; 3] = ["prometheus_remote_write", "otlp_http/loki", "otlp_grpc/tempo"];

/// The exporting pipelines that carry what the gateway receives (leaving out `metrics/certs`, the
/// gateway's own certificate metric for the alert rules, which only goes to Prometheus).
fn received(cfg: &Value) -> usize {
    exporting(cfg)
        .iter()
        .filter(|(name, _, _)| name != "metrics/certs")
        .count()
}

/// The pipelines that export somewhere, leaving out the intake ones (security.mtls: edge and local intake
/// feed the others through `forward` connectors), which must never scrub.
fn exporting(cfg: &Value) -> Vec<(String, Vec<String>, Vec<String>)> {
    pipelines(cfg)
        .into_iter()
        .filter(|(name, procs, exps)| {
            let intake = exps.iter().all(|e| e.starts_with("forward/"));
            assert!(
                !intake || !procs.iter().any(|p| p.starts_with("transform/pii")),
                "intake pipeline {name} scrubs"
            );
            !intake
        })
        .collect()
}

#[test]
fn gateway_scrubs_destination_pipelines_exactly_when_on_and_never_the_hubs_stores() {
    // prod: pii_scrubbing on, destinations for every signal.
    let on = collector_config(&prod(), "hub", "otel-gateway");
    let dests = ["splunk_hec/dest0", "datadog/dest1", "otlp_grpc/dest2"];
    let mut exported = Vec::new();
    for (name, procs, exps) in exporting(&on) {
        let to_store = exps.iter().any(|e| STORES.contains(&e.as_str()));
        let to_dest = exps.iter().any(|e| dests.contains(&e.as_str()));
        assert!(to_store != to_dest, "{name} mixes stores and destinations: {exps:?}");
        assert_eq!(
            procs.contains(&"transform/pii_out".to_string()),
            to_dest,
            "{name}: {procs:?}"
        );
        assert!(procs.last().is_some_and(|p| p == "batch"), "{name}: batch last");
        exported.extend(exps.into_iter().filter(|e| dests.contains(&e.as_str())));
    }
    for d in dests {
        assert!(exported.iter().any(|e| e == d), "{d} is in no pipeline");
    }

    // Destinations, pii_scrubbing off: one pipeline per signal, nothing scrubbed.
    let off = collector_config(
        &prod().replace("pii_scrubbing = true", "pii_scrubbing = false"),
        "hub",
        "otel-gateway",
    );
    assert!(off["processors"]["transform/pii_out"].is_null());
    for (name, procs, exps) in exporting(&off) {
        assert!(!procs.iter().any(|p| p.starts_with("transform/pii")), "{name}");
        assert!(exps.iter().any(|e| STORES.contains(&e.as_str())), "{name}: {exps:?}");
    }
    assert_eq!(received(&off), 3);

    // pii_scrubbing on but no destinations: nothing leaves, so no scrubbing pipeline.
    let text = prod();
    let first = text.find("[[destinations]]").expect("prod has destinations");
    let none = collector_config(&text[..first], "hub", "otel-gateway");
    assert!(none["processors"]["transform/pii_out"].is_null());
    assert_eq!(received(&none), 3);
}
