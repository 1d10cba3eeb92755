//! One test per rule for a pool's own node `labels` and `taints` (fleet/node_meta.rs), each naming the line
//! and column of what is wrong.

use super::parse;
use super::tests::{errors, one_error, with};

const POOL: &str = r#"pools = [{ type = "g6-standard-2", count = 2 }]"#;

/// BASE whose us-east pool carries `extra` (e.g. `labels = { ... }`), written on its own line 15.
fn pool_with(extra: &str) -> String {
    with(
        POOL,
        &format!("pools = [\n  {{ type = \"g6-standard-2\", count = 2,\n    {extra} }},\n]"),
    )
}

const FIELD: &str = "edges.us-east.pools[0]";

#[test]
fn labels_and_taints_are_read_with_an_optional_taint_value() {
    let src = pool_with(
        r#"labels = { "example.com/team" = "ml", tier = "gpu" }, taints = [{ key = "nvidia.com/gpu", effect = "NoSchedule" }, { key = "dedicated", value = "ml", effect = "NoExecute" }]"#,
    );
    let loaded = parse("t.toml", &src).expect("valid");
    let pool = &loaded.fleet.edges[0].pools[0];
    let labels: Vec<(&str, &str)> = pool
        .labels
        .iter()
        .map(|l| (l.key.get_ref().as_str(), l.value.get_ref().as_str()))
        .collect();
    assert_eq!(labels, [("example.com/team", "ml"), ("tier", "gpu")]);
    let taints: Vec<(&str, &str, &str)> = pool
        .taints
        .iter()
        .map(|t| {
            (
                t.key.get_ref().as_str(),
                t.value.get_ref().as_str(),
                t.effect.get_ref().as_str(),
            )
        })
        .collect();
    assert_eq!(
        taints,
        [("nvidia.com/gpu", "", "NoSchedule"), ("dedicated", "ml", "NoExecute")]
    );
}

#[test]
fn label_keys_are_kubernetes_qualified_names() {
    for bad in [
        "-team",
        "team-",
        "a b",
        "Example.com/team",
        "example..com/team",
        "/team",
        "example.com/",
    ] {
        let e = one_error(
            &pool_with(&format!("labels = {{ {bad:?} = \"ml\" }}")),
            &format!("{FIELD}.labels.{bad:?}"),
            "not a Kubernetes label key",
        );
        assert_eq!((e.line, e.column), (15, 16), "{bad}: {e:#?}");
    }
}

#[test]
fn label_key_name_part_is_at_most_63_characters() {
    let long = "a".repeat(64);
    one_error(
        &pool_with(&format!("labels = {{ \"example.com/{long}\" = \"x\" }}")),
        &format!("{FIELD}.labels.\"example.com/{long}\""),
        "1–63 characters",
    );
    assert!(
        errors(&pool_with(&format!(
            "labels = {{ \"example.com/{}\" = \"x\" }}",
            "a".repeat(63)
        )))
        .is_empty()
    );
}

#[test]
fn label_key_prefix_is_at_most_253_characters() {
    let prefix = format!("{}.com", "a.".repeat(125)); // 254 characters
    let e = one_error(
        &pool_with(&format!("labels = {{ \"{prefix}/team\" = \"x\" }}")),
        &format!("{FIELD}.labels.\"{prefix}/team\""),
        "at most 253 characters",
    );
    assert_eq!(e.line, 15);
}

#[test]
fn label_values_are_63_safe_characters() {
    for bad in ["-ml", "ml-", "m l", &"a".repeat(64)] {
        let e = one_error(
            &pool_with(&format!("labels = {{ team = {bad:?} }}")),
            &format!("{FIELD}.labels.\"team\""),
            "a label value must be at most 63 characters",
        );
        assert_eq!((e.line, e.column), (15, 23), "{bad}: {e:#?}");
    }
    assert!(errors(&pool_with(r#"labels = { team = "" }"#)).is_empty());
}

#[test]
fn labels_of_lkeobs_and_lke_are_reserved() {
    for key in ["lkeobs.io/gpu", "lke.linode.com/pool-id"] {
        let e = one_error(
            &pool_with(&format!("labels = {{ {key:?} = \"true\" }}")),
            &format!("{FIELD}.labels.{key:?}"),
            "are set by",
        );
        assert_eq!((e.line, e.column), (15, 16));
    }
}

#[test]
fn labels_must_be_a_table_of_strings() {
    one_error(
        &pool_with("labels = [\"team\"]"),
        &format!("{FIELD}.labels"),
        "must be a table of strings",
    );
    let e = one_error(
        &pool_with("labels = { example.com = \"x\" }"),
        &format!("{FIELD}.labels.\"example\""),
        "must be a string, found a table",
    );
    assert!(e.help.as_deref().unwrap_or_default().contains("quote"), "{e:#?}");
}

#[test]
fn taint_keys_are_kubernetes_qualified_names() {
    let e = one_error(
        &pool_with(r#"taints = [{ key = "nvidia.com/", effect = "NoSchedule" }]"#),
        &format!("{FIELD}.taints[0].key"),
        "not a Kubernetes taint key",
    );
    assert_eq!((e.line, e.column), (15, 23));
}

#[test]
fn taint_keys_fit_the_apis_63_characters() {
    let key = format!("example.com/{}", "a".repeat(52)); // 64 characters
    one_error(
        &pool_with(&format!("taints = [{{ key = {key:?}, effect = \"NoSchedule\" }}]")),
        &format!("{FIELD}.taints[0].key"),
        "at most 63",
    );
}

#[test]
fn taint_values_are_63_safe_characters() {
    let e = one_error(
        &pool_with(r#"taints = [{ key = "dedicated", value = "m l", effect = "NoSchedule" }]"#),
        &format!("{FIELD}.taints[0].value"),
        "a taint value must be",
    );
    assert_eq!((e.line, e.column), (15, 44));
}

#[test]
fn taint_effect_is_one_of_the_three() {
    let e = one_error(
        &pool_with(r#"taints = [{ key = "dedicated", effect = "NoScheduling" }]"#),
        &format!("{FIELD}.taints[0].effect"),
        "must be one of NoSchedule, PreferNoSchedule, NoExecute",
    );
    assert_eq!((e.line, e.column), (15, 45));
}

#[test]
fn taints_need_a_key_and_an_effect() {
    one_error(
        &pool_with(r#"taints = [{ key = "dedicated" }]"#),
        &format!("{FIELD}.taints[0].effect"),
        "missing required key `effect`",
    );
    one_error(
        &pool_with(r#"taints = [{ effect = "NoSchedule" }]"#),
        &format!("{FIELD}.taints[0].key"),
        "missing required key `key`",
    );
    one_error(
        &pool_with(r#"taints = [{ key = "dedicated", effect = "NoSchedule", valeu = "x" }]"#),
        &format!("{FIELD}.taints[0].valeu"),
        "unknown key",
    );
}

#[test]
fn a_taint_key_and_effect_appear_once() {
    let e = one_error(
        &pool_with(
            r#"taints = [{ key = "dedicated", effect = "NoSchedule" }, { key = "dedicated", value = "x", effect = "NoSchedule" }]"#,
        ),
        &format!("{FIELD}.taints[1].key"),
        "already has a taint `dedicated` with effect NoSchedule",
    );
    assert_eq!((e.line, e.column), (15, 69));
    assert!(
        errors(&pool_with(
            r#"taints = [{ key = "dedicated", effect = "NoSchedule" }, { key = "dedicated", effect = "NoExecute" }]"#
        ))
        .is_empty()
    );
}

#[test]
fn the_commented_example_in_prod_toml_is_valid() {
    let src = include_str!("../../fleet/prod.toml");
    let example = src
        .lines()
        .find(|l| l.trim_start().starts_with("# {") && l.contains("taints"))
        .expect("prod.toml shows a pool with labels and taints");
    let pool = example.trim_start().trim_start_matches("# ");
    let gpu = src
        .lines()
        .find(|l| l.contains("{ type = \"g2-gpu-rtx4000a1-s\"") && !l.trim_start().starts_with('#'))
        .expect("the GPU pool line");
    let uncommented = src.replacen(gpu, &format!("  {pool}"), 1);
    let loaded = parse("prod.toml", &uncommented).expect("the example is valid");
    let pools = loaded.fleet.clusters().flat_map(|c| c.pools.iter());
    let with_meta = pools.filter(|p| !p.labels.is_empty() && !p.taints.is_empty()).count();
    assert_eq!(with_meta, 1);
}
