//! The simulator's Linode Object Storage API, as strict as the platform: buckets (idempotent create, names
//! unique across customers, label pattern, non-empty buckets kept), keys (the secret shown once, limited
//! keys, propagation, revocation), enrolment, cancel, endpoints and the state file; and the S3 data plane's
//! authentication, driven with requests signed by AWS's own SigV4 signer (signature, skew, unknown keys,
//! aws-chunked payloads, unsigned requests). The data operations are in `sim_object_storage_s3.rs`.

use crate::support;
use crate::support::s3;

use std::time::{Duration, SystemTime};

use s3::{Api, Payload, S3, bucket, grant, key, start, tags};
use serde_json::json;
use support::linode_fake::State;

#[tokio::test]
async fn buckets_are_created_idempotently_and_foreign_names_bad_labels_and_regions_refused() {
    let (fake, api) = start().await;
    let (_, settings) = api.call("GET", "/account/settings", None).await;
    assert_eq!(settings["object_storage"], "disabled", "a new account is not enrolled");
    let first = bucket(&api, "lkeobs-example-aaaaaa-metrics", "us-ord", json!({})).await;
    assert_eq!(first["endpoint_type"], "E3", "the region's newest endpoint: {first}");
    let host = first["s3_endpoint"].as_str().expect("host");
    assert!(host.starts_with("127.0.0.1:"), "{first}");
    assert_eq!(first["hostname"], format!("lkeobs-example-aaaaaa-metrics.{host}"));
    assert_eq!(
        (first["cluster"].as_str(), first["objects"].as_u64()),
        (Some(""), Some(0))
    );
    let again = bucket(&api, "lkeobs-example-aaaaaa-metrics", "us-ord", json!({})).await;
    assert_eq!(again, first, "the same bucket again, 200");
    let (_, all) = api.call("GET", "/object-storage/buckets", None).await;
    assert_eq!(all["results"], 1);
    let (_, settings) = api.call("GET", "/account/settings", None).await;
    assert_eq!(
        settings["object_storage"], "active",
        "the first bucket enrols the account"
    );

    fake.state()
        .object_storage
        .foreign
        .entry("us-ord".into())
        .or_default()
        .insert("someone-elses".into());
    let refused = [
        (json!({"label": "someone-elses", "region": "us-ord"}), "label"),
        (json!({"label": "ab", "region": "us-ord"}), "label"),
        (json!({"label": "a--b", "region": "us-ord"}), "label"),
        (json!({"label": "a..b", "region": "us-ord"}), "label"),
        (json!({"label": "-abc", "region": "us-ord"}), "label"),
        (json!({"label": "abc.", "region": "us-ord"}), "label"),
        (json!({"label": "Upper", "region": "us-ord"}), "label"),
        (json!({"label": "ok-name", "region": "us-nolke"}), "region"),
        (json!({"label": "ok-name", "region": "xx-nowhere"}), "region"),
        (
            json!({"label": "ok-name", "region": "us-ord", "endpoint_type": "E2"}),
            "endpoint_type",
        ),
        (
            json!({"label": "ok-name", "region": "us-ord", "cors_enabled": true}),
            "cors_enabled",
        ),
    ];
    for (body, field) in refused {
        let (status, answer) = api.call("POST", "/object-storage/buckets", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["errors"][0]["field"], field, "{body} → {answer}");
    }
    // The same name in another region is another bucket; E1 takes CORS.
    bucket(&api, "someone-elses", "de-fra-2", json!({})).await;
    let legacy = bucket(
        &api,
        "ok-name",
        "us-ord",
        json!({"endpoint_type": "E1", "cors_enabled": true}),
    )
    .await;
    assert_eq!(legacy["endpoint_type"], "E1");
    assert_ne!(legacy["s3_endpoint"], first["s3_endpoint"]);
}

#[tokio::test]
async fn a_non_empty_bucket_is_kept_until_every_object_version_and_marker_is_gone() {
    let (_fake, api) = start().await;
    let b = bucket(&api, "keep-me", "us-ord", json!({})).await;
    let (_, s3) = key(&api, &b, Some(grant(&b, "read_write"))).await;
    assert_eq!(s3.send("PUT", "/keep-me/a.txt", &[], b"hello").await.status, 200);
    let (_, got) = api.call("GET", "/object-storage/buckets/us-ord/keep-me", None).await;
    assert_eq!(
        (got["objects"].as_u64(), got["size"].as_u64()),
        (Some(1), Some(5)),
        "{got}"
    );
    let (status, refused) = api.call("DELETE", "/object-storage/buckets/us-ord/keep-me", None).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["errors"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("not empty"),
        "{refused}"
    );

    let versioning = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    let put = s3.send("PUT", "/keep-me?versioning", &[], versioning.as_bytes()).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(s3.send("DELETE", "/keep-me/a.txt", &[], b"").await.status, 204);
    let listed = s3.send("GET", "/keep-me?list-type=2", &[], b"").await;
    assert_eq!(tags(&listed.body, "KeyCount"), ["0"], "only a delete marker is current");
    let (status, _) = api.call("DELETE", "/object-storage/buckets/us-ord/keep-me", None).await;
    assert_eq!(status, 400, "the version and the delete marker still count");
    let versions = s3.send("GET", "/keep-me?versions", &[], b"").await;
    let ids = tags(&versions.body, "VersionId");
    assert_eq!(ids.len(), 2, "{}", versions.body);
    // Newest first: the delete marker, then the object's version. The marker alone still keeps the bucket.
    let gone = s3
        .send("DELETE", &format!("/keep-me/a.txt?versionId={}", ids[1]), &[], b"")
        .await;
    assert_eq!(gone.status, 204);
    let (status, _) = api.call("DELETE", "/object-storage/buckets/us-ord/keep-me", None).await;
    assert_eq!(status, 400, "a delete marker alone still counts");
    let gone = s3
        .send("DELETE", &format!("/keep-me/a.txt?versionId={}", ids[0]), &[], b"")
        .await;
    assert_eq!(gone.status, 204);
    let (status, answer) = api.call("DELETE", "/object-storage/buckets/us-ord/keep-me", None).await;
    assert_eq!((status, answer), (200, json!({})));
}

#[tokio::test]
async fn the_secret_is_only_in_the_create_answer_and_keys_are_checked() {
    let (fake, api) = start().await;
    let b = bucket(&api, "secrets", "us-ord", json!({})).await;
    let (created, _) = key(&api, &b, Some(json!([]))).await;
    let secret = created["secret_key"].as_str().expect("secret").to_string();
    assert_eq!(secret.len(), 40);
    assert_eq!(created["limited"], true, "an empty bucket_access is a limited key");
    let id = created["id"].as_u64().expect("id");
    let path = format!("/object-storage/keys/{id}");
    let (_, listed) = api.call("GET", "/object-storage/keys", None).await;
    let (_, got) = api.call("GET", &path, None).await;
    let (_, put) = api.call("PUT", &path, Some(json!({"label": "renamed"}))).await;
    assert_eq!(put["label"], "renamed");
    for answer in [&listed["data"][0], &got, &put] {
        assert_eq!(answer["secret_key"], "[REDACTED]", "{answer}");
        assert!(!answer.to_string().contains(&secret));
    }
    let missing = json!({"label": "x", "bucket_access": [{"region": "us-ord", "bucket_name": "nope", "permissions": "read_only"}]});
    let (status, _) = api.call("POST", "/object-storage/keys", Some(missing)).await;
    assert_eq!(status, 400, "a grant on a bucket that does not exist");
    fake.state().object_storage.max_keys = 100;
    for _ in 1..100 {
        let (status, _) = api
            .call("POST", "/object-storage/keys", Some(json!({"label": "more"})))
            .await;
        assert_eq!(status, 200);
    }
    let (status, _) = api
        .call("POST", "/object-storage/keys", Some(json!({"label": "101st"})))
        .await;
    assert_eq!(status, 400, "at most 100 keys");
}

#[tokio::test]
async fn limited_keys_reach_only_their_buckets_read_only_refuses_writes_and_new_keys_wait() {
    let (fake, api) = start().await;
    let mine = bucket(&api, "mine", "us-ord", json!({})).await;
    bucket(&api, "other", "us-ord", json!({})).await;
    let (_, rw) = key(&api, &mine, Some(grant(&mine, "read_write"))).await;
    let (_, ro) = key(&api, &mine, Some(grant(&mine, "read_only"))).await;
    assert_eq!(rw.send("PUT", "/mine/x", &[], b"1").await.status, 200);
    let other = rw.send("PUT", "/other/x", &[], b"1").await;
    assert_eq!((other.status, other.code()), (403, "AccessDenied".into()));
    assert_eq!(ro.send("GET", "/mine/x", &[], b"").await.body, "1");
    let write = ro.send("PUT", "/mine/x", &[], b"2").await;
    assert_eq!((write.status, write.code()), (403, "AccessDenied".into()));
    let delete = ro.send("DELETE", "/mine/x", &[], b"").await;
    assert_eq!(delete.status, 403);

    // The platform's cache learns a new limited key within ~30 s; until then it is refused.
    fake.state().object_storage.key_propagation = Duration::from_secs(30);
    let (_, fresh) = key(&api, &mine, Some(grant(&mine, "read_write"))).await;
    let early = fresh.send("GET", "/mine/x", &[], b"").await;
    assert_eq!((early.status, early.code()), (403, "AccessDenied".into()));
    let (_, unlimited) = key(&api, &mine, None).await;
    assert_eq!(
        unlimited.send("GET", "/mine/x", &[], b"").await.status,
        200,
        "unlimited keys are not cached"
    );
    fake.state().object_storage.key_propagation = Duration::ZERO;
    assert_eq!(fresh.send("GET", "/mine/x", &[], b"").await.status, 200);
}

#[tokio::test]
async fn revoked_wrong_skewed_unknown_streaming_and_unsigned_requests_are_refused() {
    let (fake, api) = start().await;
    let b = bucket(&api, "auth", "us-ord", json!({})).await;
    let (k, s3) = key(&api, &b, Some(grant(&b, "read_write"))).await;
    assert_eq!(s3.send("PUT", "/auth/k", &[], b"data").await.status, 200);
    let presigned = s3
        .send_as("GET", "/auth/k", &[], b"", Payload::Presigned(Duration::from_secs(60)))
        .await;
    assert_eq!(
        (presigned.status, presigned.body.as_str()),
        (200, "data"),
        "a presigned GET"
    );

    let mut wrong = s3.clone();
    wrong.secret = "x".repeat(40);
    let mut skewed = s3.clone();
    skewed.time = Some(SystemTime::now() - Duration::from_secs(20 * 60));
    let mut unknown = s3.clone();
    unknown.access = "AKIAUNKNOWN000000000".into();
    for (client, code) in [
        (&wrong, "SignatureDoesNotMatch"),
        (&skewed, "RequestTimeTooSkewed"),
        (&unknown, "InvalidAccessKeyId"),
    ] {
        let a = client.send("GET", "/auth/k", &[], b"").await;
        assert_eq!((a.status, a.code()), (403, code.to_string()), "{}", a.body);
    }
    for declared in [
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    ] {
        let a = s3
            .send_as("PUT", "/auth/k", &[], b"other", Payload::Declared(declared.into()))
            .await;
        assert_eq!(
            (a.status, a.code()),
            (400, "XAmzContentSHA256Mismatch".into()),
            "{declared}"
        );
    }
    let a = s3
        .send_as(
            "PUT",
            "/auth/u",
            &[],
            b"x",
            Payload::Declared("UNSIGNED-PAYLOAD".into()),
        )
        .await;
    assert_eq!(a.status, 200, "UNSIGNED-PAYLOAD is accepted");
    let anonymous = s3.anonymous("GET", "/auth/k").await;
    assert_eq!((anonymous.status, anonymous.code()), (403, "AccessDenied".into()));

    // A bucket of another endpoint is not on this one.
    let legacy = bucket(&api, "legacy", "us-ord", json!({"endpoint_type": "E1"})).await;
    assert_ne!(legacy["s3_endpoint"], b["s3_endpoint"]);
    let (_, all) = key(&api, &b, None).await;
    let miss = all.send("GET", "/legacy?list-type=2", &[], b"").await;
    assert_eq!((miss.status, miss.code()), (404, "NoSuchBucket".into()));

    let id = k["id"].as_u64().expect("id");
    let (status, _) = api.call("DELETE", &format!("/object-storage/keys/{id}"), None).await;
    assert_eq!(status, 200);
    let revoked = s3.send("GET", "/auth/k", &[], b"").await;
    assert_eq!((revoked.status, revoked.code()), (403, "InvalidAccessKeyId".into()));
    assert!(fake.state().object_storage.s3_log.iter().any(|l| l.ends_with("-> 403")));
}

#[tokio::test]
async fn cancel_deletes_every_bucket_and_key_and_is_logged() {
    let (fake, api) = start().await;
    let b = bucket(&api, "doomed", "us-ord", json!({})).await;
    key(&api, &b, None).await;
    let (status, answer) = api.call("POST", "/object-storage/cancel", None).await;
    assert_eq!((status, answer), (200, json!({})));
    let (_, buckets) = api.call("GET", "/object-storage/buckets", None).await;
    let (_, keys) = api.call("GET", "/object-storage/keys", None).await;
    assert_eq!(
        (buckets["results"].as_u64(), keys["results"].as_u64()),
        (Some(0), Some(0))
    );
    let (_, settings) = api.call("GET", "/account/settings", None).await;
    assert_eq!(settings["object_storage"], "disabled");
    assert_eq!(fake.state().processed("POST", "/object-storage/cancel"), 1);
}

#[tokio::test]
async fn endpoints_are_deterministic_per_seed_and_each_has_its_own_listener() {
    let (_fake, api) = start().await;
    let (_, endpoints) = api.call("GET", "/object-storage/endpoints", None).await;
    let data = endpoints["data"].as_array().expect("data").clone();
    let of = |r: &str| -> Vec<String> {
        data.iter()
            .filter(|e| e["region"] == r)
            .map(|e| e["endpoint_type"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(of("us-ord"), ["E1", "E3"], "{endpoints}");
    assert_eq!(of("us-nolke"), Vec::<String>::new());
    let mut hosts: Vec<&str> = data.iter().filter_map(|e| e["s3_endpoint"].as_str()).collect();
    hosts.sort_unstable();
    hosts.dedup();
    assert_eq!(hosts.len(), data.len(), "one listener per endpoint");
    for host in hosts {
        let a = S3::new(host, "us-ord", "", "").anonymous("GET", "/").await;
        assert_eq!(a.status, 403, "{host} refuses an unsigned request");
    }
    let types = |seed| {
        let st = State::simulated("t", seed);
        st.object_storage
            .endpoints
            .iter()
            .map(|e| format!("{}/{}", e.region, e.endpoint_type))
            .collect::<Vec<_>>()
    };
    assert_eq!(types(7), types(7));
    assert_ne!(types(7), types(8), "the seed picks the types");
    let (_, prices) = api.call("GET", "/object-storage/types", None).await;
    assert_eq!(prices["data"][0]["price"], json!({"hourly": 0.0075, "monthly": 5.0}));
    assert_eq!(prices["data"][1]["price"], json!({"hourly": 0.02, "monthly": null}));
}

/// `lkeobs sim --state FILE` keeps buckets, their objects and keys: a restarted simulator serves them on
/// its new S3 listeners, the key's secret still valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_file_keeps_buckets_objects_and_keys_across_a_restart() {
    use lkeobs::sim::serve::{Options, Sim};
    let dir = tempfile::tempdir().expect("temp dir");
    let options = Options {
        token: Some("sim-test-token".into()),
        state_file: Some(dir.path().join("sim-state.json")),
        ..Options::default()
    };
    let mut sim = Sim::start(&options).await.expect("the simulator starts");
    let api = Api::new(&sim.url(), sim.token());
    let b = bucket(&api, "kept", "us-ord", json!({})).await;
    let (k, s3) = key(&api, &b, None).await;
    assert_eq!(s3.send("PUT", "/kept/obj", &[], b"persisted").await.status, 200);
    sim.save().expect("saved");
    drop(sim);

    let sim = Sim::start(&options).await.expect("the simulator restarts");
    let api = Api::new(&sim.url(), sim.token());
    let (status, again) = api.call("GET", "/object-storage/buckets/us-ord/kept", None).await;
    assert_eq!((status, again["objects"].as_u64()), (200, Some(1)), "{again}");
    let mut s3 = s3.clone();
    s3.host = again["s3_endpoint"].as_str().expect("host").to_string();
    let got = s3.send("GET", "/kept/obj", &[], b"").await;
    assert_eq!((got.status, got.body.as_str()), (200, "persisted"));
    let (_, keys) = api.call("GET", "/object-storage/keys", None).await;
    assert_eq!(keys["data"][0]["access_key"], k["access_key"]);
    let (_, settings) = api.call("GET", "/account/settings", None).await;
    assert_eq!(settings["object_storage"], "active");
}
