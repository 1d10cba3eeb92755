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
    /// The same as data, for JSON reports.
    api: std::sync::Arc<std::sync::OnceLock<LinodeApi>>,
}

/// Which Linode API a run talked to, as JSON reports carry it: `{"kind": "real"|"simulated"|"other", "url": …}`.
#[derive(Debug, Clone, Serialize)]
pub struct LinodeApi {
    pub kind: &'static str,
    pub url: String,
}

/// Every JSON report: `linode_api` first when the run had a client, then the report's own fields in
/// their order.
#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    #[serde(skip_serializing_if = "Option::is_none")]
    linode_api: Option<&'a LinodeApi>,
    #[serde(flatten)]
    report: &'a T,
}

fn envelope<'a, T: Serialize>(report: &'a T, api: Option<&'a LinodeApi>) -> Envelope<'a, T> {
    Envelope {
        linode_api: api,
        report,
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
    pub fn set_api(&self, kind: &'static str, url: &str) {
        let _ = self.api.set(LinodeApi {
            kind,
            url: url.to_string(),
        });
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
        let text = serde_json::to_string_pretty(&envelope(value, self.api.get()))
            .unwrap_or_else(|e| format!("{{\"error\":\"cannot serialize report: {e}\"}}"));
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
    fn the_api_goes_first_and_the_report_keeps_its_order() {
        #[derive(Serialize)]
        struct Report {
            ok: bool,
            changes: u32,
        }
        let report = Report { ok: true, changes: 2 };
        let api = LinodeApi {
            kind: "simulated",
            url: "http://127.0.0.1:1/v4".into(),
        };
        let text = serde_json::to_string_pretty(&envelope(&report, Some(&api))).unwrap();
        assert!(
            text.starts_with("{\n  \"linode_api\": {\n    \"kind\": \"simulated\""),
            "{text}"
        );
        assert!(text.find("\"ok\"") < text.find("\"changes\""), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (v["linode_api"]["kind"].as_str(), v["ok"].as_bool()),
            (Some("simulated"), Some(true))
        );
        let alone = serde_json::to_string_pretty(&envelope(&report, None)).unwrap();
        assert_eq!(alone, serde_json::to_string_pretty(&report).unwrap());
    }
}
