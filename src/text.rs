//! Text that reaches a terminal or a CI log safely: control characters (escape sequences, line breaks that
//! could start a `::workflow-command`) shown as visible escapes, never written raw.

use std::borrow::Cow;

/// Whether a terminal or a CI log could act on `c`: every Unicode control character and the line and
/// paragraph separators.
pub fn is_control(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// `s` with each control character written as a visible escape (`\n`, `\t`, `\u{1b}`), unchanged when it
/// has none.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_control(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(escape_controls("plain"), "plain");
        assert_eq!(escape_controls("a\n::warning::x"), "a\\n::warning::x");
        assert_eq!(escape_controls("\u{1b}]0;x\u{7}"), "\\u{1b}]0;x\\u{7}");
        assert_eq!(escape_controls("tab\there\u{2028}"), "tab\\there\\u{2028}");
        assert!(!escape_controls("\u{9b}31m").chars().any(is_control));
    }
}
