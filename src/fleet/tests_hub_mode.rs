//! `[hub] mode` and `[hub.ha]`: parsing, defaults, and each rule with the line it points at.

use super::hub_mode::{HaEngine, HubMode, cpu_millis, memory_bytes};
use super::tests::{errors, one_error, with};
use super::{FleetError, parse};

const HUB: &str = "[hub]\nregion = \"us-ord\"\n";

fn ha(extra: &str) -> String {
    with(HUB, &format!("{HUB}mode = \"ha\"\n{extra}"))
}

fn loaded(src: &str) -> super::Fleet {
    match parse("t.toml", src) {
        Ok(l) => l.fleet,
        Err(FleetError::Invalid { errors, .. }) => panic!("{errors:#?}"),
        Err(e) => panic!("{e}"),
    }
}

fn line_of(src: &str, needle: &str) -> usize {
    src.lines().position(|l| l.contains(needle)).expect("needle in source") + 1
}

#[test]
fn mode_defaults_to_single() {
    let f = loaded(&with(HUB, HUB));
    assert!(matches!(f.hub_mode, HubMode::Single));
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(json["hub_mode"]["mode"], "single");
}

#[test]
fn ha_defaults_retention_to_the_stack_and_leaves_replicas_to_sizing() {
    let f = loaded(&ha(""));
    let h = f.hub_mode.ha().expect("ha");
    assert!(h.replicas.is_none());
    assert_eq!(h.retention.metrics.get_ref(), "7d");
    assert_eq!(h.retention.logs.get_ref(), "7d");
    assert_eq!(h.retention.traces.get_ref(), "7d");
    assert!(h.resources.is_empty());
}

#[test]
fn ha_table_parses_every_key() {
    let src = fix_pools(&ha(
        "\n[hub.ha]\nreplicas = 5\nretention = { metrics = \"30d\", logs = \"14d\" }\n\n[hub.ha.resources.mimir]\ncpu = \"4\"\nmemory = \"16Gi\"\n\n[hub.ha.resources.tempo]\nmemory = \"8Gi\"\n",
    ));
    let f = loaded(&src);
    let h = f.hub_mode.ha().expect("ha");
    assert_eq!(h.replicas.as_ref().map(|r| *r.get_ref()), Some(5));
    assert_eq!(h.retention.metrics.get_ref(), "30d");
    assert_eq!(h.retention.logs.get_ref(), "14d");
    assert_eq!(
        h.retention.traces.get_ref(),
        "7d",
        "traces falls back to [stack] retention"
    );
    let mimir = h.resources_for(HaEngine::Mimir).expect("mimir");
    assert_eq!(mimir.cpu.as_ref().map(|c| c.get_ref().as_str()), Some("4"));
    assert_eq!(mimir.memory.as_ref().map(|c| c.get_ref().as_str()), Some("16Gi"));
    assert!(h.resources_for(HaEngine::Loki).is_none());
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(json["hub_mode"]["mode"], "ha");
    assert_eq!(json["hub_mode"]["replicas"], 5);
    assert_eq!(json["hub_mode"]["retention"]["logs"], "14d");
    assert_eq!(json["hub_mode"]["resources"][1]["engine"], "tempo");
}

#[test]
fn unknown_mode_is_an_error_on_its_line() {
    let src = with(HUB, &format!("{HUB}mode = \"cluster\"\n"));
    let e = one_error(&src, "hub.mode", "\"single\" or \"ha\"");
    assert_eq!(e.line, line_of(&src, "mode = \"cluster\""));
}

#[test]
fn ha_table_in_single_mode_is_an_error() {
    let src = fix_pools(&with(HUB, &format!("{HUB}\n[hub.ha]\nreplicas = 3\n")));
    let e = one_error(&src, "hub.ha", "only to mode = \"ha\"");
    assert!(e.message.contains("single (the default)"), "{}", e.message);
}

#[test]
fn explicit_single_with_ha_table_names_it() {
    let src = fix_pools(&with(
        HUB,
        &format!("{HUB}mode = \"single\"\n\n[hub.ha]\nreplicas = 3\n"),
    ));
    let e = one_error(&src, "hub.ha", "\"single\"");
    assert_eq!(e.line, line_of(&src, "[hub.ha]"));
}

#[test]
fn ha_needs_three_hub_nodes_counting_autoscale_min() {
    // BASE's hub pool: count 3, autoscale min 3.
    assert!(errors(&ha("")).is_empty());
    let src = ha("").replace(
        "count = 3, autoscale = { min = 3, max = 5 }",
        "count = 3, autoscale = { min = 2, max = 5 }",
    );
    let e = one_error(&src, "hub.pools", "at least 3 hub nodes");
    assert!(
        e.message.contains("found 2") && e.message.contains("distinct nodes"),
        "{}",
        e.message
    );
    assert_eq!(e.line, line_of(&src, "g6-standard-4"));
    let src = ha("").replace("count = 3, autoscale = { min = 3, max = 5 }", "count = 2");
    one_error(&src, "hub.pools", "found 2");
}

#[test]
fn replicas_below_three_is_an_error() {
    let src = fix_pools(&ha("\n[hub.ha]\nreplicas = 2\n"));
    let e = one_error(&src, "hub.ha.replicas", "at least 3");
    assert_eq!(e.line, line_of(&src, "replicas = 2"));
}

#[test]
fn retention_must_parse_and_be_whole_days() {
    let src = fix_pools(&ha("\n[hub.ha]\nretention = { logs = \"12h\" }\n"));
    one_error(&src, "hub.ha.retention.logs", "at least 1d");
    let src = fix_pools(&ha("\n[hub.ha]\nretention = { traces = \"soon\" }\n"));
    let e = one_error(&src, "hub.ha.retention.traces", "not a duration");
    assert_eq!(e.line, line_of(&src, "traces = \"soon\""));
}

#[test]
fn a_bad_stack_retention_is_reported_once() {
    let src = ha("").replace("retention = \"7d\"", "retention = \"12h\"");
    one_error(&src, "stack.retention", "at least 1d");
}

#[test]
fn unknown_keys_are_errors_with_their_path() {
    let src = fix_pools(&ha("\n[hub.ha]\nreplica = 3\n"));
    let e = one_error(&src, "hub.ha.replica", "unknown key");
    assert!(e.help.as_deref().unwrap_or("").contains("replicas"));
    let src = fix_pools(&ha("\n[hub.ha.resources.prometheus]\ncpu = \"1\"\n"));
    one_error(&src, "hub.ha.resources.prometheus", "unknown key");
    let src = fix_pools(&ha("\n[hub.ha.resources.loki]\ncpus = \"1\"\n"));
    one_error(&src, "hub.ha.resources.loki.cpus", "unknown key");
    let src = fix_pools(&ha("\n[hub.ha]\nretention = { metric = \"1d\" }\n"));
    one_error(&src, "hub.ha.retention.metric", "unknown key");
}

#[test]
fn mode_on_an_edge_is_unknown() {
    let src = with(
        "[edges.us-east]\nregion = \"us-east\"\n",
        "[edges.us-east]\nregion = \"us-east\"\nmode = \"ha\"\n",
    );
    one_error(&src, "edges.us-east.mode", "unknown key");
}

#[test]
fn resource_quantities_are_checked() {
    let src = fix_pools(&ha("\n[hub.ha.resources.mimir]\ncpu = \"four\"\nmemory = \"16GB\"\n"));
    let errs = errors(&src);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!(errs[0].field, "hub.ha.resources.mimir.cpu");
    assert_eq!(errs[0].line, line_of(&src, "cpu = \"four\""));
    assert_eq!(errs[1].field, "hub.ha.resources.mimir.memory");
    let src = fix_pools(&ha("\n[hub.ha.resources.loki]\nmemory = 16\n"));
    one_error(&src, "hub.ha.resources.loki.memory", "must be a string");
}

#[test]
fn quantities_parse_like_kubernetes() {
    assert_eq!(cpu_millis("4"), Ok(4000));
    assert_eq!(cpu_millis("1.5"), Ok(1500));
    assert_eq!(cpu_millis("500m"), Ok(500));
    assert!(cpu_millis("0").is_err());
    assert!(cpu_millis("1.").is_err());
    assert!(cpu_millis("-1").is_err());
    assert_eq!(memory_bytes("16Gi"), Ok(16 << 30));
    assert_eq!(memory_bytes("1.5Gi"), Ok(3 << 29));
    assert_eq!(memory_bytes("2G"), Ok(2_000_000_000));
    assert!(memory_bytes("16").is_err());
    assert!(memory_bytes("1Mi").is_err(), "too small");
    assert!(memory_bytes("GiGi").is_err());
}

/// BASE puts `pools` after `region`: keep `[hub]`'s keys above any `[hub.ha…]` table that `extra` added.
fn fix_pools(src: &str) -> String {
    let pools = "pools = [{ type = \"g6-standard-4\", count = 3, autoscale = { min = 3, max = 5 } }]\n";
    let without = src.replacen(pools, "", 1);
    without.replacen("region = \"us-ord\"\n", &format!("region = \"us-ord\"\n{pools}"), 1)
}
