//! The simulator's S3 data plane, driven with requests signed by AWS's own SigV4 signer: ListObjectsV2
//! paging over 2,500 objects, DeleteObjects' 1000-key limit and integrity header, versions and delete
//! markers, and lifecycle configurations stored and applied by the state's hook.

use crate::support::s3;

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use s3::{bucket, delete_objects, delete_xml, grant, key, md5_b64, start, tags};
use serde_json::json;

/// 2,500 objects (written through the state, 3 through S3) list in pages of at most 1000.
#[tokio::test]
async fn list_objects_v2_pages_through_2500_objects() {
    let (fake, api) = start().await;
    let b = bucket(&api, "many", "us-ord", json!({})).await;
    let (_, s3) = key(&api, &b, Some(grant(&b, "read_write"))).await;
    for k in ["a/1", "a/2", "a/3"] {
        assert_eq!(s3.send("PUT", &format!("/many/{k}"), &[], b"x").await.status, 200);
    }
    // HeadBucket and HeadObject: the object's length and ETag without its body; a missing key 404.
    assert_eq!(s3.send("HEAD", "/many", &[], b"").await.status, 200);
    let head = s3.send("HEAD", "/many/a/1", &[], b"").await;
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert_eq!(head.headers["content-length"], "1");
    assert_eq!(head.headers["etag"], "\"9dd4e461268c8034f5c8564e155c67a6\"");
    assert_eq!(s3.send("HEAD", "/many/missing", &[], b"").await.status, 404);
    let missing = s3.send("GET", "/many/missing", &[], b"").await;
    assert_eq!((missing.status, missing.code()), (404, "NoSuchKey".into()));
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
    let after = s3
        .send("GET", "/many?list-type=2&start-after=obj/02495", &[], b"")
        .await;
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
    assert_eq!(
        (bare.status, bare.code()),
        (400, "InvalidRequest".into()),
        "Content-MD5 is required"
    );
    let wrong_md5 = md5_b64(b"something else");
    let wrong = s3
        .send("POST", "/batch?delete", &[("content-md5", &wrong_md5)], xml.as_bytes())
        .await;
    assert_eq!((wrong.status, wrong.code()), (400, "BadDigest".into()));
    assert_eq!(
        fake.state().object_storage.buckets["us-ord/batch"].objects.len(),
        1001,
        "nothing deleted yet"
    );
    let done = delete_objects(&s3, "batch", &xml).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(tags(&done.body, "Deleted").len(), 1000);
    let last = delete_xml(&all[1000..], true);
    let sha =
        base64::engine::general_purpose::STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, last.as_bytes()));
    let quiet = s3
        .send(
            "POST",
            "/batch?delete",
            &[("x-amz-checksum-sha256", &sha)],
            last.as_bytes(),
        )
        .await;
    assert_eq!(quiet.status, 200, "{}", quiet.body);
    assert!(
        tags(&quiet.body, "Deleted").is_empty(),
        "Quiet answers errors only: {}",
        quiet.body
    );
    assert!(fake.state().object_storage.buckets["us-ord/batch"].objects.is_empty());
}

#[tokio::test]
async fn versions_and_delete_markers_list_in_pages_and_lifecycle_is_stored_and_applied() {
    let (fake, api) = start().await;
    let b = bucket(&api, "versioned", "de-fra-2", json!({})).await;
    let (_, s3) = key(&api, &b, Some(grant(&b, "read_write"))).await;
    let enable = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    assert_eq!(
        s3.send("PUT", "/versioned?versioning", &[], enable.as_bytes())
            .await
            .status,
        200
    );
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
        let kind = if page.body.contains("<DeleteMarker>") {
            "marker"
        } else {
            "version"
        };
        seen.push((
            kind,
            tags(&page.body, "VersionId")[0].clone(),
            tags(&page.body, "IsLatest")[0].clone(),
        ));
        if tags(&page.body, "IsTruncated") != ["true"] {
            break;
        }
        let (k, v) = (
            &tags(&page.body, "NextKeyMarker")[0],
            &tags(&page.body, "NextVersionIdMarker")[0],
        );
        path = format!("/versioned?versions&max-keys=1&key-marker={k}&version-id-marker={v}");
    }
    let kinds: Vec<_> = seen.iter().map(|(k, _, latest)| (*k, latest.as_str())).collect();
    assert_eq!(kinds, [("marker", "true"), ("version", "false"), ("version", "false")]);
    let oldest = &seen[2].1;
    let got = s3
        .send("GET", &format!("/versioned/k?versionId={oldest}"), &[], b"")
        .await;
    assert_eq!(got.body, "one");

    let rule = "<LifecycleConfiguration><Rule><ID>lkeobs-expire</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>";
    assert_eq!(
        s3.send("GET", "/versioned?lifecycle", &[], b"").await.code(),
        "NoSuchLifecycleConfiguration"
    );
    let bare = s3.send("PUT", "/versioned?lifecycle", &[], rule.as_bytes()).await;
    assert_eq!(bare.status, 400, "Content-MD5 is required");
    let md5 = md5_b64(rule.as_bytes());
    let put = s3
        .send("PUT", "/versioned?lifecycle", &[("content-md5", &md5)], rule.as_bytes())
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(s3.send("GET", "/versioned?lifecycle", &[], b"").await.body, rule);
    fake.state()
        .object_storage
        .expire_lifecycle(SystemTime::now() + Duration::from_secs(3600));
    assert_eq!(
        fake.state().object_storage.buckets["de-fra-2/versioned"].entries(),
        3,
        "not due yet"
    );
    fake.state()
        .object_storage
        .expire_lifecycle(SystemTime::now() + Duration::from_secs(3 * 86_400));
    assert_eq!(
        fake.state().object_storage.buckets["de-fra-2/versioned"].object_count(),
        0,
        "noncurrent versions expired"
    );
}

/// `delimiter` folds keys into CommonPrefixes, each once across pages; `encoding-type=url` encodes keys.
#[tokio::test]
async fn list_objects_v2_folds_common_prefixes_across_pages() {
    let (_fake, api) = start().await;
    let b = bucket(&api, "folders", "us-ord", json!({})).await;
    let (_, s3) = key(&api, &b, Some(grant(&b, "read_write"))).await;
    for k in ["a/1", "a/2", "b/1", "c", "d/x/y"] {
        assert_eq!(s3.send("PUT", &format!("/folders/{k}"), &[], b"x").await.status, 200);
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut path = "/folders?list-type=2&delimiter=/&max-keys=1".to_string();
        if let Some(t) = &token {
            path.push_str(&format!(
                "&continuation-token={}",
                t.replace('=', "%3D").replace('+', "%2B").replace('/', "%2F")
            ));
        }
        let page = s3.send("GET", &path, &[], b"").await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(tags(&page.body, "Prefix").into_iter().filter(|p| !p.is_empty()));
        seen.extend(tags(&page.body, "Key"));
        token = tags(&page.body, "NextContinuationToken").into_iter().next();
        if token.is_none() {
            break;
        }
        assert!(seen.len() < 10, "the pages never end: {seen:?}");
    }
    assert_eq!(seen, ["a/", "b/", "c", "d/"]);
    let encoded = s3.send("PUT", "/folders/with%20space", &[], b"x").await;
    assert_eq!(encoded.status, 200);
    let listed = s3
        .send("GET", "/folders?list-type=2&prefix=with&encoding-type=url", &[], b"")
        .await;
    assert_eq!(tags(&listed.body, "Key"), ["with%20space"]);
}
