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
}

impl Printer {
    /// `no_color` is the flag; `NO_COLOR` (non-empty) and a non-terminal stderr also turn colour off.
    pub fn new(format: Format, no_color: bool, no_color_env: bool) -> Self {
        let color = !no_color && !no_color_env && std::io::stderr().is_terminal();
        Printer {
            format,
            color,
            api_line: Default::default(),
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
