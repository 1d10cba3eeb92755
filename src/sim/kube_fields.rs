//! Server-side apply's field ownership, as kube-apiserver keeps it in `metadata.managedFields`: one
//! entry per field manager and operation (`Apply`, `Update`; `subresource` for `scale`), its fields as
//! `fieldsV1`. An apply that sets a field another manager owns to another value is a 409 `Conflict`
//! unless forced (then the field changes hands); a field the manager's last apply set and this one
//! omits is removed unless another manager owns it; fields of other managers survive. Any other write
//! (create, update, merge patch) takes the fields it changes, without conflicts.
//!
//! Simplification: lists are atomic (owned and replaced whole, as `x-kubernetes-list-type: atomic`),
//! where the real server merges associative lists (containers by name, …) item by item.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::http::Reply;
use super::kube_clock::now_rfc3339;

/// A field's path: the map keys from the object's root.
type Path = Vec<String>;

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: Option<String>,
    fields: BTreeSet<Path>,
}

/// What `metadata` keys are the server's or the object's identity, never owned.
const UNOWNED_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "managedFields",
];

/// The owned leaves of an object: every non-map value and empty map, outside `status`, `apiVersion`,
/// `kind` and the server's metadata.
fn leaves(obj: &Value) -> BTreeSet<Path> {
    fn walk(v: &Value, path: &mut Path, out: &mut BTreeSet<Path>) {
        match v.as_object() {
            Some(map) if !map.is_empty() => {
                for (k, child) in map {
                    if path.is_empty() && matches!(k.as_str(), "apiVersion" | "kind" | "status") {
                        continue;
                    }
                    if path.len() == 1 && path[0] == "metadata" && UNOWNED_META.contains(&k.as_str()) {
                        continue;
                    }
                    path.push(k.clone());
                    walk(child, path, out);
                    path.pop();
                }
            }
            _ if !path.is_empty() && !v.is_null() => {
                out.insert(path.clone());
            }
            _ => {}
        }
    }
    let mut out = BTreeSet::new();
    walk(obj, &mut Vec::new(), &mut out);
    out
}

fn at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, k| v.as_object()?.get(k))
}

fn remove(obj: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let parent = parents.iter().try_fold(obj, |v, k| v.as_object_mut()?.get_mut(k));
    if let Some(map) = parent.and_then(Value::as_object_mut) {
        map.remove(last);
    }
}

fn set(obj: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut v = obj;
    for k in parents {
        if !v.get(k).is_some_and(Value::is_object) {
            v[k.as_str()] = json!({});
        }
        v = &mut v[k.as_str()];
    }
    v[last.as_str()] = value;
}

/// Whether two paths are the same field or one holds the other.
fn overlaps(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// `fieldsV1` of a set of paths: `{"f:spec": {"f:replicas": {}}}`.
fn to_fields_v1(fields: &BTreeSet<Path>) -> Value {
    let mut tree = json!({});
    for path in fields {
        let keys: Path = path.iter().map(|k| format!("f:{k}")).collect();
        set(&mut tree, &keys, json!({}));
    }
    tree
}

fn from_fields_v1(tree: &Value) -> BTreeSet<Path> {
    fn walk(v: &Value, path: &mut Path, out: &mut BTreeSet<Path>) {
        let children: Vec<(&String, &Value)> = v
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.starts_with("f:"))
            .collect();
        if children.is_empty() {
            if !path.is_empty() {
                out.insert(path.clone());
            }
            return;
        }
        for (k, child) in children {
            path.push(k.trim_start_matches("f:").to_string());
            walk(child, path, out);
            path.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(tree, &mut Vec::new(), &mut out);
    out
}

fn entries(obj: &Value) -> Vec<Entry> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Entry {
            manager: s(&e["manager"]),
            operation: s(&e["operation"]),
            api_version: s(&e["apiVersion"]),
            time: s(&e["time"]),
            subresource: e["subresource"].as_str().map(str::to_string),
            fields: from_fields_v1(&e["fieldsV1"]),
        })
        .collect()
}

fn store(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(|e| {
            let mut v = json!({"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&e.fields)});
            if let Some(sub) = &e.subresource {
                v["subresource"] = json!(sub);
            }
            v
        })
        .collect();
    if obj["metadata"].is_object() {
        obj["metadata"]["managedFields"] = json!(list);
    }
}

/// The entry of `manager` with `operation` (and subresource), created when missing.
fn own<'a>(
    list: &'a mut Vec<Entry>,
    manager: &str,
    operation: &str,
    sub: Option<&str>,
    api_version: &str,
) -> &'a mut Entry {
    let found = list
        .iter()
        .position(|e| e.manager == manager && e.operation == operation && e.subresource.as_deref() == sub);
    let i = found.unwrap_or_else(|| {
        list.push(Entry {
            manager: manager.into(),
            operation: operation.into(),
            api_version: api_version.into(),
            time: String::new(),
            subresource: sub.map(str::to_string),
            fields: BTreeSet::new(),
        });
        list.len() - 1
    });
    let entry = &mut list[i];
    entry.api_version = api_version.into();
    entry.time = now_rfc3339();
    entry
}

fn dotted(path: &[String]) -> String {
    path.iter().map(|k| format!(".{k}")).collect()
}

/// kube-apiserver's 409 for an apply that conflicts: `(manager, path)` per conflicting field.
fn conflict(conflicts: &[(String, String, Path)]) -> Reply {
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, av, p)| {
            json!({"type": "FieldManagerConflict", "message": format!("conflict with \"{m}\" using {av}"),
                "field": dotted(p)})
        })
        .collect();
    let n = conflicts.len();
    let lines: Vec<String> = conflicts
        .iter()
        .map(|(m, av, p)| format!("conflict with \"{m}\" using {av}: {}", dotted(p)))
        .collect();
    let message = if n == 1 {
        format!("Apply failed with 1 conflict: {}", lines.join(""))
    } else {
        format!("Apply failed with {n} conflicts: {}", lines.join("\n"))
    };
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": "Conflict", "details": {"causes": causes}, "code": 409});
    Reply::new(409).set_body_json(body)
}

/// Server-side apply of `config` by `manager` onto `live` (None: a create): the object to store with
/// its `managedFields`, or the 409 of a conflict (none when `force`).
pub(crate) fn apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
) -> Result<Value, Reply> {
    let mut obj = live.cloned().unwrap_or_else(|| json!({"metadata": {}}));
    let mut list = live.map(entries).unwrap_or_default();
    let applied = leaves(config);
    let mut conflicts = Vec::new();
    for e in list.iter_mut().filter(|e| e.manager != manager) {
        let taken: Vec<Path> = e
            .fields
            .iter()
            .filter(|owned| {
                applied
                    .iter()
                    .any(|p| overlaps(p, owned) && at(&obj, p) != at(config, p))
            })
            .cloned()
            .collect();
        for path in taken {
            if force {
                e.fields.remove(&path);
            } else {
                conflicts.push((e.manager.clone(), e.api_version.clone(), path));
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(conflict(&conflicts));
    }
    let before = list
        .iter()
        .find(|e| e.manager == manager && e.operation == "Apply" && e.subresource.is_none())
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    for dropped in before.difference(&applied) {
        let kept = list
            .iter()
            .filter(|e| !(e.manager == manager && e.operation == "Apply"))
            .any(|e| e.fields.iter().any(|o| overlaps(o, dropped)));
        if !kept {
            remove(&mut obj, dropped);
        }
    }
    for path in &applied {
        if let Some(v) = at(config, path) {
            set(&mut obj, path, v.clone());
        }
    }
    for key in ["apiVersion", "kind"] {
        if let Some(v) = config.get(key) {
            obj[key] = v.clone();
        }
    }
    for key in ["name", "namespace"] {
        if let Some(v) = config["metadata"].get(key) {
            obj["metadata"][key] = v.clone();
        }
    }
    own(&mut list, manager, "Apply", None, api_version).fields = applied;
    store(&mut obj, &list);
    Ok(obj)
}

/// A write that is no apply (create, update, merge patch; `sub`: the subresource, e.g. `scale`) by
/// `manager`: it takes the fields it changed from whoever owned them, and fields it removed are
/// nobody's. Returns `new` with its `managedFields`.
pub(crate) fn update(
    live: Option<&Value>,
    mut new: Value,
    manager: &str,
    sub: Option<&str>,
    api_version: &str,
) -> Value {
    let mut list = live.map(entries).unwrap_or_default();
    let now = leaves(&new);
    let old = live.map(leaves).unwrap_or_default();
    let changed: BTreeSet<Path> = now
        .iter()
        .filter(|p| live.is_none_or(|l| at(l, p) != at(&new, p)))
        .cloned()
        .collect();
    let gone: Vec<&Path> = old.difference(&now).collect();
    for e in list.iter_mut() {
        e.fields
            .retain(|o| !gone.iter().any(|g| overlaps(g, o)) && (e.manager == manager || !changed.contains(o)));
    }
    if !changed.is_empty() {
        own(&mut list, manager, "Update", sub, api_version)
            .fields
            .extend(changed);
    }
    if new["metadata"].is_object() {
        store(&mut new, &list);
    }
    new
}

/// Whether two `managedFields` lists differ other than in their times (a no-op write keeps the old).
pub(crate) fn same_owners(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| -> Vec<Value> {
        v["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                let mut e = e.clone();
                if let Some(m) = e.as_object_mut() {
                    m.remove("time");
                }
                e
            })
            .collect()
    };
    strip(a) == strip(b)
}

/// The field manager of a write: `fieldManager`, else the client's user agent up to its first `/`
/// (kube-apiserver's default), else `unknown`.
pub(crate) fn manager_of(field_manager: Option<&String>, user_agent: Option<&str>) -> String {
    field_manager
        .cloned()
        .or_else(|| user_agent.and_then(|ua| ua.split('/').next()).map(str::to_string))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
#[path = "kube_fields_tests.rs"]
mod tests;
