//! The `toml_edit` side of fleet-file edits: where a new table goes, which comments leave with a removed one, and
//! the line-ending style `toml_edit` does not keep by itself.

use toml_edit::visit::Visit;
use toml_edit::visit_mut::VisitMut;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

use super::{EditError, NewEdge};

/// A fleet file opened for editing.
pub(super) struct Editor {
    doc: DocumentMut,
    file: String,
    style: Style,
}

/// What `toml_edit` normalises and we put back: CRLF line endings and a missing final newline.
#[derive(Debug, Clone, Copy)]
struct Style {
    crlf: bool,
    final_newline: bool,
}

impl Style {
    fn apply(self, mut out: String) -> String {
        if self.crlf {
            out = out.replace("\r\n", "\n").replace('\n', "\r\n");
        }
        if !self.final_newline {
            let end = out
                .strip_suffix("\r\n")
                .or_else(|| out.strip_suffix('\n'))
                .map(str::len);
            if let Some(end) = end {
                out.truncate(end);
            }
        }
        out
    }
}

impl Editor {
    /// Parses `text`, refusing files `toml_edit` could not write back byte-for-byte (e.g. mixed line endings).
    pub(super) fn open(text: &str, file: &str) -> Result<Editor, EditError> {
        let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| EditError::Unsupported {
            file: file.to_string(),
            reason: format!("the TOML editor cannot read it: {}", e.message()),
        })?;
        let style = Style {
            crlf: text.contains("\r\n"),
            final_newline: text.is_empty() || text.ends_with('\n'),
        };
        let editor = Editor {
            doc,
            file: file.to_string(),
            style,
        };
        if editor.finish() != text {
            return Err(editor.unsupported("its formatting (e.g. mixed line endings) would not survive an edit"));
        }
        Ok(editor)
    }

    pub(super) fn unsupported(&self, reason: &str) -> EditError {
        unsupported(&self.file, reason)
    }

    /// The edited text.
    pub(super) fn finish(&self) -> String {
        self.style.apply(self.doc.to_string())
    }

    /// Inserts `[edges.<name>]` right after the last table under `[edges]`, or after `[hub]` when there is none.
    pub(super) fn add_edge(&mut self, edge: &NewEdge) -> Result<(), EditError> {
        let root = self.doc.as_table();
        let anchor = root
            .get("edges")
            .and_then(Item::as_table)
            .and_then(last_position)
            .or_else(|| root.get("hub").and_then(Item::as_table).and_then(last_position))
            .or_else(|| last_position(root))
            .unwrap_or(0);
        // Tables are written in position order: make room right after the anchor.
        Shift { after: anchor }.visit_document_mut(&mut self.doc);
        let root = self.doc.as_table_mut();
        if !root.contains_key("edges") {
            let mut edges = Table::new();
            edges.set_implicit(true);
            root.insert("edges", Item::Table(edges));
        }
        let edges = root
            .get_mut("edges")
            .and_then(Item::as_table_mut)
            .ok_or_else(|| unsupported(&self.file, "`edges` is an inline table, not [edges.<name>] tables"))?;
        edges.insert(&edge.name, Item::Table(edge_table(edge, anchor + 1)));
        Ok(())
    }

    /// Removes the edge `name` and the comments directly above its header; other comments stay where they were.
    pub(super) fn remove_edge(&mut self, name: &str) -> Result<(), EditError> {
        let root = self.doc.as_table_mut();
        let edges = root
            .get_mut("edges")
            .and_then(Item::as_table_like_mut)
            .ok_or_else(|| unsupported(&self.file, "its edges are not under an `edges` key"))?;
        let removed = edges
            .remove(name)
            .ok_or_else(|| unsupported(&self.file, &format!("edge `{name}` is not a key under `edges`")))?;
        let now_empty = edges.is_empty();
        let implicit = root
            .get("edges")
            .and_then(Item::as_table)
            .is_some_and(|t| t.is_implicit() || t.is_dotted());
        if now_empty && implicit {
            root.remove("edges");
        }
        if let Item::Table(table) = removed {
            let prefix = table.decor().prefix().and_then(|p| p.as_str()).unwrap_or("");
            let (detached, _attached) = split_prefix(prefix);
            if detached.lines().any(|l| l.trim_start().starts_with('#')) {
                self.keep_before_next(detached, table.position().unwrap_or(isize::MAX));
            }
        }
        Ok(())
    }

    /// Puts `text` (comments that stood before a removed table) in front of the next table, or at the end.
    fn keep_before_next(&mut self, text: &str, removed_at: isize) {
        let mut next = Next {
            after: removed_at,
            found: None,
        };
        next.visit_document(&self.doc);
        match next.found {
            Some(position) => Prepend { position, text }.visit_document_mut(&mut self.doc),
            None => {
                let old = self.doc.trailing().as_str().unwrap_or("").to_string();
                let old = strip_leading_blank_lines(&old);
                let text = if old.is_empty() {
                    strip_trailing_blank_lines(text)
                } else {
                    text
                };
                self.doc.set_trailing(format!("{text}{old}"));
            }
        }
    }
}

fn unsupported(file: &str, reason: &str) -> EditError {
    EditError::Unsupported {
        file: file.to_string(),
        reason: reason.to_string(),
    }
}

/// `[edges.<name>]` with `region` and `pools`, formatted like the example fleets.
fn edge_table(edge: &NewEdge, position: isize) -> Table {
    let mut table = Table::new();
    table.set_position(Some(position));
    table.decor_mut().set_prefix("\n");
    table.insert("region", toml_edit::value(edge.region.as_str()));
    let mut pools = Array::new();
    pools.push(pool(&edge.node_type, edge.count));
    if let Some((gpu_type, count)) = &edge.gpu {
        pools.push(pool(gpu_type, *count));
        for p in pools.iter_mut() {
            p.decor_mut().set_prefix("\n  ");
            p.decor_mut().set_suffix("");
        }
        pools.set_trailing_comma(true);
        pools.set_trailing("\n");
    }
    table.insert("pools", toml_edit::value(pools));
    table
}

fn pool(node_type: &str, count: u32) -> Value {
    let mut p = InlineTable::new();
    p.insert("type", node_type.into());
    p.insert("count", i64::from(count).into());
    Value::InlineTable(p)
}

/// The highest position of `table` and every table under it.
fn last_position(table: &Table) -> Option<isize> {
    struct Max(Option<isize>);
    impl<'doc> Visit<'doc> for Max {
        fn visit_table(&mut self, node: &'doc Table) {
            self.0 = self.0.max(node.position());
            toml_edit::visit::visit_table(self, node);
        }
    }
    let mut max = Max(None);
    max.visit_table(table);
    max.0
}

/// Moves every table after `after` one position down.
struct Shift {
    after: isize,
}

impl VisitMut for Shift {
    fn visit_table_mut(&mut self, node: &mut Table) {
        if let Some(p) = node.position().filter(|p| *p > self.after) {
            node.set_position(Some(p + 1));
        }
        toml_edit::visit_mut::visit_table_mut(self, node);
    }
}

/// Finds the position of the first table written with a header after position `after`.
struct Next {
    after: isize,
    found: Option<isize>,
}

impl<'doc> Visit<'doc> for Next {
    fn visit_table(&mut self, node: &'doc Table) {
        let has_header = !node.is_dotted() && (!node.is_implicit() || !node.get_values().is_empty());
        if let Some(p) = node.position().filter(|p| *p > self.after && has_header) {
            self.found = Some(self.found.map_or(p, |f| f.min(p)));
        }
        toml_edit::visit::visit_table(self, node);
    }
}

/// Puts `text` in front of the decor of the table at `position`, dropping that decor's leading blank lines.
struct Prepend<'a> {
    position: isize,
    text: &'a str,
}

impl VisitMut for Prepend<'_> {
    fn visit_table_mut(&mut self, node: &mut Table) {
        if node.position() == Some(self.position) {
            let old = node.decor().prefix().and_then(|p| p.as_str()).unwrap_or("").to_string();
            let new = format!("{}{}", self.text, strip_leading_blank_lines(&old));
            node.decor_mut().set_prefix(new);
        }
        toml_edit::visit_mut::visit_table_mut(self, node);
    }
}

/// Splits the text before a table header into what is detached from it (up to and including its last blank line)
/// and what is attached to it (the comment lines right above it, and the header's indentation).
pub(super) fn split_prefix(prefix: &str) -> (&str, &str) {
    let mut split = 0;
    let mut offset = 0;
    for line in prefix.split_inclusive('\n') {
        offset += line.len();
        if line.ends_with('\n') && line.trim().is_empty() {
            split = offset;
        }
    }
    prefix.split_at(split)
}

/// `text` without its leading blank lines.
fn strip_leading_blank_lines(text: &str) -> &str {
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if !(line.ends_with('\n') && line.trim().is_empty()) {
            break;
        }
        start += line.len();
    }
    text.get(start..).unwrap_or("")
}

/// `text` without its trailing blank lines (it keeps the newline that ends its last non-blank line).
fn strip_trailing_blank_lines(text: &str) -> &str {
    let content = text.trim_end();
    let newline = text
        .get(content.len()..)
        .and_then(|rest| rest.find('\n'))
        .map_or(0, |i| i + 1);
    text.get(..content.len() + newline).unwrap_or(text)
}
