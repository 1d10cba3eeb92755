//! stdout carries only the final report (text or one JSON document); notes, warnings and errors go to stderr.

use std::io::{IsTerminal, Write};

use serde::Serialize;

/// How the final report is written (`--output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// Decides where and how things are printed.
#[derive(Debug, Clone)]
pub struct Printer {
    pub format: Format,
    color: bool,
    /// Which Linode API the run talks to, once it has a client (`Linode API: real (…)`).
    api_line: std::sync::Arc<std::sync::OnceLock<String>>,
    /// The same as data, for JSON reports: `{"kind": "real"|"simulated"|"other", "url": …}`.
    api: std::sync::Arc<std::sync::OnceLock<serde_json::Value>>,
}

/// A pretty-printed JSON object with `linode_api` put first (the report's own fields keep their order):
/// an online command's report says first which Linode API it talked to.
fn with_api(text: String, api: Option<&serde_json::Value>) -> String {
    match (api, text.strip_prefix("{\n")) {
        (Some(api), Some(rest)) => {
            let api = serde_json::to_string_pretty(api)
                .unwrap_or_default()
                .replace('\n', "\n  ");
            format!("{{\n  \"linode_api\": {api},\n{rest}")
        }
        _ => text,
    }
}

impl Printer {
    /// `no_color` is the flag; `NO_COLOR` (non-empty) and a non-terminal stderr also turn colour off.
    pub fn new(format: Format, no_color: bool, no_color_env: bool) -> Self {
        let color = !no_color && !no_color_env && std::io::stderr().is_terminal();
        Printer {
            format,
            color,
            api_line: Default::default(),
            api: Default::default(),
        }
    }

    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Records which Linode API the run talks to (the first call wins).
    pub fn set_api_line(&self, line: String) {
        let _ = self.api_line.set(line);
    }

    /// Which Linode API the run talks to, for JSON reports (`linode_api`).
    pub fn set_api(&self, kind: &str, url: &str) {
        let _ = self.api.set(serde_json::json!({"kind": kind, "url": url}));
    }

    /// Which Linode API the run talks to, once it has a client.
    pub fn api_line(&self) -> Option<&str> {
        self.api_line.get().map(String::as_str)
    }

    /// The final report, text form (only in text mode).
    pub fn report(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// The final report, JSON form: one document on stdout.
    pub fn report_json<T: Serialize>(&self, value: &T) {
        let text = serde_json::to_string_pretty(value)
            .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialize report: {e}\"}}"));
        let text = with_api(text, self.api.get());
        self.report(&format!("{text}\n"));
    }

    /// A note for a person, on stderr.
    pub fn note(&self, text: &str) {
        eprintln!("{} {text}", self.paint("1;36", "note:"));
    }

    /// A warning, on stderr.
    pub fn warn(&self, text: &str) {
        eprintln!("{} {text}", self.paint("1;33", "warning:"));
    }

    /// An error already formatted (possibly several lines); `error:` prefixes are coloured.
    pub fn error_block(&self, text: &str) {
        let painted = if self.color {
            text.replace("error:", &self.paint("1;31", "error:"))
                .replace("= help:", &self.paint("1;32", "= help:"))
        } else {
            text.to_string()
        };
        eprint!("{painted}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_goes_first_and_the_report_stays_valid_json_in_its_order() {
        let report = serde_json::to_string_pretty(&serde_json::json!({"ok": true})).unwrap();
        let api = serde_json::json!({"kind": "simulated", "url": "http://127.0.0.1:1/v4"});
        let text = with_api(report.clone(), Some(&api));
        assert!(text.starts_with("{\n  \"linode_api\": {\n    \"kind\""), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (v["linode_api"]["kind"].as_str(), v["ok"].as_bool()),
            (Some("simulated"), Some(true))
        );
        assert_eq!(with_api(report.clone(), None), report);
        assert_eq!(with_api("[]".into(), Some(&api)), "[]");
    }
}
