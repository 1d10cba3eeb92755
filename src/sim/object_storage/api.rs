//! The Linode API's Object Storage routes (`/object-storage/…` and the account's `object_storage`
//! setting), answered as spec 4.189 and linodego shape them: endpoints, buckets (idempotent create,
//! names unique per region across customers, non-empty buckets kept), keys (the secret shown once),
//! types with prices, and the account-wide cancel.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::super::http::{Reply, Request};
use super::super::linode::State;
use super::super::linode_routes::{err, list, not_found, ok};
use super::keys;
use super::state::{Bucket, ObjectStorage, bucket_id, secs};

/// Routes `/object-storage/…` and `GET /account/settings`; None for any other path.
pub(crate) fn route(state: &mut State, req: &Request, method: &str, segs: &[&str], body: &Value) -> Option<Reply> {
    let reply = match (method, segs) {
        ("GET", ["account", "settings"]) => ok(json!({
            "backups_enabled": false, "managed": false, "network_helper": true,
            "object_storage": if state.object_storage.active { "active" } else { "disabled" },
        })),
        ("GET", ["object-storage", "endpoints"]) => list(req, endpoints(&state.object_storage)),
        ("GET", ["object-storage", "types"]) => list(req, types()),
        ("POST", ["object-storage", "cancel"]) => {
            let os = &mut state.object_storage;
            os.buckets.clear();
            os.keys.clear();
            os.active = false;
            ok(json!({}))
        }
        ("GET", ["object-storage", "buckets"]) => {
            let os = &state.object_storage;
            list(req, os.buckets.values().map(|b| bucket_json(os, b)).collect())
        }
        ("POST", ["object-storage", "buckets"]) => create_bucket(state, body),
        ("GET", ["object-storage", "buckets", region]) => {
            if !state.regions.iter().any(|r| r["id"] == *region) {
                return Some(not_found());
            }
            let os = &state.object_storage;
            let items = os.buckets.values().filter(|b| b.region == *region);
            list(req, items.map(|b| bucket_json(os, b)).collect())
        }
        ("GET", ["object-storage", "buckets", region, label]) => {
            let os = &state.object_storage;
            os.buckets
                .get(&bucket_id(region, label))
                .map_or_else(not_found, |b| ok(bucket_json(os, b)))
        }
        ("DELETE", ["object-storage", "buckets", region, label]) => {
            let os = &mut state.object_storage;
            let id = bucket_id(region, label);
            match os.buckets.get(&id).map(Bucket::entries) {
                None => not_found(),
                Some(0) => {
                    os.buckets.remove(&id);
                    ok(json!({}))
                }
                Some(n) => err(
                    400,
                    None,
                    &format!(
                        "Bucket {label} is not empty ({n} objects, versions or delete markers): remove all of them before deleting the bucket"
                    ),
                ),
            }
        }
        (_, ["object-storage", "keys", ..]) => keys::route(state, req, method, segs, body),
        (_, ["object-storage", ..]) => not_found(),
        _ => return None,
    };
    Some(reply)
}

/// `GET /object-storage/endpoints` items.
fn endpoints(os: &ObjectStorage) -> Vec<Value> {
    os.endpoints
        .iter()
        .map(|e| json!({"region": e.region, "endpoint_type": e.endpoint_type, "s3_endpoint": e.host()}))
        .collect()
}

/// `objectstorage` (the account's flat $5 a month with 250 GB and 1 TB of transfer) and
/// `objectstorage-overage` (per GB-month in `hourly`, no monthly figure), as Cloud Manager's factories
/// and the live API answer them. The Jakarta and São Paulo prices are listed whatever regions the
/// account sees, as the API lists region prices of other types.
fn types() -> Vec<Value> {
    vec![
        json!({"id": "objectstorage", "label": "Object Storage", "transfer": 1000,
               "price": {"hourly": 0.0075, "monthly": 5.0}, "region_prices": []}),
        json!({"id": "objectstorage-overage", "label": "Object Storage Overage", "transfer": 0,
               "price": {"hourly": 0.02, "monthly": null},
               "region_prices": [{"id": "id-cgk", "hourly": 0.024, "monthly": null},
                                 {"id": "br-gru", "hourly": 0.028, "monthly": null}]}),
    ]
}

/// `2026-01-01T00:00:00`, as the API writes times.
pub(crate) fn api_time(t: u64) -> String {
    let (y, mo, d, h, mi, s) = super::sigv4::civil(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
}

/// A bucket as the API answers it, `objects` and `size` from its S3 data.
pub(crate) fn bucket_json(os: &ObjectStorage, b: &Bucket) -> Value {
    let host = os.endpoint_of(b).map(|e| e.host()).unwrap_or_default();
    json!({"label": b.label, "region": b.region, "cluster": "", "hostname": format!("{}.{host}", b.label),
           "created": api_time(b.created), "objects": b.object_count(), "size": b.size(),
           "endpoint_type": b.endpoint_type, "s3_endpoint": host})
}

/// The spec's bucket label pattern: 3 to 63 of `[a-z0-9.-]`, dot-separated parts of dash-separated
/// alphanumeric runs (no `--`, `..`, `.-`, `-.`, no leading or trailing dash or dot).
pub fn label_ok(label: &str) -> bool {
    (3..=63).contains(&label.len())
        && label.split('.').all(|part| {
            part.split('-')
                .all(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        })
}

/// Whether `region` lists the `Object Storage` capability.
pub(crate) fn offers(state: &State, region: &str) -> bool {
    state.regions.iter().any(|r| {
        r["id"] == region
            && r["capabilities"]
                .as_array()
                .is_some_and(|c| c.contains(&json!("Object Storage")))
    })
}

fn create_bucket(state: &mut State, body: &Value) -> Reply {
    let Some(label) = body["label"].as_str() else {
        return err(400, Some("label"), "label is required");
    };
    if !label_ok(label) {
        return err(
            400,
            Some("label"),
            "Label must be 3 to 63 characters of lower-case letters, numbers, dots and dashes, start and end with a letter or number, and not contain '--' or '..'",
        );
    }
    // The deprecated `cluster` (`us-ord-1`) names the region with an endpoint suffix.
    let region = body["region"].as_str().map(str::to_string).or_else(|| {
        body["cluster"]
            .as_str()
            .and_then(|c| c.rsplit_once('-'))
            .map(|(r, _)| r.to_string())
    });
    let Some(region) = region else {
        return err(400, Some("region"), "region is required");
    };
    let os = &state.object_storage;
    let offered: Vec<_> = os.endpoints.iter().filter(|e| e.region == region).cloned().collect();
    if !offers(state, &region) || offered.is_empty() {
        return err(400, Some("region"), "Object Storage is not available in this region");
    }
    if let Some(acl) = body.get("acl").filter(|a| !a.is_null())
        && !["private", "public-read", "authenticated-read", "public-read-write"].contains(&acl.as_str().unwrap_or(""))
    {
        return err(
            400,
            Some("acl"),
            "acl must be private, public-read, authenticated-read or public-read-write",
        );
    }
    let wanted_type = body["endpoint_type"].as_str();
    let wanted_host = body["s3_endpoint"].as_str().map(|h| h.split("://").last().unwrap_or(h));
    let mut candidates: Vec<_> = offered
        .iter()
        .filter(|e| wanted_type.is_none_or(|t| e.endpoint_type == t))
        .collect();
    if candidates.is_empty() {
        return err(
            400,
            Some("endpoint_type"),
            "This endpoint type is not available in this region",
        );
    }
    candidates.retain(|e| wanted_host.is_none_or(|h| e.host() == h));
    // The newest type the region offers when the request leaves it open.
    let Some(endpoint) = candidates
        .into_iter()
        .max_by(|a, b| a.endpoint_type.cmp(&b.endpoint_type))
    else {
        return err(
            400,
            Some("s3_endpoint"),
            "This S3 endpoint is not available in this region",
        );
    };
    if let Some(existing) = os.buckets.get(&bucket_id(&region, label)) {
        return ok(bucket_json(os, existing));
    }
    if os.foreign.get(&region).is_some_and(|names| names.contains(label)) {
        return err(
            400,
            Some("label"),
            "A bucket with this label already exists in this region; bucket labels are unique across all customers",
        );
    }
    if body["cors_enabled"] == json!(true) && matches!(endpoint.endpoint_type.as_str(), "E2" | "E3") {
        return err(
            400,
            Some("cors_enabled"),
            "CORS is not supported on E2 and E3 endpoints",
        );
    }
    let bucket = Bucket {
        label: label.to_string(),
        region: region.clone(),
        endpoint_type: endpoint.endpoint_type.clone(),
        created: secs(SystemTime::now()),
        versioning: None,
        lifecycle: None,
        objects: Default::default(),
    };
    let os = &mut state.object_storage;
    os.active = true;
    let answer = bucket_json(os, &bucket);
    os.buckets.insert(bucket_id(&region, label), bucket);
    ok(answer)
}

#[cfg(test)]
mod tests {
    use super::label_ok;

    #[test]
    fn labels_follow_the_spec_pattern() {
        for good in ["abc", "lkeobs-example-a1b2c3-metrics", "a.b-c", "123"] {
            assert!(label_ok(good), "{good}");
        }
        for bad in [
            "ab",
            "Abc",
            "a--b",
            "a..b",
            "-ab",
            "ab-",
            ".ab",
            "ab.",
            "a_b",
            "a.-b",
            &"a".repeat(64),
        ] {
            assert!(!label_ok(bad), "{bad}");
        }
    }
}
