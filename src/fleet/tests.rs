//! One test per fleet-file rule: each fails if its rule is removed.

use super::{FleetError, Located, parse};

const BASE: &str = r#"
[fleet]
name = "prod"
k8s_version = "1.33"
tags = ["team-obs"]

[hub]
region = "us-ord"
pools = [{ type = "g6-standard-4", count = 3, autoscale = { min = 3, max = 5 } }]

[edges.us-east]
region = "us-east"
pools = [{ type = "g6-standard-2", count = 2 }]

[security]
grafana_allow = ["198.51.100.0/24"]

[stack]
retention = "7d"
"#;

pub(super) fn errors(src: &str) -> Vec<Located> {
    match parse("t.toml", src) {
        Ok(_) => Vec::new(),
        Err(FleetError::Invalid { errors, .. }) => errors,
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// BASE with one substring replaced (the replaced text must exist).
pub(super) fn with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "BASE lacks {from:?}");
    BASE.replacen(from, to, 1)
}

pub(super) fn append(extra: &str) -> String {
    format!("{BASE}\n{extra}\n")
}

/// Asserts exactly one error, on `field`, whose message contains `needle`; returns it.
pub(super) fn one_error(src: &str, field: &str, needle: &str) -> Located {
    let errs = errors(src);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    let e = errs.into_iter().next().unwrap();
    assert_eq!(e.field, field, "{e:#?}");
    assert!(e.message.contains(needle), "{:?} lacks {needle:?}", e.message);
    e
}

#[test]
fn base_is_valid() {
    assert!(errors(BASE).is_empty(), "{:#?}", errors(BASE));
}

#[test]
fn fleet_name_charset() {
    one_error(&with("name = \"prod\"", "name = \"Prod_1\""), "fleet.name", "only a-z");
}

#[test]
fn fleet_name_no_double_dash_for_the_firewall_label() {
    one_error(&with("name = \"prod\"", "name = \"pr--od\""), "fleet.name", "'--'");
}

#[test]
fn fleet_name_short_enough_for_every_label() {
    let long = "a".repeat(crate::naming::max_fleet_name_len() + 1);
    let e = one_error(
        &with("name = \"prod\"", &format!("name = \"{long}\"")),
        "fleet.name",
        "too long",
    );
    assert!(e.message.contains("32"));
    let fits = "a".repeat(crate::naming::max_fleet_name_len());
    // The hub fits; the edge `us-east` makes its own label too long and is reported on the edge.
    one_error(
        &with("name = \"prod\"", &format!("name = \"{fits}\"")),
        "edges.us-east",
        "LKE label",
    );
}

#[test]
fn edge_label_fits_32_characters() {
    let e = one_error(
        &with("[edges.us-east]", "[edges.a-very-long-edge-name-here]"),
        "edges.a-very-long-edge-name-here",
        "would be",
    );
    assert_eq!(e.line, 11);
}

#[test]
fn tags_are_3_to_50_characters() {
    one_error(
        &with("tags = [\"team-obs\"]", "tags = [\"ab\"]"),
        "fleet.tags[0]",
        "3–50",
    );
    let long = "t".repeat(51);
    one_error(
        &with("tags = [\"team-obs\"]", &format!("tags = [\"{long}\"]")),
        "fleet.tags[0]",
        "3–50",
    );
}

#[test]
fn tags_reserved_prefix() {
    one_error(
        &with("tags = [\"team-obs\"]", "tags = [\"lkeobs-fleet-x\"]"),
        "fleet.tags[0]",
        "reserved",
    );
}

#[test]
fn edge_names_valid() {
    one_error(&with("[edges.us-east]", "[edges.Us_East]"), "edges.Us_East", "only a-z");
}

#[test]
fn edge_name_hub_is_taken() {
    one_error(&with("[edges.us-east]", "[edges.hub]"), "edges.hub", "unique");
}

#[test]
fn hub_is_required() {
    let src = with(
        "[hub]\nregion = \"us-ord\"\npools = [{ type = \"g6-standard-4\", count = 3, autoscale = { min = 3, max = 5 } }]\n",
        "",
    );
    one_error(&src, "hub", "missing the [hub] table");
}

#[test]
fn every_cluster_needs_a_pool() {
    let e = one_error(
        &with("pools = [{ type = \"g6-standard-2\", count = 2 }]", "pools = []"),
        "edges.us-east.pools",
        "at least one node pool",
    );
    let header = BASE.lines().position(|l| l == "[edges.us-east]").unwrap() + 1;
    assert_eq!(e.line, header + 2, "at the `pools` line, not the table header");
}

#[test]
fn pools_key_required() {
    one_error(
        &with("pools = [{ type = \"g6-standard-2\", count = 2 }]", ""),
        "edges.us-east.pools",
        "missing required key",
    );
}

#[test]
fn count_between_1_and_100() {
    one_error(
        &with("count = 2 }", "count = 0 }"),
        "edges.us-east.pools[0].count",
        "between 1 and 100",
    );
    one_error(
        &with("count = 2 }", "count = 101 }"),
        "edges.us-east.pools[0].count",
        "between 1 and 100",
    );
}

#[test]
fn count_is_a_number() {
    one_error(
        &with("count = 2 }", "count = \"2\" }"),
        "edges.us-east.pools[0].count",
        "must be a whole number",
    );
}

#[test]
fn autoscale_bounds() {
    for bad in [
        "min = 0, max = 5",
        "min = 4, max = 5",
        "min = 1, max = 2",
        "min = 3, max = 101",
    ] {
        one_error(
            &with("min = 3, max = 5", bad),
            "hub.pools[0].autoscale",
            "1 <= min <= count <= max <= 100",
        );
    }
    assert!(errors(&with("min = 3, max = 5", "min = 1, max = 100")).is_empty());
}

#[test]
fn autoscale_needs_min_and_max() {
    one_error(
        &with("min = 3, max = 5", "min = 3"),
        "hub.pools[0].autoscale.max",
        "missing required key",
    );
}

#[test]
fn k8s_version_is_a_string() {
    let e = one_error(
        &with("k8s_version = \"1.33\"", "k8s_version = 1.33"),
        "fleet.k8s_version",
        "must be a string",
    );
    assert!(e.help.unwrap_or_default().contains("quote it"));
}

#[test]
fn k8s_version_is_major_dot_minor() {
    for bad in ["v1.33", "1.33.2", "1", "latest"] {
        one_error(
            &with("\"1.33\"", &format!("{bad:?}")),
            "fleet.k8s_version",
            "minor version",
        );
    }
}

#[test]
fn region_ids_well_formed() {
    one_error(
        &with("region = \"us-east\"", "region = \"US East\""),
        "edges.us-east.region",
        "region id",
    );
    assert!(errors(&with("region = \"us-east\"", "region = \"in-bom-2\"")).is_empty());
}

#[test]
fn type_ids_well_formed() {
    one_error(
        &with("\"g6-standard-2\"", "\"standard-2\""),
        "edges.us-east.pools[0].type",
        "type id",
    );
    assert!(errors(&with("\"g6-standard-2\"", "\"g2-gpu-rtx4000a1-s\"")).is_empty());
}

#[test]
fn cidrs_valid_ipv4_and_ipv6() {
    one_error(
        &with("\"198.51.100.0/24\"", "\"300.1.1.0/24\""),
        "security.grafana_allow[0]",
        "not an IPv4 or IPv6",
    );
    one_error(
        &with("\"198.51.100.0/24\"", "\"2001:db8::/129\""),
        "security.grafana_allow[0]",
        "not an IPv4 or IPv6",
    );
    let e = one_error(
        &with("\"198.51.100.0/24\"", "\"198.51.100.7/24\""),
        "security.grafana_allow[0]",
        "host bits",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean \"198.51.100.0/24\"?"));
    assert!(errors(&with("\"198.51.100.0/24\"", "\"2001:db8::/32\", \"203.0.113.9\"")).is_empty());
}

#[test]
fn control_plane_acl_cidrs_checked() {
    one_error(
        &with("[security]", "[security]\ncontrol_plane_acl = [\"nope\"]"),
        "security.control_plane_acl[0]",
        "not an IPv4",
    );
}

#[test]
fn ttl_parses() {
    for good in ["90m", "4h", "2d"] {
        assert!(
            errors(&with(
                "tags = [\"team-obs\"]",
                &format!("tags = [\"team-obs\"]\nttl = \"{good}\"")
            ))
            .is_empty()
        );
    }
    one_error(
        &with("tags = [\"team-obs\"]", "tags = [\"team-obs\"]\nttl = \"forever\""),
        "fleet.ttl",
        "not a duration",
    );
}

#[test]
fn retention_parses_and_is_a_day_at_least() {
    one_error(
        &with("retention = \"7d\"", "retention = \"7 days\""),
        "stack.retention",
        "not a duration",
    );
    one_error(
        &with("retention = \"7d\"", "retention = \"12h\""),
        "stack.retention",
        "at least 1d",
    );
    one_error(
        &with("retention = \"7d\"", "retention = \"99999999d\""),
        "stack.retention",
        "at most 3650d",
    );
}

#[test]
fn reserved_tags_are_refused_whatever_their_case() {
    for tag in ["LKEOBS", "Lkeobs-fleet-prod", "lkeobs-x"] {
        one_error(
            &with("tags = [\"team-obs\"]", &format!("tags = [\"{tag}\"]")),
            "fleet.tags[0]",
            "reserved",
        );
    }
}

#[test]
fn gateway_replica_bounds() {
    one_error(
        &with(
            "retention = \"7d\"",
            "retention = \"7d\"\ngateway = { min_replicas = 5, max_replicas = 2 }",
        ),
        "stack.gateway",
        "min_replicas <= max_replicas",
    );
}

#[test]
fn persistent_queue_is_a_volume_size() {
    one_error(
        &with("retention = \"7d\"", "retention = \"7d\"\npersistent_queue = \"5Gi\""),
        "stack.persistent_queue",
        "at least 10Gi",
    );
    one_error(
        &with(
            "retention = \"7d\"",
            "retention = \"7d\"\npersistent_queue = \"99999Ti\"",
        ),
        "stack.persistent_queue",
        "at most 10240Gi",
    );
    one_error(
        &with("retention = \"7d\"", "retention = \"7d\"\npersistent_queue = \"10GB\""),
        "stack.persistent_queue",
        "Gi or Ti",
    );
}

#[test]
fn gpu_profiling_is_off_unless_set_and_must_be_a_bool() {
    let off = parse("t.toml", BASE).unwrap().fleet;
    assert!(!*off.stack.gpu_profiling.get_ref());
    let on = parse(
        "t.toml",
        &with("retention = \"7d\"", "retention = \"7d\"\ngpu_profiling = true"),
    )
    .unwrap()
    .fleet;
    assert!(*on.stack.gpu_profiling.get_ref());
    let e = one_error(
        &with("retention = \"7d\"", "retention = \"7d\"\ngpu_profiling = \"yes\""),
        "stack.gpu_profiling",
        "true or false",
    );
    let line = BASE.lines().position(|l| l == "retention = \"7d\"").unwrap() + 2;
    assert_eq!(e.line, line, "at the gpu_profiling line");
}

#[test]
fn unknown_keys_with_did_you_mean() {
    let e = one_error(
        &with("region = \"us-east\"", "regoin = \"us-east\""),
        "edges.us-east.regoin",
        "unknown key",
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `region`? (`region` is required)"));
    let e = one_error(&append("[stak]\nretention = \"7d\""), "stak", "unknown key");
    assert_eq!(e.help.as_deref(), Some("did you mean `stack`?"));
}

#[test]
fn every_error_is_reported_in_one_run_with_its_line() {
    let src = include_str!("../../tests/fixtures/five-mistakes.toml");
    let errs = errors(src);
    let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![3, 5, 8, 13, 16], "{errs:#?}");
}

#[test]
fn syntax_errors_name_the_line() {
    let errs = errors("[fleet]\nname = \"x\nk8s_version = \"1.33\"\n");
    assert!(!errs.is_empty());
    assert_eq!(errs[0].line, 2);
    assert!(errs[0].message.starts_with("invalid TOML"));
}

#[test]
fn max_monthly_cost_is_a_positive_finite_number_of_dollars() {
    let ok = with("tags = [\"team-obs\"]", "tags = [\"team-obs\"]\nmax_monthly_cost = 500");
    assert_eq!(
        parse("t.toml", &ok)
            .unwrap()
            .fleet
            .fleet
            .max_monthly_cost
            .map(|v| v.into_inner()),
        Some(500.0)
    );
    for bad in ["0", "-5", "nan", "inf", "20000000"] {
        let e = one_error(
            &with(
                "tags = [\"team-obs\"]",
                &format!("tags = [\"team-obs\"]\nmax_monthly_cost = {bad}"),
            ),
            "fleet.max_monthly_cost",
            "above 0",
        );
        assert_eq!(e.line, 6, "{e:#?}");
    }
    one_error(
        &with(
            "tags = [\"team-obs\"]",
            "tags = [\"team-obs\"]\nmax_monthly_cost = \"500\"",
        ),
        "fleet.max_monthly_cost",
        "a number of US dollars",
    );
}

#[test]
fn each_diagnostic_says_its_kind_and_json_carries_it() {
    use super::diag::Kind;
    let unknown = errors(&with("region = \"us-ord\"", "regoin = \"us-ord\""));
    // The typo is reported once, as the unknown key it is (the missing `region` it explains is dropped).
    assert_eq!(
        unknown.iter().map(|e| e.kind).collect::<Vec<_>>(),
        vec![Kind::UnknownKey],
        "{unknown:#?}"
    );
    let json = serde_json::to_value(&unknown[0]).unwrap();
    assert_eq!(json["kind"], "unknown_key", "{json:#}");
    let wrong = errors(&with("k8s_version = \"1.33\"", "k8s_version = 1.33"));
    assert_eq!(wrong[0].kind, Kind::WrongType, "{wrong:#?}");
    let missing = errors(&with("region = \"us-ord\"\n", ""));
    assert!(missing.iter().any(|e| e.kind == Kind::MissingKey), "{missing:#?}");
    let invalid = errors(&with("k8s_version = \"1.33\"", "k8s_version = \"one\""));
    assert_eq!(invalid[0].kind, Kind::Invalid, "{invalid:#?}");
}
