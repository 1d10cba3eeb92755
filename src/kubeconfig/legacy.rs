//! Contexts named by an older lkeobs, `lkeobs-<fleet>-<cluster>`, which two fleets could share (fleet `a`
//! with edge `b-c` and fleet `a-b` with edge `c`). Today's names put a `.` (which no fleet or cluster name
//! holds) between fleet and cluster; an old entry is migrated or removed only when its server is the same
//! cluster's, so another fleet's entry of the same old name is never touched.

use serde_yaml_ng::Value;

use super::{SECTIONS, entries, name_of, section_mut};

/// The name an older lkeobs gave the context now called `name` (`lkeobs-a.b-c` → `lkeobs-a-b-c`).
pub fn legacy_name(name: &str) -> Option<String> {
    name.contains('.').then(|| name.replacen('.', "-", 1))
}

/// The `server` of the cluster entry named `name`.
pub(super) fn server_of(doc: &Value, name: &str) -> Option<String> {
    entries(doc, "clusters")
        .find(|e| name_of(e) == Some(name))
        .and_then(|e| e.get("cluster")?.get("server")?.as_str())
        .map(str::to_string)
}

/// Removes the old-named entries of the context now called `name` when the old cluster entry's server is
/// one of `servers` (the same cluster). A current-context on the old name moves to `current_to`.
pub(super) fn drop_legacy(doc: &mut Value, name: &str, servers: &[String], current_to: &str) {
    let Some(old) = legacy_name(name) else { return };
    let Some(server) = server_of(doc, &old) else { return };
    if !servers.contains(&server) {
        return;
    }
    for (section, _) in SECTIONS {
        if let Some(list) = section_mut(doc, section) {
            list.retain(|e| name_of(e) != Some(old.as_str()));
        }
    }
    if let Some(m) = doc.as_mapping_mut()
        && m.get("current-context").and_then(Value::as_str) == Some(old.as_str())
    {
        m.insert("current-context".into(), current_to.into());
    }
}
