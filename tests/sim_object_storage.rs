//! The simulator's Linode Object Storage, as strict as the platform: the Linode API's buckets (idempotent
//! create, names unique across customers, label pattern, non-empty buckets kept), keys (the secret shown
//! once, limited keys, propagation, revocation), enrolment and cancel; and each endpoint's S3 data plane
//! driven with requests signed by AWS's own SigV4 signer (signature, skew, unknown keys, aws-chunked
//! payloads, ListObjectsV2 paging, DeleteObjects limits and Content-MD5, versions, lifecycle).

mod support;
#[path = "support/s3.rs"]
mod s3;

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use md5::Digest as _;
use s3::{Answer, Api, Payload, S3, tags};
use serde_json::{Value, json};
use support::FAKE_TOKEN;
use support::linode_fake::{LinodeFake, State};

async fn start() -> (LinodeFake, Api) {
    let mut state = State::seeded();
    state.object_storage.key_propagation = Duration::ZERO;
    let fake = LinodeFake::start_with(state).await;
    let api = Api::new(&fake.base_url(), FAKE_TOKEN);
    (fake, api)
}

async fn bucket(api: &Api, label: &str, region: &str, extra: Value) -> Value {
    let mut body = json!({"label": label, "region": region});
    for (k, v) in extra.as_object().into_iter().flatten() {
        body[k] = v.clone();
    }
    let (status, answer) = api.call("POST", "/object-storage/buckets", Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// A key (limited to `grants` when given) and an S3 client of `bucket`'s endpoint with it.
async fn key(api: &Api, bucket: &Value, grants: Option<Value>) -> (Value, S3) {
    let mut body = json!({"label": "lkeobs-test"});
    if let Some(g) = grants {
        body["bucket_access"] = g;
    }
    let (status, key) = api.call("POST", "/object-storage/keys", Some(body)).await;
    assert_eq!(status, 200, "{key}");
    let s3 = S3::new(
        bucket["s3_endpoint"].as_str().expect("s3_endpoint"),
        bucket["region"].as_str().expect("region"),
        key["access_key"].as_str().expect("access_key"),
        key["secret_key"].as_str().expect("secret_key"),
    );
    (key, s3)
}

fn grant(bucket: &Value, permissions: &str) -> Value {
    json!([{"region": bucket["region"], "bucket_name": bucket["label"], "permissions": permissions}])
}

fn md5_b64(body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
}

fn delete_xml(keys: &[(String, Option<String>)], quiet: bool) -> String {
    let objects: String = keys
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("<Object><Key>{k}</Key><VersionId>{v}</VersionId></Object>"),
            None => format!("<Object><Key>{k}</Key></Object>"),
        })
        .collect();
    format!("<Delete><Quiet>{quiet}</Quiet>{objects}</Delete>")
}

async fn delete_objects(s3: &S3, bucket: &str, xml: &str) -> Answer {
    let md5 = md5_b64(xml.as_bytes());
    s3.send("POST", &format!("/{bucket}?delete"), &[("content-md5", &md5)], xml.as_bytes())
        .await
}

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
    assert_eq!((first["cluster"].as_str(), first["objects"].as_u64()), (Some(""), Some(0)));
    let again = bucket(&api, "lkeobs-example-aaaaaa-metrics", "us-ord", json!({})).await;
    assert_eq!(again, first, "the same bucket again, 200");
    let (_, all) = api.call("GET", "/object-storage/buckets", None).await;
    assert_eq!(all["results"], 1);
    let (_, settings) = api.call("GET", "/account/settings", None).await;
    assert_eq!(settings["object_storage"], "active", "the first bucket enrols the account");

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
        (json!({"label": "ok-name", "region": "us-ord", "endpoint_type": "E2"}), "endpoint_type"),
        (json!({"label": "ok-name", "region": "us-ord", "cors_enabled": true}), "cors_enabled"),
    ];
    for (body, field) in refused {
        let (status, answer) = api.call("POST", "/object-storage/buckets", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["errors"][0]["field"], field, "{body} → {answer}");
    }
    // The same name in another region is another bucket; E1 takes CORS.
    bucket(&api, "someone-elses", "de-fra-2", json!({})).await;
    let legacy = bucket(&api, "ok-name", "us-ord", json!({"endpoint_type": "E1", "cors_enabled": true})).await;
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
    assert_eq!((got["objects"].as_u64(), got["size"].as_u64()), (Some(1), Some(5)), "{got}");
    let (status, refused) = api.call("DELETE", "/object-storage/buckets/us-ord/keep-me", None).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["errors"][0]["reason"].as_str().unwrap_or_default().contains("not empty"), "{refused}");

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
    let gone = s3.send("DELETE", &format!("/keep-me/a.txt?versionId={}", ids[1]), &[], b"").await;
    assert_eq!(gone.status, 204);
    let (status, _) = api.call("DELETE", "/object-storage/buckets/us-ord/keep-me", None).await;
    assert_eq!(status, 400, "a delete marker alone still counts");
    let gone = s3.send("DELETE", &format!("/keep-me/a.txt?versionId={}", ids[0]), &[], b"").await;
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
        let (status, _) = api.call("POST", "/object-storage/keys", Some(json!({"label": "more"}))).await;
        assert_eq!(status, 200);
    }
    let (status, _) = api.call("POST", "/object-storage/keys", Some(json!({"label": "101st"}))).await;
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
    assert_eq!(unlimited.send("GET", "/mine/x", &[], b"").await.status, 200, "unlimited keys are not cached");
    fake.state().object_storage.key_propagation = Duration::ZERO;
    assert_eq!(fresh.send("GET", "/mine/x", &[], b"").await.status, 200);
}

#[tokio::test]
async fn revoked_wrong_skewed_unknown_streaming_and_unsigned_requests_are_refused() {
    let (fake, api) = start().await;
    let b = bucket(&api, "auth", "us-ord", json!({})).await;
    let (k, s3) = key(&api, &b, Some(grant(&b, "read_write"))).await;
    assert_eq!(s3.send("PUT", "/auth/k", &[], b"data").await.status, 200);
    let presigned = s3.send_as("GET", "/auth/k", &[], b"", Payload::Presigned(Duration::from_secs(60))).await;
    assert_eq!((presigned.status, presigned.body.as_str()), (200, "data"), "a presigned GET");

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
        let a = s3.send_as("PUT", "/auth/k", &[], b"other", Payload::Declared(declared.into())).await;
        assert_eq!((a.status, a.code()), (400, "XAmzContentSHA256Mismatch".into()), "{declared}");
    }
    let a = s3.send_as("PUT", "/auth/u", &[], b"x", Payload::Declared("UNSIGNED-PAYLOAD".into())).await;
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

/// 2,500 objects (written through the state, 3 through S3) list in pages of at most 1000.
#[tokio::test]
async fn list_objects_v2_pages_through_2500_objects() {
    let (fake, api) = start().await;
    let b = bucket(&api, "many", "us-ord", json!({})).await;
    let (_, s3) = key(&api, &b, Some(grant(&b, "read_write"))).await;
    for k in ["a/1", "a/2", "a/3"] {
        assert_eq!(s3.send("PUT", &format!("/many/{k}"), &[], b"x").await.status, 200);
    }
    {
        let mut st = fake.state();
        let bucket = st.object_storage.buckets.get_mut("us-ord/many").expect("bucket");
        let template = bucket.objects["a/1"].clone();
        for i in 0..2497 {
            bucket.objects.insert(format!("obj/{i:05}"), template.clone());
        }
    }
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = Vec::new();
    loop {
        let mut path = "/many?list-type=2&max-keys=5000".to_string();
        if let Some(t) = &token {
            path.push_str(&format!("&continuation-token={}", urlencode(t)));
        }
        let page = s3.send("GET", &path, &[], b"").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let found = tags(&page.body, "Key");
        assert_eq!(tags(&page.body, "KeyCount"), [found.len().to_string()]);
        assert_eq!(tags(&page.body, "MaxKeys"), ["1000"], "max-keys is capped at 1000");
        pages.push(found.len());
        keys.extend(found);
        token = tags(&page.body, "NextContinuationToken").into_iter().next();
        let truncated = tags(&page.body, "IsTruncated") == ["true"];
        assert_eq!(truncated, token.is_some());
        if !truncated {
            break;
        }
    }
    assert_eq!(pages, [1000, 1000, 500]);
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!((keys.len(), sorted), (2500, keys.clone()), "every key once, in order");
    let prefixed = s3.send("GET", "/many?list-type=2&prefix=a/", &[], b"").await;
    assert_eq!(tags(&prefixed.body, "Key"), ["a/1", "a/2", "a/3"]);
    let after = s3.send("GET", "/many?list-type=2&start-after=obj/02495", &[], b"").await;
    assert_eq!(tags(&after.body, "Key"), ["obj/02496"]);
    let (_, api_bucket) = api.call("GET", "/object-storage/buckets/us-ord/many", None).await;
    assert_eq!(api_bucket["objects"], 2500);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn delete_objects_takes_at_most_1000_keys_and_checks_their_integrity_header() {
    let (fake, api) = start().await;
    let b = bucket(&api, "batch", "us-ord", json!({})).await;
    let (_, s3) = key(&api, &b, Some(grant(&b, "read_write"))).await;
    {
        let mut st = fake.state();
        let bucket = st.object_storage.buckets.get_mut("us-ord/batch").expect("bucket");
        let v = lkeobs::sim::object_storage::Version {
            id: "null".into(),
            marker: false,
            data: b"x".to_vec(),
            etag: "9dd4e461268c8034f5c8564e155c67a6".into(),
            modified: 0,
            content_type: "text/plain".into(),
        };
        for i in 0..1001 {
            bucket.objects.insert(format!("k{i:04}"), vec![v.clone()]);
        }
    }
    let all: Vec<(String, Option<String>)> = (0..1001).map(|i| (format!("k{i:04}"), None)).collect();
    let too_many = delete_objects(&s3, "batch", &delete_xml(&all, false)).await;
    assert_eq!((too_many.status, too_many.code()), (400, "MalformedXML".into()));
    let xml = delete_xml(&all[..1000], false);
    let bare = s3.send("POST", "/batch?delete", &[], xml.as_bytes()).await;
    assert_eq!((bare.status, bare.code()), (400, "InvalidRequest".into()), "Content-MD5 is required");
    let wrong_md5 = md5_b64(b"something else");
    let wrong = s3.send("POST", "/batch?delete", &[("content-md5", &wrong_md5)], xml.as_bytes()).await;
    assert_eq!((wrong.status, wrong.code()), (400, "BadDigest".into()));
    assert_eq!(fake.state().object_storage.buckets["us-ord/batch"].objects.len(), 1001, "nothing deleted yet");
    let done = delete_objects(&s3, "batch", &xml).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(tags(&done.body, "Deleted").len(), 1000);
    let last = delete_xml(&all[1000..], true);
    let sha = base64::engine::general_purpose::STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, last.as_bytes()));
    let quiet = s3.send("POST", "/batch?delete", &[("x-amz-checksum-sha256", &sha)], last.as_bytes()).await;
    assert_eq!(quiet.status, 200, "{}", quiet.body);
    assert!(tags(&quiet.body, "Deleted").is_empty(), "Quiet answers errors only: {}", quiet.body);
    assert!(fake.state().object_storage.buckets["us-ord/batch"].objects.is_empty());
}

#[tokio::test]
async fn versions_and_delete_markers_list_in_pages_and_lifecycle_is_stored_and_applied() {
    let (fake, api) = start().await;
    let b = bucket(&api, "versioned", "de-fra-2", json!({})).await;
    let (_, s3) = key(&api, &b, Some(grant(&b, "read_write"))).await;
    let enable = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    assert_eq!(s3.send("PUT", "/versioned?versioning", &[], enable.as_bytes()).await.status, 200);
    let status = s3.send("GET", "/versioned?versioning", &[], b"").await;
    assert_eq!(tags(&status.body, "Status"), ["Enabled"]);
    for body in [&b"one"[..], b"two"] {
        let put = s3.send("PUT", "/versioned/k", &[], body).await;
        assert!(put.headers.contains_key("x-amz-version-id"));
    }
    let marker = s3.send("DELETE", "/versioned/k", &[], b"").await;
    assert_eq!(marker.headers["x-amz-delete-marker"], "true");
    assert_eq!(s3.send("GET", "/versioned/k", &[], b"").await.status, 404);
    let mut seen = Vec::new();
    let mut path = "/versioned?versions&max-keys=1".to_string();
    loop {
        let page = s3.send("GET", &path, &[], b"").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let kind = if page.body.contains("<DeleteMarker>") { "marker" } else { "version" };
        seen.push((kind, tags(&page.body, "VersionId")[0].clone(), tags(&page.body, "IsLatest")[0].clone()));
        if tags(&page.body, "IsTruncated") != ["true"] {
            break;
        }
        let (k, v) = (&tags(&page.body, "NextKeyMarker")[0], &tags(&page.body, "NextVersionIdMarker")[0]);
        path = format!("/versioned?versions&max-keys=1&key-marker={k}&version-id-marker={v}");
    }
    let kinds: Vec<_> = seen.iter().map(|(k, _, latest)| (*k, latest.as_str())).collect();
    assert_eq!(kinds, [("marker", "true"), ("version", "false"), ("version", "false")]);
    let oldest = &seen[2].1;
    let got = s3.send("GET", &format!("/versioned/k?versionId={oldest}"), &[], b"").await;
    assert_eq!(got.body, "one");

    let rule = "<LifecycleConfiguration><Rule><ID>lkeobs-expire</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>";
    assert_eq!(s3.send("GET", "/versioned?lifecycle", &[], b"").await.code(), "NoSuchLifecycleConfiguration");
    let bare = s3.send("PUT", "/versioned?lifecycle", &[], rule.as_bytes()).await;
    assert_eq!(bare.status, 400, "Content-MD5 is required");
    let md5 = md5_b64(rule.as_bytes());
    let put = s3.send("PUT", "/versioned?lifecycle", &[("content-md5", &md5)], rule.as_bytes()).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(s3.send("GET", "/versioned?lifecycle", &[], b"").await.body, rule);
    fake.state().object_storage.expire_lifecycle(SystemTime::now() + Duration::from_secs(3600));
    assert_eq!(fake.state().object_storage.buckets["de-fra-2/versioned"].entries(), 3, "not due yet");
    fake.state()
        .object_storage
        .expire_lifecycle(SystemTime::now() + Duration::from_secs(3 * 86_400));
    assert_eq!(
        fake.state().object_storage.buckets["de-fra-2/versioned"].object_count(),
        0,
        "noncurrent versions expired"
    );
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
    assert_eq!((buckets["results"].as_u64(), keys["results"].as_u64()), (Some(0), Some(0)));
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
        st.object_storage.endpoints.iter().map(|e| format!("{}/{}", e.region, e.endpoint_type)).collect::<Vec<_>>()
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
