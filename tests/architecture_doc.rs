//! docs/architecture.md names every module of the crate: each `pub mod` of `src/lib.rs` and each module its
//! crate doc names, so a new module cannot land without a place in the architecture.

use std::collections::BTreeSet;
use std::path::Path;

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The modules `lib.rs` declares (`pub mod x;`).
fn declared(lib: &str) -> BTreeSet<String> {
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').trim().to_string())
        .collect()
}

/// The modules `lib.rs`' crate doc names: every `` `name` `` in its `//!` lines that is a word.
fn named_in_doc(lib: &str) -> BTreeSet<String> {
    let doc: String = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    doc.split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .map(str::to_string)
        .collect()
}

/// Whether `doc` names module `m` as code: `` `m` ``, `` `m::…` `` or `` `src/m…` ``.
fn names(doc: &str, m: &str) -> bool {
    [format!("`{m}`"), format!("`{m}::"), format!("`src/{m}")]
        .iter()
        .any(|form| doc.contains(form.as_str()))
}

#[test]
fn architecture_doc_names_every_module_of_the_crate() {
    let lib = read("src/lib.rs");
    let doc = read("docs/architecture.md");
    let declared = declared(&lib);
    let named = named_in_doc(&lib);
    assert!(declared.len() > 10, "lib.rs declares {declared:?}");
    assert!(named.contains("ops") && named.contains("fleet"), "{named:?}");
    let missing: Vec<&String> = declared.union(&named).filter(|m| !names(&doc, m)).collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md does not name these modules: {missing:?}"
    );
}

#[test]
fn a_module_the_doc_does_not_name_is_found() {
    assert!(!names("`ops` and `fleet`", "sim"));
    assert!(names("`sim::world`", "sim"));
    assert!(names("in `src/sim/`", "sim"));
    let lib = "//! - `main`, `run` (x), `ui::Report`\npub mod run;\npub mod extra;\n";
    assert_eq!(declared(lib), BTreeSet::from(["run".to_string(), "extra".to_string()]));
    assert_eq!(
        named_in_doc(lib),
        BTreeSet::from(["main".to_string(), "run".to_string()])
    );
}
