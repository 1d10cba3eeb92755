//! Fleet-file diagnostics: an error with a byte span, rendered like a compiler's (file:line:col, the line, a caret).

use std::ops::Range;

use serde::Serialize;

/// What sort of problem a diagnostic is (what tools and `--output json` match on, never the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A key the fleet file does not know (a typo, or a key of another table).
    UnknownKey,
    /// A required key is missing.
    MissingKey,
    /// A value of the wrong type (a number where a string is expected, …).
    WrongType,
    /// A value of the right type that breaks a rule (a range, a format, a reference, a combination).
    #[default]
    Invalid,
}

/// One problem found in a fleet file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diag {
    /// What sort of problem it is.
    pub kind: Kind,
    /// Byte range in the source the problem points at.
    pub span: Range<usize>,
    /// Dotted path of the offending key, e.g. `edges.us-east.pools[0].count`.
    pub field: String,
    /// The offending value as written (empty when the key is missing).
    pub value: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when we can tell.
    pub help: Option<String>,
    /// The source line may hold a secret: never print it.
    pub redact: bool,
}

impl Diag {
    pub fn new(span: Range<usize>, field: impl Into<String>, message: impl Into<String>) -> Self {
        Diag {
            kind: Kind::Invalid,
            span,
            field: field.into(),
            value: String::new(),
            message: message.into(),
            help: None,
            redact: false,
        }
    }

    /// Sets what sort of problem it is (the default is [`Kind::Invalid`]).
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    /// Marks the line as possibly holding a secret, so it is never echoed.
    pub fn redacted(mut self) -> Self {
        self.redact = true;
        self
    }

    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = value.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// A diagnostic resolved against its source: what `--output json` shows.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Located {
    pub kind: Kind,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub value: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip)]
    source_line: String,
    #[serde(skip)]
    caret_len: usize,
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = src.get(..offset).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

impl Located {
    pub fn resolve(file: &str, src: &str, diag: &Diag) -> Located {
        let (line, column) = line_col(src, diag.span.start);
        let source_line = if diag.redact {
            String::new()
        } else {
            src.lines().nth(line - 1).unwrap_or("").to_string()
        };
        let span_text = src.get(diag.span.clone()).unwrap_or("");
        let first_line_of_span = span_text.lines().next().unwrap_or("");
        let caret_len = first_line_of_span.chars().count().max(1);
        // Keys, values and source lines come from the file: none reaches a terminal or a CI log raw.
        let safe = |s: &str| crate::text::escape_controls(s).into_owned();
        Located {
            kind: diag.kind,
            file: safe(file),
            line,
            column,
            field: safe(&diag.field),
            value: safe(&diag.value),
            message: safe(&diag.message),
            help: diag.help.as_deref().map(safe),
            source_line: safe(&source_line),
            caret_len,
        }
    }

    /// Renders the diagnostic for a terminal (no colour: callers add it).
    pub fn render(&self) -> String {
        let gutter = self.line.to_string().len();
        let pad = " ".repeat(gutter);
        let mut head = format!("error: {}:{}:{}: ", self.file, self.line, self.column);
        if !self.field.is_empty() {
            head.push_str(&self.field);
            if !self.value.is_empty() {
                head.push_str(" = ");
                head.push_str(&self.value);
            }
            head.push_str(": ");
        }
        head.push_str(&self.message);
        if self.source_line.is_empty() {
            let mut out = format!("{head}\n");
            if let Some(help) = &self.help {
                out.push_str(&format!("{pad} = help: {help}\n"));
            }
            return out;
        }
        let indent = self
            .source_line
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect::<String>();
        let available = self.source_line.chars().count().saturating_sub(self.column - 1);
        let carets = "^".repeat(self.caret_len.min(available.max(1)));
        let mut out = format!(
            "{head}\n{pad} |\n{} | {}\n{pad} | {indent}{carets}\n",
            self.line, self.source_line
        );
        if let Some(help) = &self.help {
            out.push_str(&format!("{pad} = help: {help}\n"));
        }
        out
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    let close = candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    // A prefix of a longer name (`splunk` for `splunk_hec`) is a likely shorthand.
    close.or_else(|| {
        candidates
            .iter()
            .find(|c| word.chars().count() >= 3 && (c.starts_with(word) || word.starts_with(**c)))
            .copied()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let src = "a = 1\nbb = 2\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        assert_eq!(line_col(src, 11), (2, 6));
    }

    #[test]
    fn renders_file_line_col_value_and_caret() {
        let src = "[hub]\nregoin = \"us-ord\"\n";
        let d = Diag::new(6..12, "hub.regoin", "unknown key")
            .value("\"us-ord\"")
            .help("did you mean `region`?");
        let text = Located::resolve("f.toml", src, &d).render();
        assert!(text.starts_with("error: f.toml:2:1: hub.regoin = \"us-ord\": unknown key\n"));
        assert!(text.contains("2 | regoin = \"us-ord\"\n  | ^^^^^^\n"));
        assert!(text.contains("= help: did you mean `region`?"));
    }

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(did_you_mean("regoin", &["region", "pools"]), Some("region"));
        assert_eq!(did_you_mean("zzzzzz", &["region", "pools"]), None);
        assert_eq!(did_you_mean("splunk", &["splunk_hec", "datadog"]), Some("splunk_hec"));
    }
}
