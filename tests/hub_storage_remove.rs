//! Removing the hub's object storage (`ops::hub_storage::remove`) against the simulator: 2,500 objects
//! emptied in DeleteObjects batches and nothing left, a deadline that cannot be met (the 1-day expiry rule
//! and the bucket reported), the ownership rule, and no secret in any output.

use crate::support;

use std::time::Duration;

use lkeobs::linode::{BucketSignal, BucketSuffix, CreateObjectStorageKey, bucket_name};
use lkeobs::ops::hub_storage::{
    HubStorage, KnownKey, Marker, OWNER_MARKER, Preflight, ensure, observe, preflight, remove, secret_data,
};
use lkeobs::sim::object_storage::Version;
use support::linode_fake::{LinodeFake, State};
use tokio::time::Instant;

const FLEET: &str = "demo";
const REGION: &str = "us-ord";

async fn sim() -> LinodeFake {
    let mut state = State::seeded();
    state.object_storage.key_propagation = Duration::ZERO;
    LinodeFake::start_with(state).await
}

async fn pre(fake: &LinodeFake) -> Preflight {
    preflight(&fake.client(), REGION).await.expect("preflight")
}

fn known(storage: &HubStorage) -> KnownKey {
    KnownKey::from_secret_data(&secret_data(storage)).expect("the secret data reads back")
}

/// Puts `n` objects straight into a bucket's state (S3 round trips would only slow the test).
fn fill(fake: &LinodeFake, bucket: &str, n: usize) {
    let mut st = fake.state();
    let b = st
        .object_storage
        .buckets
        .get_mut(&format!("{REGION}/{bucket}"))
        .expect("bucket");
    for i in 0..n {
        b.objects.insert(
            format!("chunks/{i:05}"),
            vec![Version {
                id: "null".into(),
                marker: false,
                data: b"x".to_vec(),
                etag: "9dd4e461268c8034f5c8564e155c67a6".into(),
                modified: 0,
                content_type: "application/octet-stream".into(),
            }],
        );
    }
}

fn s3_count(fake: &LinodeFake, needle: &str) -> usize {
    fake.state()
        .object_storage
        .s3_log
        .iter()
        .filter(|l| l.contains(needle))
        .count()
}

#[tokio::test]
async fn remove_empties_2500_objects_in_batches_and_leaves_no_bucket_and_no_key() {
    let fake = sim().await;
    let client = fake.client();
    let storage = ensure(&client, FLEET, &pre(&fake).await, None, None).await.unwrap();
    fill(&fake, &storage.buckets.logs, 2500);
    let removal = remove(&client, FLEET, Some(&known(&storage)), None).await.unwrap();
    assert!(removal.complete(), "{removal:?}");
    let mut deleted = removal.deleted.clone();
    deleted.sort();
    let mut want: Vec<String> = storage.buckets.all().iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(deleted, want);
    assert_eq!(removal.objects_deleted, 2500 + 3, "the objects and the three markers");
    let batches = s3_count(&fake, &format!("POST /{}?delete -> 200", storage.buckets.logs));
    assert!(batches >= 3, "2,501 keys in batches of at most 1000: {batches}");
    assert!(client.list_buckets().await.unwrap().is_empty());
    assert!(client.list_object_storage_keys().await.unwrap().is_empty());
    assert_eq!(removal.keys_revoked, [storage.key_id]);
    assert!(observe(&client, FLEET, None).await.unwrap().is_empty());
    // The fleet key did the work: no teardown key was made.
    assert_eq!(fake.state().processed("POST", "/object-storage/keys"), 1);
    assert_eq!(
        fake.writes()
            .iter()
            .filter(|w| w.contains("/object-storage/cancel"))
            .count(),
        0
    );
}

#[tokio::test]
async fn a_deadline_that_cannot_be_met_leaves_the_bucket_with_the_expiry_rule_and_the_next_run_finishes() {
    let fake = sim().await;
    let client = fake.client();
    let storage = ensure(&client, FLEET, &pre(&fake).await, None, None).await.unwrap();
    const FILL: usize = 10_000;
    fill(&fake, &storage.buckets.metrics, FILL);
    let chunks_left = || {
        let st = fake.state();
        st.object_storage.buckets[&format!("{REGION}/{}", storage.buckets.metrics)]
            .objects
            .keys()
            .filter(|k| k.starts_with("chunks/"))
            .count()
    };
    // Deadlines from 1 ms, doubled until one lands after the emptying began (the marker, first in key
    // order, is then gone with the first batch) and long before its end.
    let mut budget = Duration::from_millis(1);
    let removal = loop {
        let removal = remove(&client, FLEET, None, Some(Instant::now() + budget))
            .await
            .unwrap();
        assert!(!removal.complete(), "{FILL} objects emptied within {budget:?}");
        if chunks_left() < FILL {
            break removal;
        }
        budget *= 2;
        assert!(budget < Duration::from_secs(5), "no deletion started within {budget:?}");
    };
    assert!(chunks_left() > 0);
    let left: Vec<_> = removal.left_behind.iter().map(|l| l.bucket.as_str()).collect();
    assert!(left.contains(&storage.buckets.metrics.as_str()), "{removal:?}");
    let metrics = removal
        .left_behind
        .iter()
        .find(|l| l.bucket == storage.buckets.metrics)
        .unwrap();
    assert!(
        metrics.lifecycle_set && metrics.objects_left.is_some_and(|n| n > 0),
        "{metrics:?}"
    );
    {
        let st = fake.state();
        let b = &st.object_storage.buckets[&format!("{REGION}/{}", storage.buckets.metrics)];
        let rule = b.lifecycle.as_deref().expect("a lifecycle rule");
        assert!(rule.contains("<Days>1</Days>"), "{rule}");
        assert!(b.current(OWNER_MARKER).is_some(), "the marker is back for the next run");
    }
    assert!(
        client.list_object_storage_keys().await.unwrap().is_empty(),
        "keys revoked anyway"
    );
    let json = serde_json::to_value(&removal).unwrap();
    let entry = json["left_behind"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["bucket"] == storage.buckets.metrics.as_str())
        .cloned()
        .unwrap();
    assert_eq!(entry["lifecycle_set"], true, "{json}");

    // The next teardown has no fleet key: a temporary one does the job and is revoked after.
    let again = remove(&client, FLEET, None, None).await.unwrap();
    assert!(again.complete(), "{again:?}");
    assert!(again.deleted.contains(&storage.buckets.metrics), "{again:?}");
    assert!(client.list_buckets().await.unwrap().is_empty());
    assert!(client.list_object_storage_keys().await.unwrap().is_empty());
    assert_eq!(again.keys_revoked.len(), 1, "the teardown key");
}

#[tokio::test]
async fn remove_keeps_other_fleets_buckets_and_unmarked_buckets_with_data() {
    let fake = sim().await;
    let client = fake.client();
    let pre = pre(&fake).await;
    let ours = ensure(&client, FLEET, &pre, None, None).await.unwrap();
    // Another set under the fleet's name: one marked by another fleet, one with data and no marker, one empty
    // and unmarked (a run stopped before its marker).
    let suffix = BucketSuffix::parse("zzzzzz").unwrap();
    let [foreign, data, empty] = BucketSignal::ALL.map(|s| bucket_name(FLEET, &suffix, s));
    for label in [&foreign, &data, &empty] {
        support::create_bucket(&client, label, REGION).await;
    }
    fill(&fake, &data, 2);
    {
        let mut st = fake.state();
        let b = st
            .object_storage
            .buckets
            .get_mut(&format!("{REGION}/{foreign}"))
            .unwrap();
        b.objects.insert(
            OWNER_MARKER.into(),
            vec![Version {
                id: "null".into(),
                marker: false,
                data: Marker::new("someone").body(),
                etag: String::new(),
                modified: 0,
                content_type: "application/json".into(),
            }],
        );
    }
    let removal = remove(&client, FLEET, Some(&known(&ours)), None).await.unwrap();
    let skipped: Vec<_> = removal.skipped.iter().map(|s| s.bucket.clone()).collect();
    assert_eq!(skipped.len(), 2, "{removal:?}");
    assert!(skipped.contains(&foreign) && skipped.contains(&data), "{removal:?}");
    assert!(
        removal.skipped.iter().any(|s| s.reason.contains("\"someone\"")),
        "{removal:?}"
    );
    assert!(
        removal.deleted.contains(&empty),
        "an empty unmarked bucket goes: {removal:?}"
    );
    let left: Vec<String> = client
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.label)
        .collect();
    let mut want = vec![foreign.clone(), data.clone()];
    want.sort();
    let mut left_sorted = left.clone();
    left_sorted.sort();
    assert_eq!(left_sorted, want);
    assert_eq!(
        fake.state().object_storage.buckets[&format!("{REGION}/{data}")].object_count(),
        2
    );
}

#[tokio::test]
async fn the_secret_never_appears_in_debug_display_or_json() {
    let fake = sim().await;
    let client = fake.client();
    let pre = pre(&fake).await;
    let storage = ensure(&client, FLEET, &pre, None, None).await.unwrap();
    let secret = secret_data(&storage)["AWS_SECRET_ACCESS_KEY"].clone();
    assert_eq!(secret.len(), 40);
    let k = known(&storage);
    let observed = observe(&client, FLEET, Some(&k)).await.unwrap();
    // An error made while holding the key: a marker of another fleet in one bucket.
    {
        let mut st = fake.state();
        let b = st
            .object_storage
            .buckets
            .get_mut(&format!("{REGION}/{}", storage.buckets.traces))
            .unwrap();
        b.objects.get_mut(OWNER_MARKER).unwrap()[0].data = b"other".to_vec();
    }
    let err = ensure(&client, FLEET, &pre, Some(&k), None).await.unwrap_err();
    let removal = remove(&client, FLEET, Some(&k), None).await.unwrap();
    let texts = [
        format!("{storage:?}"),
        format!("{storage:#?}"),
        format!("{k:?}"),
        serde_json::to_string(&storage).unwrap(),
        format!("{observed:?}"),
        serde_json::to_string(&observed).unwrap(),
        format!("{err:?}"),
        err.to_string(),
        lkeobs::Error::from(err).to_string(),
        format!("{removal:?}"),
        serde_json::to_string(&removal).unwrap(),
    ];
    for text in &texts {
        assert!(!text.contains(&secret), "the secret leaked: {text}");
    }
    assert!(texts[0].contains("[REDACTED]") && texts[2].contains("[REDACTED]"));
    assert!(texts[7].contains("\"other\""), "{}", texts[7]);
}

#[tokio::test]
async fn a_limited_key_grants_at_most_25_buckets_and_remove_works_with_teardown_keys_of_25() {
    let fake = sim().await;
    let client = fake.client();
    let mut made = Vec::new();
    for i in 0..27 {
        let suffix = BucketSuffix::parse(&format!("sfx{i:03}")).unwrap();
        let label = bucket_name(FLEET, &suffix, BucketSignal::Metrics);
        made.push(support::create_bucket(&client, &label, REGION).await);
    }
    // The platform's limit, in the simulator.
    let too_many = CreateObjectStorageKey::limited_read_write(
        "too-many",
        made[..26].iter().map(|b| (b.region.as_str(), b.label.as_str())),
    );
    let err = client.create_object_storage_key(&too_many).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("bucket_access"), "{err}");
    // Unmarked and empty (runs stopped before their markers): removed, with two teardown keys.
    let removal = remove(&client, FLEET, None, None).await.unwrap();
    assert_eq!(removal.deleted.len(), 27, "{removal:?}");
    assert_eq!(
        fake.state().processed("POST", "/object-storage/keys"),
        1 + 2,
        "the refused one and two teardown keys"
    );
    assert_eq!(removal.keys_revoked.len(), 2);
    assert!(client.list_buckets().await.unwrap().is_empty());
    assert!(client.list_object_storage_keys().await.unwrap().is_empty());
}
