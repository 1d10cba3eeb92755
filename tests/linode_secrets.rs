//! The API token never shows: not in Debug or Display of the client, its config or any error,
//! and not in logs captured at TRACE (including dependencies' `log` records) during requests.

use crate::support;

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use lkeobs::linode::{Client, ClientConfig, Error, Token, resolve_token};
use serde_json::json;
use support::test_config;
use tokio::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "s3cr3t-t0ken-4b1d9e77";

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs one global TRACE subscriber (with the `log` bridge) for this test binary.
fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| Capture)
            .try_init();
    });
}

fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

fn config(server: &MockServer) -> ClientConfig {
    test_config(&format!("{}/v4", server.uri()), SECRET)
}

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "the token leaked into {what}: {text}");
}

fn assert_error_clean(err: &Error) {
    assert_clean("Display", &err.to_string());
    assert_clean("Debug", &format!("{err:?}"));
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        assert_clean("a source", &format!("{s} {s:?}"));
        source = s.source();
    }
}

async fn mount(server: &MockServer, p: &str, response: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(p))
        .respond_with(response)
        .mount(server)
        .await;
}

/// Every error the client can return, each produced for real where possible.
async fn every_error_kind(server: &MockServer) -> Vec<Error> {
    let errors_body = |status: u16, reason: &str| {
        ResponseTemplate::new(status).set_body_json(json!({"errors": [{"reason": reason, "field": "label"}]}))
    };
    mount(server, "/v4/regions/e401", errors_body(401, "Invalid Token")).await;
    mount(server, "/v4/regions/e400", errors_body(400, "Label must be unique")).await;
    mount(
        server,
        "/v4/regions/e502",
        ResponseTemplate::new(502).set_body_raw("<html>502</html>", "text/html"),
    )
    .await;
    mount(
        server,
        "/v4/regions/e503",
        errors_body(503, "maintenance").insert_header("X-Maintenance-Mode", "1"),
    )
    .await;
    mount(
        server,
        "/v4/regions/e429",
        errors_body(429, "slow down").insert_header("Retry-After", "60"),
    )
    .await;
    mount(
        server,
        "/v4/regions/bad-json",
        ResponseTemplate::new(200).set_body_string("not json"),
    )
    .await;
    mount(
        server,
        "/v4/regions/slow",
        ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
    )
    .await;
    mount(
        server,
        "/v4/lke/clusters/1/kubeconfig",
        ResponseTemplate::new(200).set_body_json(json!({"kubeconfig": "%%"})),
    )
    .await;

    let client = Client::new(config(server)).unwrap();
    let mut errors = Vec::new();
    for id in ["e401", "e400", "e502", "e503", "bad-json"] {
        errors.push(client.get_region(id).await.unwrap_err());
    }
    errors.push(client.get_kubeconfig(1).await.unwrap_err());
    Mock::given(method("DELETE"))
        .and(path("/v4/object-storage/buckets/us-ord/full"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"errors": [{"reason": "Bucket is not empty"}]})))
        .mount(server)
        .await;
    errors.push(client.delete_bucket("us-ord", "full").await.unwrap_err());
    errors.push(
        client
            .with_deadline(Some(Instant::now() + Duration::from_secs(5)))
            .get_region("e429")
            .await
            .unwrap_err(),
    );
    errors.push(
        client
            .with_deadline(Some(Instant::now()))
            .get_region("e400")
            .await
            .unwrap_err(),
    );

    let mut slow = config(server);
    slow.timeout = Some(Duration::from_millis(100));
    slow.retry.max_retries = 0;
    errors.push(Client::new(slow).unwrap().get_region("slow").await.unwrap_err());

    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut refused = test_config(&format!("http://127.0.0.1:{closed_port}/v4"), SECRET);
    refused.retry.max_retries = 1;
    errors.push(Client::new(refused).unwrap().list_regions().await.unwrap_err());

    let mut bad_url = config(server);
    bad_url.base_url = "ftp://api.example.invalid/v4".into();
    errors.push(Client::new(bad_url).unwrap_err());
    let mut bad_token = config(server);
    bad_token.token = Token::new(format!("{SECRET}\nx"));
    errors.push(Client::new(bad_token).unwrap().list_regions().await.unwrap_err());
    errors.push(resolve_token(|_| None, None).unwrap_err());
    let json_err = serde_json::from_str::<u8>("x").unwrap_err();
    errors.push(Error::Encode {
        method: reqwest::Method::POST,
        path: "/tags".into(),
        source: json_err,
    });
    errors
}

#[tokio::test]
async fn the_token_is_absent_from_debug_and_display_of_client_config_and_every_error() {
    let server = MockServer::start().await;
    let config = config(&server);
    assert_clean("config Debug", &format!("{config:?} {:?}", config.token));
    let client = Client::new(config).unwrap();
    assert_clean("client Debug", &format!("{client:?} {client:#?}"));

    let errors = every_error_kind(&server).await;
    let kinds: Vec<&str> = errors
        .iter()
        .map(|e| match e {
            Error::NoToken { .. } => "NoToken",
            Error::BaseUrl { .. } => "BaseUrl",
            Error::Client(_) => "Client",
            Error::Api(_) => "Api",
            Error::Transport { .. } => "Transport",
            Error::Decode { .. } => "Decode",
            Error::Encode { .. } => "Encode",
            Error::InvalidToken => "InvalidToken",
            Error::DeadlinePassed { .. } => "DeadlinePassed",
            Error::Deadline { .. } => "Deadline",
            Error::Kubeconfig { .. } => "Kubeconfig",
            Error::BucketNotEmpty { .. } => "BucketNotEmpty",
        })
        .collect();
    for kind in [
        "NoToken",
        "BaseUrl",
        "Api",
        "Transport",
        "Decode",
        "Encode",
        "InvalidToken",
        "DeadlinePassed",
        "Deadline",
        "Kubeconfig",
        "BucketNotEmpty",
    ] {
        assert!(kinds.contains(&kind), "{kind} not produced: {kinds:?}");
    }
    for err in &errors {
        assert_error_clean(err);
    }
}

#[tokio::test]
async fn the_token_is_absent_from_trace_logs_during_requests() {
    capture_logs();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v4/tags"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"label": "lkeobs"})))
        .mount(&server)
        .await;
    mount(
        &server,
        "/v4/regions",
        ResponseTemplate::new(200).set_body_json(json!({"data": [], "page": 1, "pages": 1, "results": 0})),
    )
    .await;
    let client = Client::new(config(&server)).unwrap();
    client.list_regions().await.unwrap();
    client
        .create_tag(&lkeobs::linode::CreateTag {
            label: "lkeobs".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let _ = every_error_kind(&server).await;
    let text = logs();
    assert!(text.contains("TRACE"), "nothing captured at TRACE:\n{text}");
    assert!(
        text.contains("GET /regions -> 200"),
        "client debug lines missing:\n{text}"
    );
    assert!(
        text.contains("retrying GET /regions/e502"),
        "retry lines missing:\n{text}"
    );
    assert_clean("TRACE logs", &text);
}
