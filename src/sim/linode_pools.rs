//! The Linode fake's checks of a pool's Kubernetes `labels` and `taints`, as the API refuses them
//! (spec 4.189 `node_pools[]`): labels a map of qualified-name keys to strings of at most 63
//! characters; taints a list of `{key, value, effect}` with effect `NoSchedule`, `PreferNoSchedule`
//! or `NoExecute`. Written apart from lkeobs' own validation so the two cannot agree by construction.

use serde_json::Value;

use super::Invalid;

const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most `max` characters.
fn segment(s: &str, max: usize) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    !s.is_empty()
        && s.len() <= max
        && s.chars().all(ok_char)
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// A Kubernetes qualified name: `[prefix/]name`, the prefix a DNS subdomain of at most 253 characters.
fn qualified(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => {
            prefix.len() <= 253
                && prefix
                    .split('.')
                    .all(|l| segment(l, 63) && !l.contains(['_', '.']) && l.chars().all(|c| !c.is_ascii_uppercase()))
                && segment(name, 63)
        }
        None => segment(key, 63),
    }
}

fn value_ok(v: &str) -> bool {
    v.is_empty() || segment(v, 63)
}

/// Checks the `labels` and `taints` of a pool create or update body (absent fields pass).
pub(super) fn check(spec: &Value) -> Result<(), Invalid> {
    match &spec["labels"] {
        Value::Null => {}
        Value::Object(map) => {
            for (k, v) in map {
                if !qualified(k) {
                    return Err(Invalid("labels", "Label keys must be valid Kubernetes label keys"));
                }
                if !v.as_str().is_some_and(value_ok) {
                    return Err(Invalid(
                        "labels",
                        "Label values must be strings of at most 63 alphanumeric characters, '-', '_' or '.'",
                    ));
                }
            }
        }
        _ => return Err(Invalid("labels", "Must be an object")),
    }
    match &spec["taints"] {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for t in items {
                let Some(obj) = t.as_object() else {
                    return Err(Invalid("taints", "Each taint must be an object"));
                };
                if obj.keys().any(|k| !matches!(k.as_str(), "key" | "value" | "effect")) {
                    return Err(Invalid("taints", "Taints take only key, value and effect"));
                }
                // The spec gives the whole key at most 63 characters.
                if !t["key"].as_str().is_some_and(|k| k.len() <= 63 && qualified(k)) {
                    return Err(Invalid("taints.key", "Taint keys must be valid Kubernetes taint keys"));
                }
                if !t["value"].as_str().is_some_and(value_ok) {
                    return Err(Invalid(
                        "taints.value",
                        "Taint values must be valid Kubernetes taint values",
                    ));
                }
                if !t["effect"].as_str().is_some_and(|e| EFFECTS.contains(&e)) {
                    return Err(Invalid(
                        "taints.effect",
                        "Must be one of NoSchedule, PreferNoSchedule, NoExecute",
                    ));
                }
            }
            Ok(())
        }
        _ => Err(Invalid("taints", "Must be an array")),
    }
}
