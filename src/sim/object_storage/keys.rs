//! `/object-storage/keys`: access keys, limited to buckets or not. The secret is in the create answer only;
//! every later answer carries `[REDACTED]`, as the API does (linodego's recorded fixture
//! `TestObjectStorageKeys_Regional_Limited.yaml`: the PUT answer's `"secret_key": "[REDACTED]"`).

use std::time::SystemTime;

use serde_json::{Value, json};

use super::super::http::{Reply, Request};
use super::super::linode::State;
use super::super::linode_routes::{err, list, not_found, ok};
use super::api::offers;
use super::state::{Access, Key, ObjectStorage, bucket_id};

/// What later answers show instead of the secret.
pub const REDACTED: &str = "[REDACTED]";

/// The most buckets one limited key may grant (TD "Object Storage quotas and limits").
pub const MAX_KEY_BUCKETS: usize = 25;

pub(crate) fn route(state: &mut State, req: &Request, method: &str, segs: &[&str], body: &Value) -> Reply {
    let id = segs.get(2).and_then(|s| s.parse::<u64>().ok());
    match (method, segs.len(), id) {
        ("GET", 2, _) => {
            let os = &state.object_storage;
            list(req, os.keys.values().map(|k| key_json(os, k, false)).collect())
        }
        ("POST", 2, _) => create(state, body),
        (_, 3, Some(id)) if state.object_storage.keys.contains_key(&id) => match method {
            "GET" => ok(key_json(&state.object_storage, &state.object_storage.keys[&id], false)),
            "PUT" => update(state, id, body),
            "DELETE" => {
                state.object_storage.keys.remove(&id);
                ok(json!({}))
            }
            _ => not_found(),
        },
        _ => not_found(),
    }
}

/// A key as the API answers it; the secret only when `reveal` (the create answer).
fn key_json(os: &ObjectStorage, k: &Key, reveal: bool) -> Value {
    let access: Vec<Value> = k
        .bucket_access
        .iter()
        .map(|a| json!({"region": a.region, "bucket_name": a.bucket_name, "permissions": a.permissions, "cluster": ""}))
        .collect();
    let regions: Vec<Value> = k
        .regions
        .iter()
        .filter_map(|r| {
            // The region's endpoint a granted bucket lives on, else its newest.
            let bucket_type = k
                .bucket_access
                .iter()
                .filter(|a| &a.region == r)
                .find_map(|a| os.buckets.get(&bucket_id(r, &a.bucket_name)))
                .map(|b| b.endpoint_type.clone());
            let endpoint = os
                .endpoints
                .iter()
                .filter(|e| &e.region == r)
                .filter(|e| bucket_type.as_ref().is_none_or(|t| &e.endpoint_type == t))
                .max_by(|a, b| a.endpoint_type.cmp(&b.endpoint_type))?;
            Some(json!({"id": r, "s3_endpoint": endpoint.host(), "endpoint_type": endpoint.endpoint_type}))
        })
        .collect();
    let secret = if reveal { k.secret_key.as_str() } else { REDACTED };
    json!({"id": k.id, "label": k.label, "access_key": k.access_key, "secret_key": secret,
           "limited": k.limited, "bucket_access": if k.limited { json!(access) } else { Value::Null },
           "regions": regions})
}

/// The region ids of a `regions` field: each must offer Object Storage with an endpoint.
fn regions_of(state: &State, body: &Value) -> Result<Vec<String>, Reply> {
    let Some(items) = body.get("regions").filter(|r| !r.is_null()) else {
        return Ok(Vec::new());
    };
    let Some(items) = items.as_array() else {
        return Err(err(400, Some("regions"), "regions must be a list of region ids"));
    };
    let mut out = Vec::new();
    for r in items {
        let Some(r) = r.as_str() else {
            return Err(err(400, Some("regions"), "regions must be a list of region ids"));
        };
        if !offers(state, r) || !state.object_storage.endpoints.iter().any(|e| e.region == r) {
            return Err(err(
                400,
                Some("regions"),
                &format!("Object Storage is not available in region {r}"),
            ));
        }
        if !out.iter().any(|o| o == r) {
            out.push(r.to_string());
        }
    }
    Ok(out)
}

fn create(state: &mut State, body: &Value) -> Reply {
    let os = &state.object_storage;
    if os.keys.len() >= os.max_keys {
        return err(
            400,
            None,
            &format!("You may have at most {} Object Storage keys", os.max_keys),
        );
    }
    let label = body["label"].as_str().unwrap_or_default().to_string();
    let mut regions = match regions_of(state, body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let limited = body.get("bucket_access").is_some_and(|b| !b.is_null());
    let mut grants = Vec::new();
    if limited {
        let Some(items) = body["bucket_access"].as_array() else {
            return err(400, Some("bucket_access"), "bucket_access must be a list");
        };
        // TD "Object Storage quotas and limits": a limited key grants at most 25 buckets.
        if items.len() > MAX_KEY_BUCKETS {
            return err(
                400,
                Some("bucket_access"),
                &format!("A limited key may grant access to at most {MAX_KEY_BUCKETS} buckets"),
            );
        }
        for item in items {
            let (Some(region), Some(name), Some(permissions)) = (
                item["region"].as_str().or_else(|| {
                    item["cluster"]
                        .as_str()
                        .and_then(|c| c.rsplit_once('-').map(|(r, _)| r))
                }),
                item["bucket_name"].as_str(),
                item["permissions"].as_str(),
            ) else {
                return err(
                    400,
                    Some("bucket_access"),
                    "each grant needs region, bucket_name and permissions",
                );
            };
            if !matches!(permissions, "read_write" | "read_only") {
                return err(
                    400,
                    Some("bucket_access.permissions"),
                    "permissions must be read_write or read_only",
                );
            }
            if !state.object_storage.buckets.contains_key(&bucket_id(region, name)) {
                return err(
                    400,
                    Some("bucket_access"),
                    &format!("Bucket {name} was not found in region {region}"),
                );
            }
            grants.push(Access {
                region: region.to_string(),
                bucket_name: name.to_string(),
                permissions: permissions.to_string(),
            });
            if !regions.iter().any(|r| r == region) {
                regions.push(region.to_string());
            }
        }
    } else if regions.is_empty() {
        // An unlimited key without regions works in every region the account can use.
        let os = &state.object_storage;
        for e in &os.endpoints {
            if !regions.contains(&e.region) {
                regions.push(e.region.clone());
            }
        }
    }
    let Ok(access) = super::super::guard::random_token("") else {
        return err(500, None, "the simulator's random generator failed");
    };
    let Ok(secret) = super::super::guard::random_token("") else {
        return err(500, None, "the simulator's random generator failed");
    };
    let id = state.id();
    let os = &mut state.object_storage;
    let key = Key {
        id,
        label,
        access_key: access[..20].to_ascii_uppercase(),
        secret_key: format!("{}{}", &secret, &access[24..]),
        limited,
        bucket_access: grants,
        regions,
        created: SystemTime::now(),
    };
    os.active = true;
    let answer = key_json(os, &key, true);
    os.keys.insert(key.id, key);
    ok(answer)
}

fn update(state: &mut State, id: u64, body: &Value) -> Reply {
    let regions = match regions_of(state, body) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let os = &mut state.object_storage;
    let Some(key) = os.keys.get_mut(&id) else {
        return not_found();
    };
    if let Some(label) = body["label"].as_str() {
        key.label = label.to_string();
    }
    if body.get("regions").is_some_and(|r| !r.is_null()) {
        key.regions = regions;
    }
    let key = key.clone();
    ok(key_json(os, &key, false))
}
