//! The S3 client against wiremock on 127.0.0.1: what goes on the wire (path style, plain http to a
//! loopback host, SigV4 headers with the real payload SHA-256 and never a streaming payload, Content-MD5 on
//! DeleteObjects and lifecycle), and the 403 retry window of a new key.

use std::time::Duration;

use base64::Engine as _;
use lkeobs::objstore::{LifecycleConfiguration, ObjectId, S3Client, S3Config};
use md5::Md5;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ACCESS_DENIED: &str =
    "<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>tx1-default</RequestId></Error>";

fn config(server: &MockServer) -> S3Config {
    let host = server.address().to_string();
    let mut config = S3Config::new(&host, "us-ord", "AKTEST", SecretString::from("wire-secret"));
    config.min_delay = Duration::from_millis(10);
    config.max_delay = Duration::from_millis(50);
    config.timeout = Duration::from_secs(5);
    config
}

fn header<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

fn sha256_hex(body: &[u8]) -> String {
    Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect()
}

/// What every signed request must carry.
fn assert_signed(r: &Request) {
    let hash = header(r, "x-amz-content-sha256").expect("x-amz-content-sha256");
    assert_eq!(
        hash,
        sha256_hex(&r.body),
        "{} {}: payload hash is not the body's",
        r.method,
        r.url
    );
    let auth = header(r, "authorization").expect("authorization");
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKTEST/") && auth.contains("/us-ord/s3/aws4_request"),
        "{auth}"
    );
    assert!(auth.contains("x-amz-content-sha256"), "payload hash not signed: {auth}");
    assert!(!auth.contains("wire-secret"));
    for (name, value) in r.headers.iter() {
        let value = value.to_str().unwrap_or_default();
        assert!(!value.contains("STREAMING"), "{name}: {value}");
        assert!(!value.contains("aws-chunked"), "{name}: {value}");
        assert!(!name.as_str().starts_with("x-amz-trailer") && name.as_str() != "x-amz-decoded-content-length");
    }
}

#[tokio::test]
async fn requests_are_path_style_plain_http_and_signed_with_the_real_payload_hash() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/lkeobs-demo-abcdef-logs/.lkeobs-owner"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/lkeobs-demo-abcdef-logs/.lkeobs-owner"))
        .respond_with(ResponseTemplate::new(404).set_body_string("<Error><Code>NoSuchKey</Code></Error>"))
        .mount(&server)
        .await;
    let client = S3Client::new(config(&server)).unwrap();
    assert_eq!(
        client.signing_region(),
        "us-ord",
        "a loopback host signs with the bucket's region"
    );
    client
        .put_object(
            "lkeobs-demo-abcdef-logs",
            ".lkeobs-owner",
            b"demo".to_vec(),
            "text/plain",
        )
        .await
        .unwrap();
    assert_eq!(
        client
            .get_object("lkeobs-demo-abcdef-logs", ".lkeobs-owner")
            .await
            .unwrap(),
        None
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].url.scheme(), "http");
    assert_eq!(requests[0].body, b"demo");
    for r in &requests {
        assert_signed(r);
    }
}

#[tokio::test]
async fn delete_objects_and_lifecycle_carry_content_md5_and_refuse_more_than_1000_keys() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/b"))
        .and(query_param("delete", ""))
        .respond_with(ResponseTemplate::new(200).set_body_string("<DeleteResult/>"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/b"))
        .and(query_param("lifecycle", ""))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let client = S3Client::new(config(&server)).unwrap();
    let ids: Vec<ObjectId> = (0..1000)
        .map(|i| ObjectId {
            key: format!("k/{i}"),
            version_id: (i % 2 == 0).then(|| format!("v{i}")),
        })
        .collect();
    assert!(client.delete_objects("b", &ids).await.unwrap().is_empty());
    let mut too_many = ids.clone();
    too_many.push(ObjectId {
        key: "one-more".into(),
        version_id: None,
    });
    let err = client.delete_objects("b", &too_many).await.unwrap_err();
    assert!(err.to_string().contains("at most 1000"), "{err}");
    client
        .put_bucket_lifecycle("b", &LifecycleConfiguration::expire_everything_after_a_day())
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2, "the oversized batch was sent");
    for r in &requests {
        assert_signed(r);
        let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(&r.body));
        assert_eq!(header(r, "content-md5"), Some(md5.as_str()), "{} {}", r.method, r.url);
        assert!(
            header(r, "authorization").unwrap().contains("content-md5"),
            "Content-MD5 not signed"
        );
    }
    let body = String::from_utf8_lossy(&requests[0].body);
    assert_eq!(body.matches("<Object>").count(), 1000);
    assert!(body.contains("<Key>k/0</Key><VersionId>v0</VersionId>"), "{body}");
}

async fn denied_then_ok(server: &MockServer, denials: u64) {
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(403).set_body_string(ACCESS_DENIED))
        .up_to_n_times(denials)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_new_key_is_retried_through_403s_within_its_window() {
    let server = MockServer::start().await;
    denied_then_ok(&server, 3).await;
    let mut cfg = config(&server).fresh_key();
    cfg.new_key_window = Duration::from_secs(30);
    let client = S3Client::new(cfg).unwrap();
    client.put_object("b", "k", b"x".to_vec(), "text/plain").await.unwrap();
    assert_eq!(client.calls()["PutObject"], 4);
}

#[tokio::test]
async fn an_old_key_fails_at_the_first_403_and_a_new_one_when_its_window_ends() {
    let server = MockServer::start().await;
    denied_then_ok(&server, 1_000_000).await;
    let old = S3Client::new(config(&server)).unwrap();
    let err = old.put_object("b", "k", b"x".to_vec(), "text/plain").await.unwrap_err();
    let shown = format!("{err} {err:?} {old:?} {:?}", config(&server));
    assert!(!shown.contains("wire-secret"), "the secret leaked: {shown}");
    assert!(err.is_forbidden() && err.code() == Some("AccessDenied"), "{err}");
    assert_eq!(old.calls()["PutObject"], 1);

    let mut cfg = config(&server).fresh_key();
    cfg.new_key_window = Duration::from_millis(400);
    let new = S3Client::new(cfg).unwrap();
    let err = new.put_object("b", "k", b"x".to_vec(), "text/plain").await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");
    assert!(new.calls()["PutObject"] > 1, "a new key's 403 was not retried");
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<Error><Code>SlowDown</Code></Error>"))
        .mount(&server)
        .await;
    let mut cfg = config(&server);
    cfg.max_retries = 2;
    let client = S3Client::new(cfg).unwrap();
    let err = client.get_bucket_versioning("b").await.unwrap_err();
    assert_eq!(err.code(), Some("SlowDown"));
    assert_eq!(client.calls()["GetBucketVersioning"], 3);
}

fn listing(keys: &[&str], next: Option<&str>) -> String {
    let contents: String = keys
        .iter()
        .map(|k| format!("<Contents><Key>{k}</Key><Size>1</Size></Contents>"))
        .collect();
    let next = next.map_or(String::new(), |t| {
        format!("<NextContinuationToken>{t}</NextContinuationToken>")
    });
    format!(
        "<ListBucketResult><IsTruncated>{}</IsTruncated>{next}{contents}</ListBucketResult>",
        !next.is_empty()
    )
}

async fn unversioned(server: &MockServer) {
    Mock::given(method("GET"))
        .and(query_param("versioning", ""))
        .respond_with(ResponseTemplate::new(200).set_body_string("<VersioningConfiguration/>"))
        .mount(server)
        .await;
}

#[tokio::test]
async fn keys_deleteobjects_refuses_fail_the_emptying() {
    let server = MockServer::start().await;
    unversioned(&server).await;
    Mock::given(method("GET"))
        .and(query_param("list-type", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_string(listing(&["a", "b"], None)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(query_param("delete", ""))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "<DeleteResult><Error><Key>b</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>",
        ))
        .mount(&server)
        .await;
    let client = S3Client::new(config(&server)).unwrap();
    let err = client
        .empty_bucket("b", tokio::time::Instant::now() + Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("1 of 2 keys not deleted (first: b: AccessDenied no)"),
        "{err}"
    );
}

#[tokio::test]
async fn emptying_stops_at_a_deadline_reached_midway_and_sets_the_lifecycle_rule() {
    let server = MockServer::start().await;
    unversioned(&server).await;
    // The first page answers at once; the next one only after the deadline.
    Mock::given(method("GET"))
        .and(query_param("list-type", "2"))
        .and(query_param("continuation-token", "page2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(listing(&["c"], None))
                .set_delay(Duration::from_secs(3)),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("list-type", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_string(listing(&["a", "b"], Some("page2"))))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(query_param("delete", ""))
        .respond_with(ResponseTemplate::new(200).set_body_string("<DeleteResult/>"))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(query_param("lifecycle", ""))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let client = S3Client::new(config(&server)).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(800);
    let emptied = client.empty_bucket("b", deadline).await.unwrap();
    assert_eq!(emptied.deleted, 2);
    assert!(emptied.lifecycle_set);
    assert_eq!(
        emptied.left,
        Some(2),
        "the listing after the deadline still shows a and b (the fake does not delete)"
    );
    let lifecycle = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.method.as_str() == "PUT")
        .expect("a lifecycle put");
    let body = String::from_utf8_lossy(&lifecycle.body);
    assert!(body.contains("<Expiration><Days>1</Days></Expiration>"), "{body}");
}
