//! The Object Storage calls of the Linode client against wiremock on 127.0.0.1 (pagination, the typed
//! non-empty-bucket error, the key's secret), and the guard that keeps the account-wide cancel call out of
//! the crate.

use std::path::Path;
use std::time::Duration;

use lkeobs::linode::{
    Client, ClientConfig, CreateObjectStorageKey, EndpointType, Error, RateLimits, RetrySettings, Token, pick_endpoint,
};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let mut config = ClientConfig::new(Token::new("test-token"));
    config.base_url = format!("{}/v4", server.uri());
    config.retry = RetrySettings {
        max_retries: 2,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_rate_limited_retries_without_deadline: 5,
    };
    config.timeout = Some(Duration::from_secs(5));
    config.rate_limits = RateLimits {
        per_minute: 60_000,
        burst: 1_000,
        list_per_minute: 60_000,
        list_burst: 1_000,
    };
    let client = Client::new(config).expect("client");
    (server, client)
}

fn page(data: Value, page: u32, pages: u32) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"data": data, "page": page, "pages": pages, "results": 3}))
}

#[tokio::test]
async fn endpoints_follow_every_page_and_keep_a_null_s3_endpoint() {
    let (server, client) = server().await;
    let pages = [
        json!([{"region": "us-ord", "endpoint_type": "E1", "s3_endpoint": "us-ord-1.linodeobjects.com"}]),
        json!([{"region": "us-ord", "endpoint_type": "E3", "s3_endpoint": null}]),
        json!([{"region": "gb-lon", "endpoint_type": "E3", "s3_endpoint": "gb-lon-1.linodeobjects.com"}]),
    ];
    for (n, data) in pages.into_iter().enumerate() {
        let n = u32::try_from(n).unwrap() + 1;
        Mock::given(method("GET"))
            .and(path("/v4/object-storage/endpoints"))
            .and(query_param("page", n.to_string()))
            .and(query_param("page_size", "500"))
            .respond_with(page(data, n, 3))
            .expect(1)
            .mount(&server)
            .await;
    }
    let endpoints = client.list_object_storage_endpoints().await.unwrap();
    assert_eq!(endpoints.len(), 3);
    let best = pick_endpoint(&endpoints, "us-ord").unwrap();
    assert_eq!(best.endpoint_type, EndpointType::E3);
    assert_eq!(best.s3_endpoint, None);
    assert_eq!(client.api_calls()["GET /object-storage/endpoints"], 3);
}

#[tokio::test]
async fn buckets_list_per_region_over_pages() {
    let (server, client) = server().await;
    for n in 1..=2u32 {
        Mock::given(method("GET"))
            .and(path("/v4/object-storage/buckets/us-ord"))
            .and(query_param("page", n.to_string()))
            .respond_with(page(
                json!([{"label": format!("lkeobs-demo-abcdef-{}", ["logs", "traces"][n as usize - 1]),
                        "region": "us-ord", "hostname": "x", "cluster": "", "objects": 0, "size": 0,
                        "endpoint_type": "E3", "s3_endpoint": "us-ord-10.linodeobjects.com"}]),
                n,
                2,
            ))
            .mount(&server)
            .await;
    }
    let buckets = client.list_buckets_in("us-ord").await.unwrap();
    let labels: Vec<&str> = buckets.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(labels, ["lkeobs-demo-abcdef-logs", "lkeobs-demo-abcdef-traces"]);
}

#[tokio::test]
async fn deleting_a_bucket_that_holds_objects_is_a_typed_error_that_says_so() {
    let (server, client) = server().await;
    Mock::given(method("DELETE"))
        .and(path("/v4/object-storage/buckets/us-ord/lkeobs-demo-abcdef-logs"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"errors": [{"reason": "Bucket is not empty", "field": null}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client
        .delete_bucket("us-ord", "lkeobs-demo-abcdef-logs")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BucketNotEmpty { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("lkeobs-demo-abcdef-logs") && text.contains("not empty"),
        "{text}"
    );
    assert!(text.contains("empty it over S3"), "{text}");
    assert_eq!(err.status(), Some(400));

    // Another 400 stays an API error, and a bucket already gone is done.
    Mock::given(method("DELETE"))
        .and(path("/v4/object-storage/buckets/us-ord/other"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"errors": [{"reason": "Invalid region", "field": "region"}]})),
        )
        .mount(&server)
        .await;
    let err = client.delete_bucket("us-ord", "other").await.unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
    Mock::given(method("DELETE"))
        .and(path("/v4/object-storage/buckets/us-ord/gone"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"errors": [{"reason": "Not found"}]})))
        .mount(&server)
        .await;
    client.delete_bucket("us-ord", "gone").await.unwrap();
}

#[tokio::test]
async fn a_created_key_carries_its_secret_and_the_request_is_limited_read_write() {
    let (server, client) = server().await;
    Mock::given(method("POST"))
        .and(path("/v4/object-storage/keys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": 7, "label": "lkeobs-demo", "access_key": "AK7", "secret_key": "the-secret",
            "limited": true,
            "bucket_access": [{"cluster": "", "bucket_name": "b", "permissions": "read_write", "region": "us-ord"}],
            "regions": [{"id": "us-ord", "s3_endpoint": "us-ord-10.linodeobjects.com", "endpoint_type": "E3"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let request = CreateObjectStorageKey::limited_read_write("lkeobs-demo", [("us-ord", "b")]);
    let key = client.create_object_storage_key(&request).await.unwrap();
    assert_eq!(
        key.secret_key
            .as_ref()
            .map(|s| s.expose_secret().to_string())
            .as_deref(),
        Some("the-secret")
    );
    assert!(!format!("{key:?}").contains("the-secret"));
    let sent = &server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(
        body,
        json!({"label": "lkeobs-demo", "bucket_access": [
            {"region": "us-ord", "bucket_name": "b", "permissions": "read_write"}]})
    );
}

/// The one call that deletes every bucket on the account has no place in the product: no file under
/// `src/` may name its path.
#[test]
fn no_source_file_names_the_object_storage_cancel_call() {
    let needle = ["object-storage", "cancel"].join("/");
    let mut offenders = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src folder").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                files += 1;
                if std::fs::read_to_string(&p).unwrap_or_default().contains(&needle) {
                    offenders.push(p.display().to_string());
                }
            }
        }
    }
    assert!(files > 50, "read only {files} files under src/");
    assert!(offenders.is_empty(), "{needle} is named in {offenders:?}");
}
