//! Every key of the `ha` hub's Loki and Tempo configs is one the pinned release documents: the key lists in
//! tests/fixtures/engines/ come from each engine's reference at its tag (scripts/engine-config-keys).

use crate::tooling;

use std::collections::BTreeSet;

use serde_yaml_ng::Value;
use tooling::{fleet, render_docs, root};

/// The documented paths (`a.b.c`) and open subtrees (`a.b.*`) of a fixture.
fn known(file: &str) -> (BTreeSet<String>, Vec<String>) {
    let text = std::fs::read_to_string(root().join("tests/fixtures/engines").join(file)).expect("fixture");
    let mut exact = BTreeSet::new();
    let mut open = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        match line.strip_suffix(".*") {
            Some(prefix) => open.push(format!("{prefix}.")),
            None => {
                exact.insert(line.to_string());
            }
        }
    }
    (exact, open)
}

/// Every key path of a YAML document (list items add no segment).
fn paths(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Mapping(m) => {
            for (k, x) in m {
                let key = k.as_str().unwrap_or_default();
                let path = format!("{prefix}{key}");
                out.push(path.clone());
                paths(x, &format!("{path}."), out);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|x| paths(x, prefix, out)),
        _ => {}
    }
}

/// The paths of `config` no fixture line admits.
fn unknown(config: &str, fixture: &str) -> Vec<String> {
    let (exact, open) = known(fixture);
    let doc: Value = serde_yaml_ng::from_str(config).expect("engine config parses");
    let mut all = Vec::new();
    paths(&doc, "", &mut all);
    assert!(all.len() > 20, "too few keys walked");
    all.into_iter()
        .filter(|p| !exact.contains(p) && !open.iter().any(|o| p.starts_with(o)))
        .collect()
}

fn config_of(cm: &str, key: &str) -> String {
    let docs = render_docs(&std::fs::read_to_string(fleet("ha")).unwrap(), "hub");
    docs.iter()
        .find(|v| v["kind"] == "ConfigMap" && v["metadata"]["name"] == cm)
        .and_then(|v| v["data"][key].as_str())
        .unwrap_or_else(|| panic!("no {cm}/{key}"))
        .to_string()
}

#[test]
fn loki_config_uses_only_keys_documented_for_3_7_6() {
    let bad = unknown(&config_of("loki", "config.yaml"), "loki-3.7.6.keys");
    assert!(bad.is_empty(), "keys Loki 3.7.6 does not document: {bad:?}");
}

#[test]
fn tempo_config_uses_only_keys_documented_for_2_10_8() {
    let bad = unknown(&config_of("tempo", "tempo.yaml"), "tempo-2.10.8.keys");
    assert!(bad.is_empty(), "keys Tempo 2.10.8 does not document: {bad:?}");
}

#[test]
fn a_bogus_key_is_caught() {
    let cfg = config_of("loki", "config.yaml").replace("compactor:\n", "compactor:\n  retention_enable: true\n");
    assert_eq!(unknown(&cfg, "loki-3.7.6.keys"), ["compactor.retention_enable"]);
    let cfg = config_of("tempo", "tempo.yaml").replace("ingester:\n", "ingester:\n  replication_factor: 3\n");
    assert_eq!(unknown(&cfg, "tempo-2.10.8.keys"), ["ingester.replication_factor"]);
}

/// Mimir's list is from the stored snapshot nearest the pinned 3.1.3 (main after 3.1.1; see the fixture's
/// header): it admits about a dozen keys newer than 3.1, and still catches every typo and removed option.
#[test]
fn mimir_config_uses_only_keys_its_descriptor_documents() {
    let cfg = config_of("mimir", "mimir.yaml");
    let bad = unknown(&cfg, "mimir-main-9078d07e.keys");
    assert!(bad.is_empty(), "keys Mimir does not document: {bad:?}");
    let bogus = cfg.replace("limits:\n", "limits:\n  ingestion_rate_limit: 1\n");
    assert_eq!(
        unknown(&bogus, "mimir-main-9078d07e.keys"),
        ["limits.ingestion_rate_limit"]
    );
}
