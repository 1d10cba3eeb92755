//! Request-body contract checks against the Linode OpenAPI spec (4.189.0) and the newer
//! linode-cli baked operations (4.229.1).
//!
//! The spec is read at test time and never copied into the project. `$ref`s are inlined,
//! `allOf` parts are merged into one schema (union of properties and required; closed if any
//! part is closed, see shared/linode-openapi/SOURCE.md), read-only properties are forbidden
//! in requests, and `nullable` becomes a JSON Schema type union.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

// The same file as `tooling::skips` where a test binary also has `mod tooling;`: one skip log, one rule.
#[allow(clippy::duplicate_mod)]
#[path = "../tooling/skips.rs"]
mod skips;

/// Loads a JSON file named by `env_var`, else `../shared/linode-openapi/<file>` beside the
/// crate. Missing: records the skip (`tests/tooling/skips.rs`) and returns `None`, unless `CI` is set, then
/// panics.
pub fn load(env_var: &str, file: &str) -> Option<Value> {
    let path = std::env::var_os(env_var).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/linode-openapi")
            .join(file)
    });
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(serde_json::from_str(&text).expect("spec file is JSON")),
        Err(err) => {
            let why = format!("{} is not readable ({err}); set {env_var}", path.display());
            skips::skip("the Linode API contract check", &why);
            None
        }
    }
}

/// The resolved, merged requestBody schema of `METHOD /path` (path after the version).
pub fn request_schema(spec: &Value, method: &str, path: &str) -> Value {
    let paths = spec["paths"].as_object().expect("paths");
    let (_, item) = paths
        .iter()
        .find(|(key, _)| key.strip_prefix("/{apiVersion}").unwrap_or(key) == path)
        .unwrap_or_else(|| panic!("{path} is not in the spec"));
    let op = &item[method.to_ascii_lowercase()];
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "{method} {path} has no JSON request body in the spec"
    );
    let mut schema = resolve(spec, schema, 0);
    correct(method, path, &mut schema);
    schema
}

/// The resolved 200 response schema of `GET /path` (path after the version), read-only fields allowed.
#[allow(dead_code)] // not every test binary that includes this file checks answers
pub fn response_schema(spec: &Value, path: &str) -> Value {
    let paths = spec["paths"].as_object().expect("paths");
    let (_, item) = paths
        .iter()
        .find(|(key, _)| key.strip_prefix("/{apiVersion}").unwrap_or(key) == path)
        .unwrap_or_else(|| panic!("{path} is not in the spec"));
    let schema = &item["get"]["responses"]["200"]["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "GET {path} has no JSON 200 answer in the spec");
    resolve_for(spec, schema, 0, false)
}

/// Where spec 4.189 contradicts itself, the reading the platform's own clients take.
fn correct(method: &str, path: &str, schema: &mut Value) {
    // A pool update's `taints` has `minItems: 1`, yet its description says "Specifying an empty array
    // (`[]`) removes all previously set taints", and linodego's `LKENodePoolUpdateOptions.Taints`
    // (`*[]LKENodePoolTaint`, omitempty on the pointer) sends `[]` to clear them.
    if method == "PUT"
        && path == "/lke/clusters/{clusterId}/pools/{poolId}"
        && let Some(taints) = schema["properties"]["taints"].as_object_mut()
    {
        taints.remove("minItems");
    }
}

fn lookup<'a>(spec: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("remote $ref {reference}"));
    spec.pointer(pointer)
        .unwrap_or_else(|| panic!("dangling $ref {reference}"))
}

fn resolve(spec: &Value, node: &Value, depth: usize) -> Value {
    resolve_for(spec, node, depth, true)
}

/// `request`: read-only properties are forbidden (a request must never carry one); answers keep them.
fn resolve_for(spec: &Value, node: &Value, depth: usize, request: bool) -> Value {
    assert!(depth < 64, "$ref cycle");
    match node {
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve_for(spec, v, depth + 1, request)).collect()),
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                return resolve_for(spec, lookup(spec, reference), depth + 1, request);
            }
            if let Some(parts) = map.get("allOf").and_then(Value::as_array) {
                let parts: Vec<Value> = parts.iter().map(|p| resolve_for(spec, p, depth + 1, request)).collect();
                return merge_all_of(&parts);
            }
            let mut out = Map::new();
            for (key, value) in map {
                if key.starts_with("x-") || key == "example" || key == "discriminator" {
                    continue;
                }
                let value = if key == "properties" {
                    let props = value.as_object().cloned().unwrap_or_default();
                    let props = props.into_iter().map(|(name, schema)| {
                        let schema = resolve_for(spec, &schema, depth + 1, request);
                        // A request must never carry a read-only field.
                        let read_only = request && schema["readOnly"].as_bool() == Some(true);
                        (name, if read_only { Value::Bool(false) } else { schema })
                    });
                    Value::Object(props.collect())
                } else {
                    resolve_for(spec, value, depth + 1, request)
                };
                out.insert(key.clone(), value);
            }
            if out.remove("nullable") == Some(Value::Bool(true))
                && let Some(Value::String(ty)) = out.get("type").cloned()
            {
                out.insert("type".into(), json!([ty, "null"]));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// One schema from `allOf` parts: properties and required united, closed if any part is.
fn merge_all_of(parts: &[Value]) -> Value {
    let mut merged = Map::new();
    let mut properties = Map::new();
    let mut required = BTreeSet::new();
    let mut closed = false;
    for part in parts {
        let Some(map) = part.as_object() else { continue };
        for (key, value) in map {
            match key.as_str() {
                "properties" => {
                    for (name, schema) in value.as_object().into_iter().flatten() {
                        properties.insert(name.clone(), schema.clone());
                    }
                }
                "required" => required.extend(
                    value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v.as_str().map(str::to_string)),
                ),
                "additionalProperties" if value == &Value::Bool(false) => closed = true,
                "additionalProperties" => {}
                _ => {
                    merged.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
        }
    }
    merged.insert("type".into(), json!("object"));
    merged.insert("properties".into(), Value::Object(properties));
    merged.insert("required".into(), json!(required));
    if closed {
        merged.insert("additionalProperties".into(), json!(false));
    }
    Value::Object(merged)
}

/// Validation errors of `body` against `schema` (empty when valid).
pub fn violations(schema: &Value, body: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("schema compiles");
    validator
        .iter_errors(body)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The linode-cli baked operation (4.229.1) for `METHOD /path`.
pub fn cli_operation<'a>(ops: &'a Value, method: &str, path: &str) -> &'a Value {
    let commands = ops["commands"].as_object().expect("commands");
    commands
        .values()
        .filter_map(Value::as_object)
        .flat_map(|group| group.values())
        .find(|op| {
            op["method"].as_str() == Some(&method.to_ascii_lowercase())
                && op["url_path"]
                    .as_str()
                    .map(|p| p.strip_prefix("/{apiVersion}").unwrap_or(p))
                    == Some(path)
        })
        .unwrap_or_else(|| panic!("{method} {path} is not in the linode-cli operations"))
}

/// Problems of `body` against a linode-cli operation's `args`: fields it does not list, a
/// wrong type, a required field missing.
pub fn cli_violations(op: &Value, body: &Value) -> Vec<String> {
    let args: Vec<&Value> = op["args"].as_array().map(|a| a.iter().collect()).unwrap_or_default();
    let arg = |path: &str| args.iter().find(|a| a["path"] == path).copied();
    let has_children = |path: &str| {
        args.iter()
            .any(|a| a["path"].as_str().is_some_and(|p| p.starts_with(&format!("{path}."))))
    };
    let mut problems = Vec::new();
    let mut leaves = Vec::new();
    collect(body, "", &arg, &has_children, &mut leaves);
    for (path, value) in &leaves {
        match arg(path) {
            None => problems.push(format!("{path}: not a field of this operation")),
            Some(a) if !type_ok(a, value) => problems.push(format!("{path}: {value} is not of type {}", a["datatype"])),
            Some(_) => {}
        }
    }
    for a in args.iter().filter(|a| a["required"] == true) {
        let path = a["path"].as_str().unwrap_or_default();
        let (parent, key) = path.rsplit_once('.').unwrap_or(("", path));
        for container in containers(body, parent) {
            if container.get(key).is_none() {
                problems.push(format!("{path}: required but missing"));
            }
        }
    }
    problems
}

type ArgFn<'a> = dyn Fn(&str) -> Option<&'a Value> + 'a;

fn collect<'v>(
    value: &'v Value,
    path: &str,
    arg: &ArgFn<'_>,
    has_children: &dyn Fn(&str) -> bool,
    out: &mut Vec<(String, &'v Value)>,
) {
    let opaque = !path.is_empty() && arg(path).is_some() && !has_children(path);
    match value {
        _ if opaque => out.push((path.to_string(), value)),
        Value::Object(map) => {
            for (key, v) in map {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                collect(v, &child, arg, has_children, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, path, arg, has_children, out)),
        _ => out.push((path.to_string(), value)),
    }
}

/// The objects found at a dotted path, looking through arrays.
fn containers<'v>(value: &'v Value, path: &str) -> Vec<&'v Map<String, Value>> {
    let mut current = vec![value];
    for key in path.split('.').filter(|k| !k.is_empty()) {
        current = current.into_iter().filter_map(|v| v.get(key)).collect();
        current = current
            .into_iter()
            .flat_map(|v| match v {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            })
            .collect();
    }
    current.into_iter().filter_map(Value::as_object).collect()
}

fn type_ok(arg: &Value, value: &Value) -> bool {
    match arg["datatype"].as_str().unwrap_or_default() {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.as_array().is_some_and(|items| {
            items.iter().all(|item| match arg["item_type"].as_str() {
                Some("string") => item.is_string(),
                Some("integer") => item.is_i64() || item.is_u64(),
                _ => true,
            })
        }),
        // The CLI types arrays of objects and maps as "object".
        "object" => value.is_object() || value.is_array(),
        _ => false,
    }
}

/// The spec's path template for a concrete path (`/lke/clusters/1001` → `/lke/clusters/{clusterId}`)
/// and its path item; the template with the most literal segments wins (`/regions/availability` over
/// `/regions/{regionId}`).
#[allow(dead_code)] // not every test binary that includes this file checks answers
pub fn path_item<'a>(spec: &'a Value, path: &str) -> Option<(&'a str, &'a Value)> {
    let want: Vec<&str> = path.trim_matches('/').split('/').collect();
    let paths = spec["paths"].as_object()?;
    paths
        .iter()
        .filter_map(|(key, item)| {
            let template = key.strip_prefix("/{apiVersion}").unwrap_or(key);
            let segs: Vec<&str> = template.trim_matches('/').split('/').collect();
            let fits = segs.len() == want.len()
                && segs
                    .iter()
                    .zip(&want)
                    .all(|(t, w)| t == w || (t.starts_with('{') && t.ends_with('}')));
            let literal = segs.iter().filter(|t| !t.starts_with('{')).count();
            fits.then_some((literal, template, item))
        })
        .max_by_key(|(literal, _, _)| *literal)
        .map(|(_, template, item)| (template, item))
}

/// The resolved 200 response schema of `METHOD` on a concrete path, read-only fields allowed; None
/// when the spec lists no JSON 200 answer for it.
#[allow(dead_code)] // not every test binary that includes this file checks answers
pub fn answer_schema(spec: &Value, method: &str, path: &str) -> Option<Value> {
    let (_, item) = path_item(spec, path)?;
    let schema = &item[method.to_ascii_lowercase()]["responses"]["200"]["content"]["application/json"]["schema"];
    schema.is_object().then(|| resolve_for(spec, schema, 0, false))
}

/// Problems of a JSON answer to `METHOD path` (a concrete path) against the spec's 200 schema, less the
/// fields spec 4.189 does not know but the newer operations (linode-cli's 4.229.1, `ops`) list among
/// that operation's response attributes (LKE `tier`, pool `disk_encryption`, region `site_type`, …).
/// None when the spec lists no JSON 200 answer for it.
#[allow(dead_code)] // not every test binary that includes this file checks answers
pub fn answer_violations(spec: &Value, ops: &Value, method: &str, path: &str, answer: &Value) -> Option<Vec<String>> {
    let schema = answer_schema(spec, method, path)?;
    let (template, _) = path_item(spec, path)?;
    let newer: Vec<String> = ops["commands"]
        .as_object()
        .into_iter()
        .flat_map(|c| c.values())
        .filter_map(Value::as_object)
        .flat_map(|group| group.values())
        .filter(|op| {
            op["method"].as_str() == Some(&method.to_ascii_lowercase())
                && op["url_path"]
                    .as_str()
                    .map(|p| p.strip_prefix("/{apiVersion}").unwrap_or(p))
                    == Some(template)
        })
        .flat_map(|op| op["response_attrs"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["path"].as_str().map(str::to_string))
        .collect();
    let known = |name: &str| newer.iter().any(|p| p.split('.').any(|part| part == name));
    Some(
        violations(&schema, answer)
            .into_iter()
            .filter(|e| {
                let Some((_, names)) = e.split_once("Additional properties are not allowed (") else {
                    return true;
                };
                let unexpected: Vec<&str> = names.split('\'').skip(1).step_by(2).collect();
                !unexpected.iter().all(|n| known(n))
            })
            .collect(),
    )
}
