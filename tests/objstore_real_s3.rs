//! The S3 client against a real S3-compatible server: moto's (`moto_server` from PyPI `moto[server]`,
//! `MOTO_SERVER`), started on 127.0.0.1 in a sandbox. Skipped loudly when moto is missing; a failure under
//! `CI=true` (`.ci/run` installs it).
//!
//! moto's request recorder is the independent witness of the DeleteObjects batches: every request's body
//! as the server received it.

use crate::tooling;

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::Duration;

use base64::Engine as _;
use futures::StreamExt as _;
use lkeobs::objstore::{OWNER_MARKER, ObjectId, S3Client, S3Config};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::Value;
use tokio::time::Instant;
use tooling::hermetic::{Background, Sandbox};

struct Moto {
    server: Background,
    client: S3Client,
}

/// Starts moto on a free loopback port and waits until it accepts connections.
async fn moto() -> Option<Moto> {
    let bin = tooling::moto_server()?;
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.command(&bin);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    let mut server = sandbox.background("moto", cmd);
    let started = Instant::now();
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(server.running(), "moto exited:\n{}", server.log());
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "moto did not listen:\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut config = S3Config::new(
        &format!("127.0.0.1:{port}"),
        "us-ord",
        "AKMOTO",
        SecretString::from("moto-secret"),
    );
    config.min_delay = Duration::from_millis(20);
    config.max_delay = Duration::from_millis(200);
    let client = S3Client::new(config).expect("client");
    Some(Moto { server, client })
}

impl Moto {
    /// CreateBucket in the region the client signs for (moto reads it from the credential scope).
    async fn create_bucket(&self, bucket: &str) {
        let body = format!(
            "<CreateBucketConfiguration><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
            self.client.signing_region()
        );
        let answer = self
            .client
            .raw("CreateBucket", Method::PUT, bucket, None, &[], body.into_bytes())
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    }

    async fn enable_versioning(&self, bucket: &str) {
        let body = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
        let answer = self
            .client
            .raw(
                "PutBucketVersioning",
                Method::PUT,
                bucket,
                None,
                &[("versioning", "")],
                body.into(),
            )
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    }

    async fn put_many(&self, bucket: &str, keys: impl Iterator<Item = String>, body: &str) {
        futures::stream::iter(keys)
            .map(|key| async move {
                self.client
                    .put_object(bucket, &key, body.as_bytes().to_vec(), "text/plain")
                    .await
                    .unwrap_or_else(|e| panic!("{key}: {e}"));
            })
            .buffer_unordered(16)
            .collect::<Vec<()>>()
            .await;
    }

    /// moto's recorder: `start-recording`, or `download-recording` (one JSON request per line).
    async fn recorder(&self, action: &str) -> String {
        let method = if action == "download-recording" {
            Method::GET
        } else {
            Method::POST
        };
        let key = format!("recorder/{action}");
        let answer = self
            .client
            .raw("MotoRecorder", method, "moto-api", Some(&key), &[], Vec::new())
            .await
            .unwrap();
        assert_eq!(answer.status, 200, "{action}: {}", self.server.log());
        String::from_utf8_lossy(&answer.body).into_owned()
    }

    /// The number of keys in each DeleteObjects request the server received, in order.
    async fn delete_batches(&self) -> Vec<usize> {
        let recorded: Vec<Value> = self
            .recorder("download-recording")
            .await
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("a recorded request"))
            .collect();
        recorded
            .iter()
            .filter(|r| r["method"] == "POST" && r["url"].as_str().is_some_and(|u| u.ends_with("?delete")))
            .map(|r| {
                let body = r["body"].as_str().unwrap_or_default();
                let body = if r["body_encoded"] == true {
                    base64::engine::general_purpose::STANDARD
                        .decode(body)
                        .expect("base64 body")
                } else {
                    body.as_bytes().to_vec()
                };
                String::from_utf8_lossy(&body).matches("<Object>").count()
            })
            .collect()
    }

    async fn versions_left(&self, bucket: &str) -> usize {
        self.client
            .list_object_versions(bucket, None)
            .await
            .unwrap()
            .versions
            .len()
    }
}

#[tokio::test]
async fn empty_bucket_removes_2500_objects_and_every_version_in_batches_of_at_most_1000() {
    let Some(moto) = moto().await else {
        return;
    };
    let plain = "lkeobs-demo-a1b2c3-metrics";
    moto.create_bucket(plain).await;
    assert!(moto.client.head_bucket(plain).await.unwrap());
    assert!(!moto.client.head_bucket("lkeobs-demo-zzzzzz-none").await.unwrap());

    // The owner marker round-trips; a missing key is None.
    moto.client
        .put_object(plain, OWNER_MARKER, b"demo".to_vec(), "text/plain")
        .await
        .unwrap();
    assert_eq!(
        moto.client.get_object(plain, OWNER_MARKER).await.unwrap().as_deref(),
        Some(&b"demo"[..])
    );
    assert_eq!(moto.client.get_object(plain, "no/such/key").await.unwrap(), None);

    moto.put_many(plain, (0..2500).map(|i| format!("blocks/{i:05}/chunk")), "x")
        .await;
    let first = moto.client.list_objects_v2(plain, "", None).await.unwrap();
    assert_eq!(first.objects.len(), 1000, "moto pages by 1000");
    assert!(first.next.is_some());

    moto.recorder("start-recording").await;
    let emptied = moto
        .client
        .empty_bucket(plain, Instant::now() + Duration::from_secs(300))
        .await
        .unwrap();
    assert_eq!(emptied.deleted, 2501);
    assert_eq!(emptied.left, None);
    assert!(!emptied.lifecycle_set);
    let batches = moto.delete_batches().await;
    assert!(batches.iter().all(|n| (1..=1000).contains(n)), "{batches:?}");
    assert_eq!(batches.iter().sum::<usize>(), 2501, "{batches:?}");
    assert_eq!(batches.len(), 3, "{batches:?}");
    assert_eq!(moto.client.calls()["DeleteObjects"], 3);
    let after = moto.client.list_objects_v2(plain, "", None).await.unwrap();
    assert!(after.objects.is_empty() && after.next.is_none());
    assert_eq!(moto.versions_left(plain).await, 0);

    // A versioned bucket: objects, overwritten objects, deleted objects (delete markers).
    let versioned = "lkeobs-demo-a1b2c3-logs";
    moto.create_bucket(versioned).await;
    moto.enable_versioning(versioned).await;
    moto.put_many(versioned, (0..1200).map(|i| format!("chunks/{i}")), "v1")
        .await;
    moto.put_many(versioned, (0..300).map(|i| format!("chunks/{i}")), "v2")
        .await;
    let doomed: Vec<ObjectId> = (0..100)
        .map(|i| ObjectId {
            key: format!("chunks/{i}"),
            version_id: None,
        })
        .collect();
    assert!(moto.client.delete_objects(versioned, &doomed).await.unwrap().is_empty());
    assert!(
        moto.versions_left(versioned).await >= 1000,
        "versions and delete markers"
    );

    let before = moto.delete_batches().await.len();
    let emptied = moto
        .client
        .empty_bucket(versioned, Instant::now() + Duration::from_secs(300))
        .await
        .unwrap();
    // 1200 first versions, 300 overwrites, 100 delete markers.
    assert_eq!(emptied.deleted, 1600);
    assert_eq!(emptied.left, None);
    let batches: Vec<usize> = moto.delete_batches().await.split_off(before);
    assert!(batches.iter().all(|n| (1..=1000).contains(n)), "{batches:?}");
    assert_eq!(batches.iter().sum::<usize>(), 1600, "{batches:?}");
    assert_eq!(moto.versions_left(versioned).await, 0);
    assert!(
        moto.client
            .list_objects_v2(versioned, "", None)
            .await
            .unwrap()
            .objects
            .is_empty()
    );
}

#[tokio::test]
async fn a_deadline_already_passed_sets_the_lifecycle_rule_and_reports_the_bucket_left() {
    let Some(moto) = moto().await else {
        return;
    };
    let bucket = "lkeobs-demo-d4e5f6-traces";
    moto.create_bucket(bucket).await;
    assert_eq!(moto.client.get_bucket_lifecycle(bucket).await.unwrap(), None);
    moto.put_many(bucket, (0..1200).map(|i| format!("t/{i}")), "x").await;

    let emptied = moto.client.empty_bucket(bucket, Instant::now()).await.unwrap();
    assert_eq!(emptied.deleted, 0);
    assert_eq!(emptied.left, Some(1000), "at least one full page is left");
    assert!(emptied.lifecycle_set);
    assert_eq!(moto.client.calls().get("DeleteObjects"), None);

    let rule = moto
        .client
        .get_bucket_lifecycle(bucket)
        .await
        .unwrap()
        .expect("a lifecycle rule");
    assert!(rule.expires_everything_within_a_day(), "{rule:?}");
    let r = &rule.rules[0];
    assert_eq!(r.expiration.and_then(|e| e.days), Some(1));
    assert_eq!(r.noncurrent_version_expiration.and_then(|e| e.days), Some(1));
    assert_eq!(r.abort_incomplete_multipart_upload.and_then(|e| e.days), Some(1));
    assert_eq!(
        moto.client
            .list_objects_v2(bucket, "", None)
            .await
            .unwrap()
            .objects
            .len(),
        1000
    );
}
