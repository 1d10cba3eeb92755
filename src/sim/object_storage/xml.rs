//! The little XML the S3 data plane reads and writes: escaping, S3 error bodies, and the request bodies
//! it takes apart (DeleteObjects, versioning and lifecycle configurations).

use super::super::http::Reply;

/// `&`, `<`, `>`, `"` and `'` escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The five predefined entities and numeric references undone.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16).ok().and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The XML document prologue.
pub const PROLOGUE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// An S3 XML answer with `status`.
pub fn reply(status: u16, body: String) -> Reply {
    Reply::new(status).set_body_raw(format!("{PROLOGUE}{body}"), "application/xml")
}

/// An S3 error answer: `<Error><Code>…</Code><Message>…</Message>…</Error>`.
pub fn error(status: u16, code: &str, message: &str, resource: &str) -> Reply {
    reply(
        status,
        format!(
            "<Error><Code>{code}</Code><Message>{}</Message><Resource>{}</Resource><RequestId>tx00000sim-default</RequestId></Error>",
            escape(message),
            escape(resource)
        ),
    )
}

/// The inner text of every `<tag>…</tag>` in `xml`, in order (no nesting of the same tag).
pub fn all<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut found = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        found.push(&after[..end]);
        rest = &after[end + close.len()..];
    }
    found
}

/// The inner text of the first `<tag>…</tag>`.
pub fn first<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    all(xml, tag).into_iter().next()
}

/// The objects a DeleteObjects request names: (key, version id).
pub type Targets = Vec<(String, Option<String>)>;

/// A DeleteObjects request: `Quiet` and the (key, version id) pairs; None when it is not a `<Delete>`.
pub fn delete_request(xml: &str) -> Option<(bool, Targets)> {
    let body = first(xml, "Delete").or_else(|| {
        // `<Delete xmlns="…">` as the SDKs send it.
        let start = xml.find("<Delete ")?;
        let inner = &xml[start..];
        let open_end = inner.find('>')?;
        let close = inner.rfind("</Delete>")?;
        inner.get(open_end + 1..close)
    })?;
    let quiet = first(body, "Quiet").is_some_and(|q| q.trim() == "true");
    let objects = all(body, "Object")
        .into_iter()
        .map(|o| {
            let key = first(o, "Key").map(unescape);
            (key, first(o, "VersionId").map(|v| unescape(v.trim())))
        })
        .collect::<Vec<_>>();
    if objects.iter().any(|(k, _)| k.is_none()) {
        return None;
    }
    Some((
        quiet,
        objects.into_iter().map(|(k, v)| (k.unwrap_or_default(), v)).collect(),
    ))
}

/// One lifecycle rule as the simulator applies it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub prefix: String,
    pub days: Option<u64>,
    pub noncurrent_days: Option<u64>,
    pub expired_marker: bool,
}

/// The enabled rules of a lifecycle configuration.
pub fn lifecycle_rules(xml: &str) -> Vec<Rule> {
    all(xml, "Rule")
        .into_iter()
        .filter(|r| first(r, "Status").map(str::trim) == Some("Enabled"))
        .map(|r| {
            let expiration = first(r, "Expiration").unwrap_or_default();
            Rule {
                prefix: first(r, "Prefix").map(unescape).unwrap_or_default(),
                days: first(expiration, "Days").and_then(|d| d.trim().parse().ok()),
                noncurrent_days: first(r, "NoncurrentVersionExpiration")
                    .and_then(|n| first(n, "NoncurrentDays"))
                    .and_then(|d| d.trim().parse().ok()),
                expired_marker: first(expiration, "ExpiredObjectDeleteMarker").map(str::trim) == Some("true"),
            }
        })
        .collect()
}

/// Whether a lifecycle configuration is well formed enough to store: a `LifecycleConfiguration` with at
/// least one rule, each with a `Status` of `Enabled` or `Disabled` and at least one action.
pub fn lifecycle_ok(xml: &str) -> bool {
    let rules = all(xml, "Rule");
    xml.contains("<LifecycleConfiguration")
        && !rules.is_empty()
        && rules.iter().all(|r| {
            matches!(first(r, "Status").map(str::trim), Some("Enabled" | "Disabled"))
                && [
                    "Expiration",
                    "NoncurrentVersionExpiration",
                    "AbortIncompleteMultipartUpload",
                    "Transition",
                ]
                .iter()
                .any(|a| r.contains(&format!("<{a}>")))
        })
}

/// The `Status` of a `VersioningConfiguration` (`Enabled` or `Suspended`); None when malformed.
pub fn versioning_status(xml: &str) -> Option<&str> {
    if !xml.contains("<VersioningConfiguration") {
        return None;
    }
    first(xml, "Status")
        .map(str::trim)
        .filter(|s| matches!(*s, "Enabled" | "Suspended"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_and_delete_requests_parse() {
        let key = "a&b<c>'\"";
        assert_eq!(unescape(&escape(key)), key);
        let xml = r#"<?xml version="1.0"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet><Object><Key>a&amp;b</Key></Object><Object><Key>c</Key><VersionId>v1</VersionId></Object></Delete>"#;
        let (quiet, objects) = delete_request(xml).expect("parses");
        assert!(quiet);
        assert_eq!(objects, vec![("a&b".into(), None), ("c".into(), Some("v1".into()))]);
        assert!(delete_request("<Nope/>").is_none());
    }

    #[test]
    fn lifecycle_rules_are_read() {
        let xml = "<LifecycleConfiguration><Rule><ID>x</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays></NoncurrentVersionExpiration></Rule><Rule><Status>Disabled</Status><Expiration><Days>9</Days></Expiration></Rule></LifecycleConfiguration>";
        assert!(lifecycle_ok(xml));
        let rules = lifecycle_rules(xml);
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].prefix, "logs/");
        assert_eq!((rules[0].days, rules[0].noncurrent_days), (Some(1), Some(2)));
        assert!(!lifecycle_ok("<LifecycleConfiguration></LifecycleConfiguration>"));
    }
}
