//! The rules for a pool's own node `labels` and `taints`: Kubernetes key and value syntax, the three taint
//! effects the Linode API takes, no duplicate taint, and no label in the prefixes lkeobs and LKE set.

use std::collections::BTreeSet;

use super::diag::Diag;
use super::spec::{Pool, Spanned};

/// The taint effects the Linode API (and Kubernetes) accept.
pub const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
/// Label prefixes set by others: lkeobs (`lkeobs.io/gpu`) and LKE (`lke.linode.com/pool-id`).
pub const RESERVED_LABEL_PREFIXES: [&str; 2] = ["lkeobs.io/", "lke.linode.com/"];
/// The Linode API takes a taint key of at most 63 characters, DNS prefix included (spec 4.189).
pub const TAINT_KEY_MAX: usize = 63;

/// `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?` of at most 63 characters: a label value (when not empty)
/// and the name part of a key.
pub fn is_label_value(s: &str) -> bool {
    s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.bytes().next().is_none_or(|b| b.is_ascii_alphanumeric())
        && s.bytes().last().is_none_or(|b| b.is_ascii_alphanumeric())
}

/// An RFC 1123 DNS subdomain of at most 253 characters (`example.com`).
fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Why `key` is not a Kubernetes qualified name (`[prefix/]name`), or `None` when it is one.
pub fn qualified_name_problem(key: &str) -> Option<&'static str> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if prefix.is_some_and(|p| !is_dns_subdomain(p)) {
        return Some(
            "the prefix before `/` must be a DNS subdomain (lower-case a-z, 0-9, '-' and '.') of at most 253 characters",
        );
    }
    if name.is_empty() || !is_label_value(name) {
        return Some(
            "the name must be 1–63 characters of a-z, A-Z, 0-9, '-', '_' or '.', starting and ending with a letter or digit",
        );
    }
    None
}

const VALUE_RULE: &str =
    "must be at most 63 characters of a-z, A-Z, 0-9, '-', '_' or '.', starting and ending with a letter or digit";

fn show(s: &Spanned<String>) -> String {
    format!("{:?}", s.get_ref())
}

/// Checks the pool's labels and taints; `field` is the pool's path (`edges.eu.pools[1]`).
pub fn check(field: &str, p: &Pool, d: &mut Vec<Diag>) {
    for l in &p.labels {
        let key = l.key.get_ref();
        let at = format!("{field}.labels.{key:?}");
        if let Some(why) = qualified_name_problem(key) {
            d.push(Diag::new(l.key.span(), at, format!("not a Kubernetes label key: {why}")).value(show(&l.key)));
        } else if let Some(prefix) = RESERVED_LABEL_PREFIXES.iter().find(|p| key.starts_with(**p)) {
            let who = if prefix.starts_with("lkeobs") { "lkeobs" } else { "LKE" };
            d.push(
                Diag::new(
                    l.key.span(),
                    at,
                    format!("labels under `{prefix}` are set by {who}, not by the fleet file"),
                )
                .value(show(&l.key))
                .help("use a prefix of your own, like example.com/team"),
            );
        } else if !is_label_value(l.value.get_ref()) {
            d.push(Diag::new(l.value.span(), at, format!("a label value {VALUE_RULE}")).value(show(&l.value)));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, t) in p.taints.iter().enumerate() {
        let at = format!("{field}.taints[{i}]");
        let key = t.key.get_ref();
        if let Some(why) = qualified_name_problem(key) {
            d.push(
                Diag::new(
                    t.key.span(),
                    format!("{at}.key"),
                    format!("not a Kubernetes taint key: {why}"),
                )
                .value(show(&t.key)),
            );
        } else if key.len() > TAINT_KEY_MAX {
            d.push(
                Diag::new(
                    t.key.span(),
                    format!("{at}.key"),
                    format!(
                        "too long ({} characters): the Linode API takes taint keys of at most {TAINT_KEY_MAX}, prefix included",
                        key.len()
                    ),
                )
                .value(show(&t.key)),
            );
        }
        if !is_label_value(t.value.get_ref()) {
            d.push(
                Diag::new(
                    t.value.span(),
                    format!("{at}.value"),
                    format!("a taint value {VALUE_RULE}"),
                )
                .value(show(&t.value)),
            );
        }
        let effect = t.effect.get_ref();
        if !TAINT_EFFECTS.contains(&effect.as_str()) {
            d.push(
                Diag::new(
                    t.effect.span(),
                    format!("{at}.effect"),
                    format!("must be one of {}", TAINT_EFFECTS.join(", ")),
                )
                .value(show(&t.effect)),
            );
        } else if !seen.insert((key.clone(), effect.clone())) {
            d.push(
                Diag::new(
                    t.key.span(),
                    format!("{at}.key"),
                    format!("the pool already has a taint `{key}` with effect {effect}"),
                )
                .value(show(&t.key))
                .help("Kubernetes keeps one taint per key and effect: remove one of them"),
            );
        }
    }
}
