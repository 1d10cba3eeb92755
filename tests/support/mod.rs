//! Helpers shared by the integration tests: handles on the product simulator (`lkeobs::sim`: the
//! Linode API, the clusters' Kubernetes APIs, the world that runs controllers over them), the hub's
//! data-path stand-ins, the OpenAPI checker, and client settings.
#![allow(dead_code)]

pub mod hub_data;
pub mod jobs;
#[path = "sim_k8s.rs"]
pub mod k8s_fake;
#[path = "sim_linode.rs"]
pub mod linode_fake;
pub mod openapi;
pub mod s3;
#[path = "sim_world.rs"]
pub mod world;

use std::time::Duration;

use lkeobs::linode::{Bucket, Client, ClientConfig, CreateBucket, RateLimits, RetrySettings, Token};

/// How long [`eventually`] waits before it fails the test: generous, so that a loaded machine is slow
/// rather than red.
pub const EVENTUALLY: Duration = Duration::from_secs(10);

/// Waits until `cond` holds (checked every 5 ms) and fails the test naming `what` when it has not
/// after [`EVENTUALLY`]. For waiting on a state, in place of a sleep that guesses how long it takes.
pub async fn eventually(what: &str, cond: impl FnMut() -> bool) {
    eventually_for(what, EVENTUALLY, cond).await;
}

/// [`eventually`] with its own limit (for a state a whole command run reaches).
pub async fn eventually_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        // The pace of the polling, not a synchronisation: the condition decides.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The token a seeded simulator accepts.
pub const FAKE_TOKEN: &str = lkeobs::sim::linode::SEEDED_TOKEN;

/// Retries fast enough for tests (milliseconds instead of seconds).
pub fn fast_retry() -> RetrySettings {
    RetrySettings {
        max_retries: 5,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        max_rate_limited_retries_without_deadline: 50,
    }
}

/// A client config for a fake at `base_url`: fast retries, generous rate limits, a short
/// request timeout.
pub fn test_config(base_url: &str, token: &str) -> ClientConfig {
    let mut config = ClientConfig::new(Token::new(token));
    config.base_url = base_url.to_string();
    config.retry = fast_retry();
    config.timeout = Some(Duration::from_secs(5));
    config.connect_timeout = Some(Duration::from_secs(2));
    config.rate_limits = RateLimits {
        per_minute: 60_000,
        burst: 1_000,
        list_per_minute: 60_000,
        list_burst: 1_000,
    };
    config
}

/// A client for the fake or a wiremock server at `base_url`.
pub fn test_client(base_url: &str) -> Client {
    Client::new(test_config(base_url, FAKE_TOKEN)).expect("test client")
}

/// Creates bucket `label` in `region` through the Linode API, with the platform's defaults.
pub async fn create_bucket(client: &Client, label: &str, region: &str) -> Bucket {
    client
        .create_bucket(&CreateBucket {
            label: label.to_string(),
            region: region.into(),
            endpoint_type: None,
            acl: None,
        })
        .await
        .expect("bucket create")
}
