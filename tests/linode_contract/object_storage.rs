//! Object Storage request bodies against the schemas that describe them, and why each schema:
//!
//! - **Key create** (`POST /object-storage/keys`): spec 4.189's requestBody as it is, and linode-cli's
//!   baked `keys-create` operation (4.229.1).
//! - **Bucket create** (`POST /object-storage/buckets`): spec 4.189's requestBody with two corrections, each
//!   asserted so a newer spec makes this test speak up:
//!   1. 4.189 lists `cluster` as required although the schema has no `cluster` property (and
//!      `additionalProperties: false`), so no body could pass; every client sends `region` instead.
//!      The correction drops `cluster` from `required`.
//!   2. `endpoint_type` (`E0`–`E3`) came after 4.189 (techdocs changelog v4.193.0; linodego
//!      `ObjectStorageBucketCreateOptions.EndpointType`), and linode-cli 5.69's baked operations (4.229.1)
//!      have no bucket operations at all to check it against. The correction adds it as that enum.
//!
//!   On top of the schema, lkeobs' own rule: never `cors_enabled` (E2/E3 do not support it) and `acl`
//!   only `private` or omitted; the schema would accept both, so they are checked here.

use lkeobs::linode::{BucketAcl, CreateBucket, CreateObjectStorageKey, EndpointType};
use serde_json::{Value, json};

use super::{CLI_ENV, SPEC_ENV, openapi};

fn bucket(endpoint_type: Option<EndpointType>, acl: Option<BucketAcl>) -> Value {
    serde_json::to_value(CreateBucket {
        label: "lkeobs-demo-a1b2c3-metrics".into(),
        region: "us-ord".into(),
        endpoint_type,
        acl,
    })
    .unwrap()
}

fn key() -> Value {
    let key = CreateObjectStorageKey::limited_read_write(
        "lkeobs-demo",
        [
            ("us-ord", "lkeobs-demo-a1b2c3-metrics"),
            ("us-ord", "lkeobs-demo-a1b2c3-logs"),
            ("us-ord", "lkeobs-demo-a1b2c3-traces"),
        ],
    );
    serde_json::to_value(key).unwrap()
}

/// Spec 4.189's bucket-create schema with the two documented corrections.
fn corrected_bucket_schema(spec: &Value) -> Value {
    let mut schema = openapi::request_schema(spec, "POST", "/object-storage/buckets");
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        required.contains(&"cluster") && schema["properties"].get("cluster").is_none(),
        "spec 4.189's bucket create no longer requires a `cluster` it does not define: drop correction 1"
    );
    assert_eq!(schema["additionalProperties"], json!(false));
    assert!(
        schema["properties"].get("endpoint_type").is_none(),
        "the spec now defines `endpoint_type`: drop correction 2"
    );
    schema["required"] = json!(["label"]);
    schema["properties"]["endpoint_type"] = json!({"type": "string", "enum": ["E0", "E1", "E2", "E3"]});
    schema
}

#[test]
fn bucket_create_bodies_match_the_corrected_spec_and_lkeobs_rule() {
    let Some(spec) = openapi::load(SPEC_ENV, "openapi.json") else {
        return;
    };
    let schema = corrected_bucket_schema(&spec);
    let mut failures = Vec::new();
    for (name, body) in [
        ("bucket create, as up sends it", bucket(Some(EndpointType::E3), None)),
        (
            "bucket create, no endpoint type, acl private",
            bucket(None, Some(BucketAcl::Private)),
        ),
    ] {
        for v in openapi::violations(&schema, &body) {
            failures.push(format!("{name}: {v}\n  body: {body}"));
        }
        let fields: Vec<&String> = body.as_object().unwrap().keys().collect();
        if fields
            .iter()
            .any(|f| !["label", "region", "endpoint_type", "acl"].contains(&f.as_str()))
        {
            failures.push(format!("{name}: a field lkeobs never sends: {fields:?}"));
        }
        if body.get("acl").is_some_and(|acl| acl != "private") {
            failures.push(format!("{name}: acl other than private: {body}"));
        }
    }
    // The region without `endpoint_type` passes even the uncorrected-for-newer-fields schema.
    let mut plain_schema = openapi::request_schema(&spec, "POST", "/object-storage/buckets");
    plain_schema["required"] = json!(["label"]);
    assert!(openapi::violations(&plain_schema, &bucket(None, None)).is_empty());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_bucket_checks_reject_drift() {
    let Some(spec) = openapi::load(SPEC_ENV, "openapi.json") else {
        return;
    };
    let schema = corrected_bucket_schema(&spec);
    let good = bucket(Some(EndpointType::E2), None);
    assert!(openapi::violations(&schema, &good).is_empty());
    let mut extra = good.clone();
    extra["bogus"] = json!(1);
    assert!(!openapi::violations(&schema, &extra).is_empty(), "extra field accepted");
    let mut bad_type = good.clone();
    bad_type["endpoint_type"] = json!("E9");
    assert!(
        !openapi::violations(&schema, &bad_type).is_empty(),
        "unknown endpoint type accepted"
    );
    let mut bad_label = good.clone();
    bad_label["label"] = json!("Lkeobs--Demo");
    assert!(
        !openapi::violations(&schema, &bad_label).is_empty(),
        "bad label accepted"
    );
    let mut no_label = good;
    no_label.as_object_mut().unwrap().remove("label");
    assert!(
        !openapi::violations(&schema, &no_label).is_empty(),
        "missing label accepted"
    );
}

#[test]
fn bucket_operations_are_not_in_the_newer_cli_operations() {
    let Some(ops) = openapi::load(CLI_ENV, "linode-cli-5.69.0-baked-ops.json") else {
        return;
    };
    // Why the bucket body is checked against the corrected 4.189 schema: 4.229.1 has nothing to check it with.
    let bucket_ops: Vec<String> = ops["commands"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(Value::as_object)
        .flat_map(|group| group.values())
        .filter_map(|op| op["url_path"].as_str())
        .filter(|p| p.contains("/object-storage/buckets") && !p.ends_with("/ssl"))
        .map(str::to_string)
        .collect();
    assert!(
        bucket_ops.is_empty(),
        "linode-cli now has bucket operations {bucket_ops:?}: check CreateBucket against them"
    );
}

#[test]
fn key_create_matches_the_spec_and_the_newer_cli_operation() {
    let Some(spec) = openapi::load(SPEC_ENV, "openapi.json") else {
        return;
    };
    let Some(ops) = openapi::load(CLI_ENV, "linode-cli-5.69.0-baked-ops.json") else {
        return;
    };
    let body = key();
    assert_eq!(body["bucket_access"].as_array().map(Vec::len), Some(3));
    assert!(body.get("regions").is_none(), "lkeobs' keys create no buckets");
    let schema = openapi::request_schema(&spec, "POST", "/object-storage/keys");
    let mut failures = openapi::violations(&schema, &body);
    let op = openapi::cli_operation(&ops, "POST", "/object-storage/keys");
    failures.extend(openapi::cli_violations(op, &body));
    assert!(failures.is_empty(), "{}\n  body: {body}", failures.join("\n"));
    let mut drift = body;
    drift["bucket_access"][0]["permissions"] = json!("admin");
    assert!(
        !openapi::violations(&schema, &drift).is_empty(),
        "bad permission accepted"
    );
    drift["bucket_access"][0]["permissions"] = json!("read_write");
    drift["bucket_access"][0]["bogus"] = json!(1);
    assert!(!openapi::violations(&schema, &drift).is_empty(), "extra field accepted");
}
