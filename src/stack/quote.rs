//! How a template value becomes YAML: every string is written as one JSON-quoted scalar, so no
//! value (a fleet's, or one found on the platform) can end its scalar, its line or its document.
//!
//! JSON strings are valid YAML flow scalars; this quoting also escapes what YAML 1.1 parsers
//! (libyaml, go-yaml) take for a line break or reject (NEL, LS, PS, C1 controls, BOM).
//! Text lkeobs composes itself from already-quoted parts is marked safe and written as is: a
//! captured `{% set x %}…{% endset %}` block (the auto-escape mode makes captures safe, and the
//! `indent` filter keeps them so), and the output of `labels(…)`, `selector(…)`, `tojson` and `quote`.

use std::fmt::Write as _;

use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Error, ErrorKind, Output, State, Value};

/// The auto-escape mode of every template: custom, so captured blocks are safe strings, with
/// [`format`] deciding how values are written.
pub fn auto_escape(_name: &str) -> AutoEscape {
    AutoEscape::Custom("yaml".into())
}

/// `s` as a double-quoted scalar that is valid JSON and YAML, on one line.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Characters outside YAML's printable set, or line breaks to YAML 1.1 (all below U+10000).
fn needs_escape(c: char) -> bool {
    let u = u32::from(c);
    u < 0x20 || (0x7f..=0x9f).contains(&u) || matches!(u, 0x2028 | 0x2029 | 0xfeff | 0xfffe | 0xffff)
}

/// The formatter of `{{ … }}`: safe text as is, strings quoted, numbers and booleans plain;
/// anything else is a template bug (a list or map must go through `tojson`).
pub fn format(out: &mut Output, _state: &mut State, value: &Value) -> Result<(), Error> {
    let text = match value.kind() {
        ValueKind::String if value.is_safe() => value.as_str().unwrap_or_default().to_string(),
        ValueKind::String => quote(value.as_str().unwrap_or_default()),
        ValueKind::Number | ValueKind::Bool => value.to_string(),
        kind => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("a template writes a {kind} value; only strings, numbers and booleans are written"),
            ));
        }
    };
    out.write_str(&text).map_err(Error::from)
}

/// `{{ x | quote }}`: any value's text (a safe string's too) as one quoted scalar, e.g. the JSON
/// of `acl | tojson` as an annotation value.
pub fn quote_filter(value: &Value) -> Value {
    let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
    Value::from_safe_string(quote(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings_parse_back_to_themselves_as_one_scalar() {
        for s in [
            "plain",
            "a\"b",
            "x\r---\rkind: Namespace",
            "x\n---\n",
            "tab\there",
            "nul\u{0}del\u{7f}nel\u{85}ls\u{2028}ps\u{2029}bom\u{feff}",
            "back\\slash",
            "{ } [ ] # : & * ! % @ `",
            "日本語 🚀",
        ] {
            let q = quote(s);
            assert!(!q.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']), "{q}");
            let yaml: String = serde_yaml_ng::from_str(&format!("key: {q}"))
                .map(|m: std::collections::BTreeMap<String, String>| m["key"].clone())
                .unwrap_or_else(|e| panic!("{q}: {e}"));
            assert_eq!(yaml, s);
            let json: String = serde_json::from_str(&q).unwrap_or_else(|e| panic!("{q}: {e}"));
            assert_eq!(json, s);
        }
    }

    #[test]
    fn strings_are_quoted_and_safe_text_is_not() {
        let mut env = minijinja::Environment::new();
        env.set_auto_escape_callback(auto_escape);
        env.set_formatter(format);
        env.add_filter("quote", quote_filter);
        let render = |src: &str| env.render_str(src, minijinja::context! { v => "a\"\rb", n => 3, m => [1] });
        assert_eq!(render("{{ v }}").unwrap(), r#""a\"\rb""#);
        assert_eq!(render("{{ n }}h").unwrap(), "3h");
        assert_eq!(render("{{ \"x=\" ~ v }}").unwrap(), r#""x=a\"\rb""#);
        assert_eq!(
            render("{% set b %}k: {{ v }}{% endset %}{{ b }}").unwrap(),
            r#"k: "a\"\rb""#
        );
        assert_eq!(
            render("{% set b %}k: {{ v }}{% endset %}{{ b | indent(2) }}").unwrap(),
            r#"k: "a\"\rb""#
        );
        assert_eq!(render("{{ m | tojson | quote }}").unwrap(), r#""[1]""#);
        assert!(render("{{ m }}").is_err());
    }
}
