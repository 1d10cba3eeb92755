//! The hub's object storage (`ops::hub_storage`) against the simulator's Object Storage API and S3 data
//! plane: preflight, ensure from empty and again (nothing written), a run stopped after the bucket creates,
//! a lost secret, a lost key-create answer, names taken by other customers, observe.
//! Removal is in `hub_storage_remove.rs`.

use crate::support;
use crate::tooling;

use std::time::Duration;

use lkeobs::linode::{BucketSignal, BucketSuffix, ObjectStorageStatus, bucket_name};
use lkeobs::objstore::{LifecycleConfiguration, S3Client, S3Config};
use lkeobs::ops::hub_storage::{
    self, Change, HubStorageError, KnownKey, OWNER_MARKER, Ownership, Preflight, ensure, ensure_buckets,
    ensure_buckets_drawing, observe, preflight, secret_data,
};
use support::linode_fake::{LinodeFake, State};

const FLEET: &str = "demo";
const REGION: &str = "us-ord";

async fn sim(propagation: Duration) -> LinodeFake {
    let mut state = State::seeded();
    state.object_storage.key_propagation = propagation;
    LinodeFake::start_with(state).await
}

async fn pre(fake: &LinodeFake) -> Preflight {
    preflight(&fake.client(), REGION).await.expect("preflight")
}

fn known(storage: &hub_storage::HubStorage) -> KnownKey {
    KnownKey::from_secret_data(&secret_data(storage)).expect("the secret data reads back")
}

/// Writes to the API (`METHOD /path`) and the S3 requests other than reads, so far.
fn writes(fake: &LinodeFake) -> (Vec<String>, Vec<String>) {
    let s3 = fake
        .state()
        .object_storage
        .s3_log
        .iter()
        .filter(|l| !l.starts_with("GET ") && !l.starts_with("HEAD "))
        .cloned()
        .collect();
    (fake.writes(), s3)
}

#[tokio::test]
async fn preflight_picks_the_newest_endpoint_and_names_the_region_it_refuses() {
    let mut state = State::seeded();
    // de-fra-2 lists the capability; without its endpoint the account cannot use it there.
    state.object_storage.endpoints.retain(|e| e.region != "de-fra-2");
    let fake = LinodeFake::start_with(state).await;
    let client = fake.client();
    let ok = preflight(&client, REGION).await.unwrap();
    assert_eq!(ok.endpoint.endpoint_type, lkeobs::linode::EndpointType::E3, "{ok:?}");
    assert_eq!(ok.account, Some(ObjectStorageStatus::Disabled));
    assert!(!ok.enrolled());
    for (region, want) in [
        ("us-nolke", "does not offer Object Storage"),
        ("de-fra-2", "has no S3 endpoint"),
        ("xx-nowhere", "is not a Linode region"),
    ] {
        let err = preflight(&client, region).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("{region:?}")) && text.contains(want), "{text}");
        assert!(text.contains("[hub] region"), "{text}");
        assert_eq!(lkeobs::Error::from(err).exit_code(), 2, "{text}");
    }
}

#[tokio::test]
async fn ensure_from_empty_makes_three_buckets_one_key_three_markers_and_again_writes_nothing() {
    // Keys take 300 ms to reach S3: the markers are written through the fresh key's 403 window.
    let fake = sim(Duration::from_millis(300)).await;
    let client = fake.client();
    let pre = pre(&fake).await;
    let storage = ensure(&client, FLEET, &pre, None, None).await.unwrap();

    let buckets = client.list_buckets().await.unwrap();
    assert_eq!(buckets.len(), 3, "{buckets:?}");
    let suffix = storage.buckets.metrics.split('-').nth(2).unwrap().to_string();
    let suffix = BucketSuffix::parse(&suffix).expect("a suffix");
    for signal in BucketSignal::ALL {
        let name = bucket_name(FLEET, &suffix, signal);
        assert_eq!(storage.buckets.get(signal), name);
        assert!(buckets.iter().any(|b| b.label == name && b.region == REGION));
    }
    assert_eq!(storage.endpoint_type, Some(lkeobs::linode::EndpointType::E3));
    // The host comes from the API's s3_endpoint (the simulator's listener), not from the region name.
    assert_eq!(storage.s3_host, buckets[0].s3_endpoint.clone().unwrap());
    let keys = client.list_object_storage_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].label, "lkeobs-demo");
    assert_eq!(keys[0].id, storage.key_id);
    let mut granted: Vec<_> = keys[0].bucket_access.iter().map(|a| a.bucket_name.clone()).collect();
    granted.sort();
    let mut want: Vec<String> = storage.buckets.all().iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(granted, want, "read_write on exactly the three buckets");
    assert!(
        keys[0]
            .bucket_access
            .iter()
            .all(|a| a.permissions == lkeobs::linode::BucketPermission::ReadWrite)
    );
    {
        let st = fake.state();
        for b in storage.buckets.all() {
            let bucket = &st.object_storage.buckets[&format!("{REGION}/{b}")];
            let marker = bucket.current(OWNER_MARKER).expect("marker");
            assert_eq!(hub_storage::ownership(Some(&marker.data), FLEET), Ownership::Ours);
        }
        let forbidden = st
            .object_storage
            .s3_log
            .iter()
            .filter(|l| l.ends_with("-> 403"))
            .count();
        assert!(
            forbidden > 0,
            "the fresh key's 403s were retried: {:?}",
            st.object_storage.s3_log
        );
    }
    assert_eq!(storage.changes.len(), 3 + 1 + 3, "{:?}", storage.changes);
    assert!(storage.key_created());
    let secret = secret_data(&storage);
    assert_eq!(secret["AWS_ACCESS_KEY_ID"], keys[0].access_key);
    assert_eq!(secret["AWS_SECRET_ACCESS_KEY"].len(), 40);

    let before = writes(&fake);
    let again = ensure(&client, FLEET, &pre, Some(&known(&storage)), None)
        .await
        .unwrap();
    assert!(again.unchanged(), "{:?}", again.changes);
    assert_eq!(writes(&fake), before, "a re-run writes nothing (API or S3)");
    assert_eq!(again.buckets, storage.buckets);
    assert_eq!(again.key_id, storage.key_id);
}

#[tokio::test]
async fn a_run_stopped_after_the_bucket_creates_is_finished_without_a_second_bucket_or_key() {
    let fake = sim(Duration::ZERO).await;
    let client = fake.client();
    let pre = pre(&fake).await;
    let (made, changes) = ensure_buckets(&client, FLEET, &pre).await.unwrap();
    assert_eq!((made.len(), changes.len()), (3, 3));
    assert!(client.list_object_storage_keys().await.unwrap().is_empty());

    let storage = ensure(&client, FLEET, &pre, None, None).await.unwrap();
    let created_buckets = storage
        .changes
        .iter()
        .filter(|c| matches!(c, Change::BucketCreated { .. }))
        .count();
    assert_eq!(created_buckets, 0, "{:?}", storage.changes);
    assert_eq!(client.list_buckets().await.unwrap().len(), 3);
    assert_eq!(client.list_object_storage_keys().await.unwrap().len(), 1);
    let labels: Vec<_> = made.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(labels, storage.buckets.all(), "the same buckets, in signal order");
    assert_eq!(fake.state().processed("POST", "/object-storage/buckets"), 3);
    assert_eq!(fake.state().processed("POST", "/object-storage/keys"), 1);
}

#[tokio::test]
async fn a_lost_secret_revokes_the_old_key_and_creates_a_new_one() {
    let fake = sim(Duration::ZERO).await;
    let client = fake.client();
    let pre = pre(&fake).await;
    let first = ensure(&client, FLEET, &pre, None, None).await.unwrap();
    // The hub Secret is gone (no known key), then one that names a key that is not there.
    let second = ensure(&client, FLEET, &pre, None, None).await.unwrap();
    assert_ne!(second.key_id, first.key_id);
    assert!(second.changes.contains(&Change::KeyRevoked {
        id: first.key_id,
        label: "lkeobs-demo".into()
    }));
    assert!(second.key_created());
    let keys = client.list_object_storage_keys().await.unwrap();
    assert_eq!(keys.iter().map(|k| k.id).collect::<Vec<_>>(), [second.key_id]);
    let third = ensure(&client, FLEET, &pre, Some(&known(&first)), None).await.unwrap();
    assert_ne!(third.key_id, second.key_id, "a stale secret is not reused");
    assert_eq!(client.list_object_storage_keys().await.unwrap().len(), 1);
    // No bucket was made again, and the markers stayed.
    assert_eq!(fake.state().processed("POST", "/object-storage/buckets"), 3);
    assert!(!third.changes.iter().any(|c| matches!(c, Change::MarkerWritten { .. })));
}

#[tokio::test]
async fn a_lost_key_create_answer_is_found_by_label_revoked_and_created_again() {
    let fake = sim(Duration::ZERO).await;
    let mut config = fake.config();
    config.timeout = Some(Duration::from_millis(300));
    let client = lkeobs::linode::Client::new(config).unwrap();
    let pre = pre(&fake).await;
    ensure_buckets(&client, FLEET, &pre).await.unwrap();
    {
        let mut st = fake.state();
        st.faults.lose_next_post_answers = 1;
        st.faults.lost_answer_delay = Duration::from_secs(1);
    }
    let storage = ensure(&client, FLEET, &pre, None, None).await.unwrap();
    assert_eq!(fake.state().processed("POST", "/object-storage/keys"), 2);
    let keys = client.list_object_storage_keys().await.unwrap();
    assert_eq!(keys.len(), 1, "the key of the lost answer was revoked: {keys:?}");
    assert_eq!(keys[0].id, storage.key_id);
    assert_eq!(
        storage
            .changes
            .iter()
            .filter(|c| matches!(c, Change::KeyRevoked { .. }))
            .count(),
        1
    );
}

fn suffix(s: &str) -> BucketSuffix {
    BucketSuffix::parse(s).expect("a suffix")
}

#[tokio::test]
async fn a_name_taken_by_another_customer_draws_a_new_suffix_for_all_three() {
    let fake = sim(Duration::ZERO).await;
    let client = fake.client();
    let pre = pre(&fake).await;
    let (taken, fresh) = (suffix("aaaaaa"), suffix("bbbbbb"));
    // The second name of the first suffix is another customer's: the first bucket is made, then dropped.
    let foreign = bucket_name(FLEET, &taken, BucketSignal::Logs);
    fake.state()
        .object_storage
        .foreign
        .entry(REGION.into())
        .or_default()
        .insert(foreign.clone());
    let mut draws = vec![fresh.clone(), taken.clone()];
    let mut draw = move || draws.pop().expect("at most two suffixes drawn");
    let (made, changes) = ensure_buckets_drawing(&client, FLEET, &pre, &mut draw).await.unwrap();
    let names: Vec<String> = made.iter().map(|b| b.label.clone()).collect();
    let want: Vec<String> = BucketSignal::ALL
        .iter()
        .map(|s| bucket_name(FLEET, &fresh, *s))
        .collect();
    assert_eq!(names, want);
    assert_eq!(changes.len(), 3, "{changes:?}");
    let first = bucket_name(FLEET, &taken, BucketSignal::Metrics);
    assert_eq!(
        fake.state()
            .processed("DELETE", &format!("/object-storage/buckets/{REGION}/{first}")),
        1,
        "{:?}",
        fake.writes()
    );
    let mut listed: Vec<String> = client
        .list_buckets()
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.label)
        .collect();
    listed.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(listed, want_sorted, "only the new suffix's buckets remain");
    // The rest of the run reuses them.
    let storage = ensure(&client, FLEET, &pre, None, None).await.unwrap();
    assert_eq!(storage.buckets.logs, bucket_name(FLEET, &fresh, BucketSignal::Logs));
}

#[tokio::test]
async fn names_refused_for_every_suffix_end_in_an_error_naming_the_fleet_and_region() {
    let fake = sim(Duration::ZERO).await;
    let client = fake.client();
    let pre = pre(&fake).await;
    let taken = suffix("cccccc");
    fake.state()
        .object_storage
        .foreign
        .entry(REGION.into())
        .or_default()
        .insert(bucket_name(FLEET, &taken, BucketSignal::Metrics));
    let mut draw = move || taken.clone();
    let err = ensure_buckets_drawing(&client, FLEET, &pre, &mut draw)
        .await
        .unwrap_err();
    assert!(matches!(err, HubStorageError::NoFreeName { tries: 5, .. }), "{err:?}");
    assert!(
        err.to_string().contains(REGION) && err.to_string().contains("\"demo\""),
        "{err}"
    );
    assert!(client.list_buckets().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_name_taken_when_the_fleet_already_has_buckets_is_a_clear_error() {
    let fake = sim(Duration::ZERO).await;
    let client = fake.client();
    let pre = pre(&fake).await;
    let suffix = suffix("dddddd");
    let mine = bucket_name(FLEET, &suffix, BucketSignal::Metrics);
    support::create_bucket(&client, &mine, REGION).await;
    let foreign = bucket_name(FLEET, &suffix, BucketSignal::Logs);
    fake.state()
        .object_storage
        .foreign
        .entry(REGION.into())
        .or_default()
        .insert(foreign.clone());
    let err = ensure(&client, FLEET, &pre, None, None).await.unwrap_err();
    assert!(matches!(err, HubStorageError::NameTaken { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&foreign) && text.contains(&mine) && text.contains(REGION),
        "{text}"
    );
    assert_eq!(client.list_buckets().await.unwrap().len(), 1, "nothing else made");
    assert!(client.list_object_storage_keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn observe_reports_the_fleets_buckets_sizes_owners_and_keys_and_only_its_own() {
    let fake = sim(Duration::ZERO).await;
    let client = fake.client();
    let pre = pre(&fake).await;
    let storage = ensure(&client, FLEET, &pre, None, None).await.unwrap();
    // Fleet `demo-eu` shares the `lkeobs-demo-` prefix: its bucket and key are not demo's.
    ensure(&client, "demo-eu", &pre, None, None).await.unwrap();
    let unchecked = observe(&client, FLEET, None).await.unwrap();
    assert_eq!(unchecked.buckets.len(), 3, "{unchecked:?}");
    assert!(unchecked.buckets.iter().all(|b| b.owner == Ownership::Unchecked));
    assert_eq!(unchecked.keys.len(), 1);
    assert_eq!(unchecked.keys[0].label, "lkeobs-demo");
    let seen = observe(&client, FLEET, Some(&known(&storage))).await.unwrap();
    assert!(seen.buckets.iter().all(|b| b.owner == Ownership::Ours), "{seen:?}");
    // The marker is the one object of each bucket.
    assert!(seen.buckets.iter().all(|b| b.objects == 1 && b.size > 0), "{seen:?}");
    assert_eq!(seen.total_size(), seen.buckets.iter().map(|b| b.size).sum::<u64>());
    let json = serde_json::to_value(&seen).unwrap();
    assert_eq!(json["buckets"][0]["signal"], "logs", "{json}");
    assert_eq!(json["buckets"][0]["owner"]["owner"], "ours", "{json}");
    assert_eq!(seen.describe().len(), 4);
}

#[tokio::test]
async fn a_bucket_used_again_after_a_teardown_left_it_loses_its_expiry_rule() {
    let fake = sim(Duration::ZERO).await;
    let client = fake.client();
    let pre = pre(&fake).await;
    let storage = ensure(&client, FLEET, &pre, None, None).await.unwrap();
    let k = known(&storage);
    let s3 = S3Client::new(S3Config::new(
        &storage.s3_host,
        REGION,
        &k.access_key,
        k.secret_key.clone(),
    ))
    .unwrap();
    s3.put_bucket_lifecycle(
        &storage.buckets.metrics,
        &LifecycleConfiguration::expire_everything_after_a_day(),
    )
    .await
    .unwrap();
    let again = ensure(&client, FLEET, &pre, Some(&k), None).await.unwrap();
    assert_eq!(
        again.changes,
        [Change::LifecycleRemoved {
            bucket: storage.buckets.metrics.clone()
        }]
    );
    assert_eq!(s3.get_bucket_lifecycle(&storage.buckets.metrics).await.unwrap(), None);
}

#[tokio::test]
async fn buckets_under_two_suffixes_are_a_conflict_naming_them_and_nothing_is_written() {
    let fake = sim(Duration::ZERO).await;
    let client = fake.client();
    let pre = pre(&fake).await;
    let mut names = Vec::new();
    for s in ["eeeeee", "ffffff"] {
        let label = bucket_name(FLEET, &suffix(s), BucketSignal::Metrics);
        support::create_bucket(&client, &label, REGION).await;
        names.push(label);
    }
    let before = writes(&fake);
    let err = ensure(&client, FLEET, &pre, None, None).await.unwrap_err();
    let text = err.to_string();
    assert!(names.iter().all(|n| text.contains(n.as_str())), "{text}");
    assert_eq!(lkeobs::Error::from(err).exit_code(), 1);
    assert_eq!(writes(&fake), before);
}

#[tokio::test]
async fn an_ha_fleets_cost_carries_the_object_storage_base_and_overage_with_their_sources() {
    use lkeobs::plan::cost::{ItemKind, Monthly};
    let fake = sim(Duration::ZERO).await;
    let client = fake.client();
    let path = tooling::fleet("ha");
    let fleet = lkeobs::fleet::load(&path).expect("fleet/ha.toml").fleet;
    let renderer = lkeobs::stack::Renderer::new().unwrap();
    let items = |cost: &lkeobs::plan::cost::FleetCost| {
        cost.clusters
            .iter()
            .find(|c| c.name == "hub")
            .map(|c| {
                c.items
                    .iter()
                    .filter(|i| i.kind == ItemKind::ObjectStorage)
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .unwrap()
    };
    // Not enrolled: the base is new cost; the storage beyond 250 GB at the per-GB figure (price.hourly).
    let cost = lkeobs::ops::cost::price(&client, &fleet, None, &renderer)
        .await
        .unwrap();
    let os = items(&cost);
    assert_eq!(os.len(), 2, "{os:#?}");
    assert_eq!(os[0].monthly, Some(Monthly::fixed(5.0)), "{os:#?}");
    let source = os[1].source.as_ref().expect("a source");
    assert_eq!(
        (source.list, source.id.as_str()),
        ("/object-storage/types", "objectstorage-overage")
    );
    assert_eq!(os[1].unit_price, Some(0.02));
    assert!(!cost.not_priced.contains(&"Object Storage"), "{:?}", cost.not_priced);
    let without: f64 = cost
        .clusters
        .iter()
        .flat_map(|c| &c.items)
        .filter(|i| i.kind != ItemKind::ObjectStorage)
        .filter_map(|i| i.monthly)
        .map(|m| m.max)
        .sum();
    assert!(
        (cost.monthly.max - without - os.iter().filter_map(|i| i.monthly).map(|m| m.max).sum::<f64>()).abs() < 0.011,
        "the total counts them"
    );
    // Enrolled (the first bucket enrols the account): the base is shared, no new cost.
    ensure_buckets(&client, FLEET, &pre(&fake).await).await.unwrap();
    let cost = lkeobs::ops::cost::price(&client, &fleet, None, &renderer)
        .await
        .unwrap();
    assert_eq!(items(&cost)[0].monthly, Some(Monthly::fixed(0.0)));
}

/// `status` of an `ha` fleet lists its buckets with their objects and bytes, and its key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_of_an_ha_fleet_shows_its_buckets_and_key() {
    let fake = sim(Duration::ZERO).await;
    let client = fake.client();
    let storage = ensure(&client, "ha", &pre(&fake).await, None, None).await.unwrap();
    let out = tooling::lkeobs()
        .env("LINODE_URL", fake.base_url())
        .env("LINODE_TOKEN", support::FAKE_TOKEN)
        .args(["status", "--output", "json", "--fleet"])
        .arg(tooling::fleet("ha"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let os = &report["object_storage"];
    let mut names: Vec<&str> = os["buckets"]
        .as_array()
        .unwrap_or_else(|| panic!("{}\n{report:#}", String::from_utf8_lossy(&out.stderr)))
        .iter()
        .filter_map(|b| b["label"].as_str())
        .collect();
    names.sort();
    let mut want = storage.buckets.all().to_vec();
    want.sort();
    assert_eq!(names, want, "{os:#}");
    assert_eq!(os["buckets"][0]["objects"], 1, "the owner marker: {os:#}");
    assert_eq!(os["keys"][0]["label"], "lkeobs-ha", "{os:#}");
    use secrecy::ExposeSecret;
    let secret = storage.secret_key.expose_secret();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(secret),
        "the key's secret is in status"
    );
}
