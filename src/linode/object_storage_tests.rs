//! Unit tests of `object_storage.rs`: recorded real answers and the spec's examples decode; the S3 host,
//! the endpoint choice, the secret kept out of Debug and JSON.

use secrecy::ExposeSecret;
use serde_json::json;

use super::*;

/// linodego `test/integration/fixtures/TestObjectStorageKeys_Regional_Limited.yaml` (commit 01be991):
/// the real create answer of a bucket in a newer region, before `endpoint_type` existed.
const RECORDED_BUCKET_US_IAD: &str = r#"{"hostname": "go-bucket-test-def.us-iad-1.linodeobjects.com", "label":
      "go-bucket-test-def", "created": "2018-01-02T03:04:05", "region": "us-iad",
      "cluster": "us-iad-1", "size": 0, "objects": 0}"#;

/// The real bucket answer quoted in research HUB-SCALE-OUT §1.2 (linodego fixture at 676b9db); the
/// research elides `hostname`, filled in here as `<label>.<s3_endpoint>`.
const RECORDED_BUCKET_AU_MEL: &str = r#"{"hostname": "go-bucket-1.au-mel-1.linodeobjects.com",
      "label": "go-bucket-1", "region": "au-mel", "cluster": "", "size": 0, "objects": 0,
      "endpoint_type": "E2", "s3_endpoint": "au-mel-1.linodeobjects.com"}"#;

/// The same linodego fixture: the real key create answer (secret sanitized by the recorder).
const RECORDED_KEY: &str = r#"{"id": 1174004, "label": "go-test-def", "access_key": "[SANITIZED]", "secret_key":
      "[SANITIZED]", "limited": true, "bucket_access": [{"cluster": "us-iad-1", "bucket_name":
      "go-bucket-test-def", "permissions": "read_only", "region": "us-iad"}], "regions":
      [{"id": "us-iad", "s3_endpoint": "us-iad-1.linodeobjects.com"}, {"id": "us-east",
      "s3_endpoint": "us-east-1.linodeobjects.com"}]}"#;

/// The same fixture's key update answer: later answers carry `[REDACTED]`, not the secret.
const RECORDED_KEY_LATER: &str = r#"{"id": 1174004, "label": "go-test-def", "access_key": "[SANITIZED]", "secret_key":
      "[REDACTED]", "limited": true, "bucket_access": [{"cluster": "us-iad-1", "bucket_name":
      "go-bucket-test-def", "permissions": "read_only", "region": "us-iad"}], "regions":
      [{"id": "us-east", "s3_endpoint": "us-east-1.linodeobjects.com"}]}"#;

#[test]
fn recorded_bucket_answers_decode_and_give_the_s3_host() {
    let old: Bucket = serde_json::from_str(RECORDED_BUCKET_US_IAD).unwrap();
    assert_eq!(old.cluster, "us-iad-1");
    assert_eq!(old.endpoint_type, None);
    assert_eq!(s3_host(&old), "us-iad-1.linodeobjects.com");
    let new: Bucket = serde_json::from_str(RECORDED_BUCKET_AU_MEL).unwrap();
    assert_eq!(new.endpoint_type, Some(EndpointType::E2));
    assert_eq!(new.cluster, "");
    assert_eq!(s3_host(&new), "au-mel-1.linodeobjects.com");
}

#[test]
fn s3_host_strips_a_scheme_and_prefers_the_endpoint_over_the_hostname() {
    let mut b: Bucket = serde_json::from_str(RECORDED_BUCKET_AU_MEL).unwrap();
    // linodego's unit fixtures carry a scheme (synthetic, but strip it).
    b.s3_endpoint = Some("https://s3.us-east-1.linodeobjects.com/".into());
    assert_eq!(s3_host(&b), "s3.us-east-1.linodeobjects.com");
    // The endpoint wins over a hostname on another host (several clusters in one region).
    b.s3_endpoint = Some("au-mel-2.linodeobjects.com".into());
    assert_eq!(s3_host(&b), "au-mel-2.linodeobjects.com");
    // A loopback endpoint keeps its port.
    b.s3_endpoint = Some("http://127.0.0.1:9000".into());
    assert_eq!(s3_host(&b), "127.0.0.1:9000");
    b.s3_endpoint = Some(String::new());
    assert_eq!(s3_host(&b), "au-mel-1.linodeobjects.com");
}

#[test]
fn the_spec_example_bucket_decodes() {
    // Spec 4.189 `object-storage-bucket` example values.
    let b: Bucket = serde_json::from_value(json!({
        "cluster": "us-east-1", "created": "2019-01-01T01:23:45",
        "hostname": "example-bucket-1.us-east-12.linodeobjects.com", "label": "example-bucket",
        "objects": 4, "region": "us-east", "size": 188_318_981
    }))
    .unwrap();
    assert_eq!(b.size, 188_318_981);
    assert_eq!(b.objects, 4);
}

#[test]
fn endpoints_may_have_no_s3_host_and_the_best_type_wins() {
    let list: Vec<ObjectStorageEndpoint> = serde_json::from_value(json!([
        {"region": "us-east", "endpoint_type": "E0", "s3_endpoint": "us-east-1.linodeobjects.com"},
        {"region": "us-ord", "endpoint_type": "E1", "s3_endpoint": "us-ord-1.linodeobjects.com"},
        {"region": "us-ord", "endpoint_type": "E3", "s3_endpoint": null},
        {"region": "us-ord", "endpoint_type": "E2", "s3_endpoint": "us-ord-10.linodeobjects.com"},
        {"region": "gb-lon", "endpoint_type": "E3", "s3_endpoint": "gb-lon-1.linodeobjects.com"}
    ]))
    .unwrap();
    assert_eq!(
        pick_endpoint(&list, "us-ord").map(|e| e.endpoint_type),
        Some(EndpointType::E3)
    );
    assert_eq!(pick_endpoint(&list, "us-ord").and_then(|e| e.s3_endpoint.clone()), None);
    assert_eq!(
        pick_endpoint(&list, "us-east").map(|e| e.endpoint_type),
        Some(EndpointType::E0)
    );
    assert!(pick_endpoint(&list, "br-gru").is_none());
    let without_e3: Vec<_> = list
        .iter()
        .filter(|e| e.endpoint_type != EndpointType::E3)
        .cloned()
        .collect();
    assert_eq!(
        pick_endpoint(&without_e3, "us-ord").map(|e| e.endpoint_type),
        Some(EndpointType::E2)
    );
}

#[test]
fn a_recorded_key_decodes_and_its_secret_stays_out_of_debug_and_json() {
    let key: ObjectStorageKey = serde_json::from_str(RECORDED_KEY).unwrap();
    assert!(key.limited);
    assert_eq!(key.bucket_access[0].permissions, BucketPermission::ReadOnly);
    assert_eq!(
        key.regions[1].s3_endpoint.as_deref(),
        Some("us-east-1.linodeobjects.com")
    );
    assert_eq!(
        key.secret_key.as_ref().map(|s| s.expose_secret().to_string()),
        Some("[SANITIZED]".into())
    );
    let later: ObjectStorageKey = serde_json::from_str(RECORDED_KEY_LATER).unwrap();
    assert!(later.secret_key.is_none(), "[REDACTED] is no secret");

    let mut real: ObjectStorageKey = serde_json::from_str(RECORDED_KEY).unwrap();
    real.secret_key = Some(SecretString::from("s3cr3t-VALUE-42"));
    let debug = format!("{real:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
    let json = serde_json::to_string(&real).unwrap();
    assert!(!json.contains("s3cr3t") && !json.contains("secret_key"), "{json}");
}

#[test]
fn types_keep_a_null_monthly_as_none_and_pick_region_prices() {
    // The values Cloud Manager's factories and the research §1.5 record.
    let types: Vec<ObjectStorageType> = serde_json::from_value(json!([
        {"id": "objectstorage", "label": "Object Storage", "price": {"hourly": 0.0075, "monthly": 5.0},
         "region_prices": [], "transfer": 1000},
        {"id": "objectstorage-overage", "label": "Object Storage Overage",
         "price": {"hourly": 0.02, "monthly": null},
         "region_prices": [{"id": "id-cgk", "hourly": 0.024, "monthly": null},
                           {"id": "br-gru", "hourly": 0.028, "monthly": null}], "transfer": 0}
    ]))
    .unwrap();
    assert_eq!(types[0].price.monthly, Some(5.0));
    let overage = &types[1];
    assert_eq!(overage.price.monthly, None);
    assert_eq!(overage.price_in("br-gru").hourly, Some(0.028));
    assert_eq!(overage.price_in("us-ord").hourly, Some(0.02));
    assert_eq!(overage.price_in("us-ord").monthly, None);
    // The spec example (4.189) decodes too.
    let spec: ObjectStorageType = serde_json::from_value(json!({
        "id": "objectstorage", "label": "Object Storage", "price": {"hourly": 0.0015, "monthly": 0.1},
        "region_prices": [{"id": "us-east", "hourly": 0.00018, "monthly": 0.12}], "transfer": 0
    }))
    .unwrap();
    assert_eq!(spec.price_in("us-east").monthly, Some(0.12));
}

#[test]
fn account_settings_read_the_enrolment() {
    // Spec 4.189 `account-settings` example.
    let s: AccountSettings = serde_json::from_value(json!({
        "backups_enabled": true, "longview_subscription": "longview-3", "managed": true,
        "network_helper": false, "object_storage": "active"
    }))
    .unwrap();
    assert_eq!(s.object_storage, ObjectStorageStatus::Active);
    let s: AccountSettings = serde_json::from_value(json!({"object_storage": "suspended"})).unwrap();
    assert_eq!(s.object_storage, ObjectStorageStatus::Suspended);
    let s: AccountSettings = serde_json::from_value(json!({})).unwrap();
    assert_eq!(s.object_storage, ObjectStorageStatus::Disabled, "the spec's default");
}

#[test]
fn bodies_carry_only_the_fields_lkeobs_sends() {
    let create = CreateBucket {
        label: "lkeobs-demo-a1b2c3-logs".into(),
        region: "us-ord".into(),
        endpoint_type: Some(EndpointType::E3),
        acl: None,
    };
    assert_eq!(
        serde_json::to_value(&create).unwrap(),
        json!({"label": "lkeobs-demo-a1b2c3-logs", "region": "us-ord", "endpoint_type": "E3"})
    );
    let key = CreateObjectStorageKey::limited_read_write("lkeobs-demo", [("us-ord", "b1"), ("us-ord", "b2")]);
    assert_eq!(
        serde_json::to_value(&key).unwrap(),
        json!({"label": "lkeobs-demo", "bucket_access": [
            {"region": "us-ord", "bucket_name": "b1", "permissions": "read_write"},
            {"region": "us-ord", "bucket_name": "b2", "permissions": "read_write"}]})
    );
}
