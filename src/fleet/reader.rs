//! A span-keeping reader over a parsed TOML table: typed getters (serde for leaves) that collect every error and flag unknown keys.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::diag::{Diag, Kind, did_you_mean};
use super::spec::{Spanned, spanned};

/// Reads one table, remembering which keys were asked for so the rest can be reported as unknown.
pub struct Table<'s, 'i> {
    src: &'s str,
    path: String,
    span: Range<usize>,
    table: &'s DeTable<'i>,
    known: Vec<&'static str>,
}

/// The source text of a span, shortened for messages.
pub fn snippet(src: &str, span: &Range<usize>) -> String {
    let text = src.get(span.clone()).unwrap_or("").trim();
    let first = text.lines().next().unwrap_or("");
    if first.chars().count() > 60 || text.contains('\n') {
        let short: String = first.chars().take(57).collect();
        format!("{short}...")
    } else {
        first.to_string()
    }
}

/// "`field` must be `expected`, found `<kind>`", quoting the value at `span`.
fn wrong_type(src: &str, span: Range<usize>, field: impl Into<String>, expected: &str, found: &DeValue<'_>) -> Diag {
    Diag::new(
        span.clone(),
        field,
        format!("must be {expected}, found {}", kind_name(found)),
    )
    .value(snippet(src, &span))
}

fn kind_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl<'s, 'i> Table<'s, 'i> {
    pub fn new(src: &'s str, path: String, span: Range<usize>, table: &'s DeTable<'i>) -> Self {
        Table {
            src,
            path,
            span,
            table,
            known: Vec::new(),
        }
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The dotted path of a key of this table.
    pub fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn raw(&mut self, key: &'static str) -> Option<&'s toml::Spanned<DeValue<'i>>> {
        self.known.push(key);
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v)
    }

    /// The span of a key's value, if the key is present (does not mark the key as read).
    pub fn value_span(&self, key: &str) -> Option<Range<usize>> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref().as_ref() == key)
            .map(|(_, v)| v.span())
    }

    /// A leaf value deserialized with serde; `what` names the expected type for the error.
    pub fn get<T: DeserializeOwned>(
        &mut self,
        key: &'static str,
        what: &str,
        diags: &mut Vec<Diag>,
    ) -> Option<Spanned<T>> {
        let value = self.raw(key)?;
        let span = value.span();
        match T::deserialize(ValueDeserializer::from(value.clone())) {
            Ok(v) => Some(spanned(span, v)),
            Err(_) => {
                let found = kind_name(value.get_ref());
                let text = snippet(self.src, &span);
                let mut d = Diag::new(span.clone(), self.field(key), format!("must be {what}, found {found}"))
                    .kind(Kind::WrongType)
                    .value(text.clone());
                if what.starts_with("a string") && matches!(value.get_ref(), DeValue::Integer(_) | DeValue::Float(_)) {
                    d = d.help(format!("quote it: {key} = \"{text}\""));
                }
                diags.push(d);
                None
            }
        }
    }

    /// Like [`Table::get`], but reports a missing key.
    pub fn require<T: DeserializeOwned>(
        &mut self,
        key: &'static str,
        what: &str,
        diags: &mut Vec<Diag>,
    ) -> Option<Spanned<T>> {
        let present = self.table.iter().any(|(k, _)| k.get_ref().as_ref() == key);
        if !present {
            self.known.push(key);
            diags.push(
                Diag::new(
                    self.span.clone(),
                    self.field(key),
                    format!("missing required key `{key}`"),
                )
                .kind(Kind::MissingKey)
                .help(format!("add `{key} = ...` ({what})")),
            );
            return None;
        }
        self.get(key, what, diags)
    }

    /// A list of strings, each keeping its own span.
    pub fn strings(&mut self, key: &'static str, diags: &mut Vec<Diag>) -> Vec<Spanned<String>> {
        let Some(items) = self.array(key, diags) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::String(s) => out.push(spanned(item.span(), s.to_string())),
                other => diags.push(wrong_type(
                    self.src,
                    item.span(),
                    format!("{}[{i}]", self.field(key)),
                    "a string",
                    other,
                )),
            }
        }
        out
    }

    /// A table of user-chosen keys to strings (`labels = { "team" = "ml" }`), each key and value with its span.
    pub fn string_map(&mut self, key: &'static str, diags: &mut Vec<Diag>) -> Vec<(Spanned<String>, Spanned<String>)> {
        let Some(value) = self.raw(key) else {
            return Vec::new();
        };
        let DeValue::Table(map) = value.get_ref() else {
            diags.push(
                wrong_type(
                    self.src,
                    value.span(),
                    self.field(key),
                    "a table of strings",
                    value.get_ref(),
                )
                .help(format!("write {key} = {{ \"example.com/team\" = \"ml\" }}")),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in map.iter() {
            let name = k.get_ref().to_string();
            match v.get_ref() {
                DeValue::String(s) => out.push((spanned(k.span(), name), spanned(v.span(), s.to_string()))),
                other => {
                    // The key's position, the value quoted.
                    let field = format!("{}.{name:?}", self.field(key));
                    let mut d = wrong_type(self.src, v.span(), field, "a string", other);
                    d.span = k.span();
                    if matches!(other, DeValue::Table(_)) {
                        // `a.b = "x"` is a dotted key: a nested table, not the key `a.b`.
                        d = d.help(format!("quote a key holding dots or a slash: \"{name}.…\" = \"...\""));
                    }
                    diags.push(d);
                }
            }
        }
        out
    }

    /// An array's items.
    pub fn array(&mut self, key: &'static str, diags: &mut Vec<Diag>) -> Option<Vec<&'s toml::Spanned<DeValue<'i>>>> {
        let value = self.raw(key)?;
        match value.get_ref() {
            DeValue::Array(items) => Some(items.iter().collect()),
            other => {
                diags.push(wrong_type(self.src, value.span(), self.field(key), "an array", other));
                None
            }
        }
    }

    /// A sub-table (`[a.b]` or an inline table), as a reader of its own.
    pub fn table(&mut self, key: &'static str, diags: &mut Vec<Diag>) -> Option<Table<'s, 'i>> {
        let value = self.raw(key)?;
        let path = self.field(key);
        Self::as_table(self.src, path, value, diags)
    }

    /// Every entry of a table whose keys are names chosen by the user (`[edges.<name>]`).
    pub fn entries(&mut self, key: &'static str, diags: &mut Vec<Diag>) -> Vec<(Spanned<String>, Table<'s, 'i>)> {
        let Some(value) = self.raw(key) else {
            return Vec::new();
        };
        let DeValue::Table(map) = value.get_ref() else {
            diags.push(wrong_type(
                self.src,
                value.span(),
                self.field(key),
                "a table",
                value.get_ref(),
            ));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, entry) in map.iter() {
            let path = format!("{}.{}", self.field(key), name.get_ref());
            if let Some(t) = Self::as_table(self.src, path, entry, diags) {
                out.push((spanned(name.span(), name.get_ref().to_string()), t));
            }
        }
        out
    }

    /// Views an array item or value as a table, reporting it when it is not one.
    pub fn as_table(
        src: &'s str,
        path: String,
        value: &'s toml::Spanned<DeValue<'i>>,
        diags: &mut Vec<Diag>,
    ) -> Option<Table<'s, 'i>> {
        match value.get_ref() {
            DeValue::Table(t) => Some(Table::new(src, path, value.span(), t)),
            other => {
                diags.push(wrong_type(src, value.span(), path, "a table", other));
                None
            }
        }
    }

    /// Reports every key that was never asked for, with a did-you-mean.
    pub fn finish(self, diags: &mut Vec<Diag>) {
        for (key, value) in self.table.iter() {
            let name = key.get_ref().as_ref();
            if self.known.contains(&name) {
                continue;
            }
            let where_ = if self.path.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in `{}`", self.path)
            };
            let mut d = Diag::new(key.span(), self.field(name), format!("unknown key {where_}"))
                .kind(Kind::UnknownKey)
                .value(snippet(self.src, &value.span()));
            d = match did_you_mean(name, &self.known) {
                Some(s) => {
                    // The typo explains the "missing" error for the key it was meant to be: report it once.
                    let meant = self.field(s);
                    let before = diags.len();
                    diags.retain(|x| !(x.field == meant && x.kind == Kind::MissingKey));
                    if diags.len() < before {
                        d.help(format!("did you mean `{s}`? (`{s}` is required)"))
                    } else {
                        d.help(format!("did you mean `{s}`?"))
                    }
                }
                None => d.help(format!("known keys: {}", self.known.join(", "))),
            };
            diags.push(d);
        }
    }
}

impl<'s> Table<'s, '_> {
    /// The whole fleet-file text.
    pub fn src(&self) -> &'s str {
        self.src
    }

    /// Whether the key is written in this table (without marking it as read).
    pub fn src_has_key(&self, key: &str) -> bool {
        self.table.iter().any(|(k, _)| k.get_ref().as_ref() == key)
    }
}
