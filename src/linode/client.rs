//! The client itself: configuration, construction, shared state (limiter, call counts).
//!
//! Resource methods (clusters, pools, firewalls, …) live in their own files as `impl Client`
//! blocks built on the request helpers of `request.rs`; `wire.rs` sends one attempt.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use url::Url;

use super::auth::Token;
use super::calls::{ApiCalls, CallCounter};
use super::error::{Error, Result};
use super::prices::CatalogCache;
use super::ratelimit::{RateLimiter, RateLimits};
use super::retry::{Idempotency, Policy, RetrySettings};

/// The production API base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.linode.com/v4";

/// Page size for every list request (the API's maximum).
pub const PAGE_SIZE: u32 = 500;

/// Everything needed to build a [`Client`]. The caller reads the environment once
/// (`LINODE_URL`, the token) and fills this in.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// API base, e.g. `https://api.linode.com/v4` or `http://127.0.0.1:1234/v4`.
    pub base_url: String,
    /// The personal access token.
    pub token: Token,
    /// Timeout of one request attempt, including reading the body.
    pub timeout: Option<Duration>,
    /// Timeout of establishing a connection.
    pub connect_timeout: Option<Duration>,
    /// Backoff settings.
    pub retry: RetrySettings,
    /// Client-side rate limits.
    pub rate_limits: RateLimits,
    /// The command's deadline: no request or retry wait runs past it.
    pub deadline: Option<Instant>,
}

impl ClientConfig {
    /// Defaults: production URL, 60 s request and 10 s connect timeouts, default retries and
    /// rate limits, no deadline.
    pub fn new(token: Token) -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_string(),
            token,
            timeout: Some(Duration::from_secs(60)),
            connect_timeout: Some(Duration::from_secs(10)),
            retry: RetrySettings::default(),
            rate_limits: RateLimits::default(),
            deadline: None,
        }
    }
}

/// The Linode API v4 client. Cheap to clone; clones share the rate limiter and call counts.
#[derive(Clone)]
pub struct Client {
    pub(super) inner: Arc<Inner>,
    pub(super) deadline: Option<Instant>,
}

pub(super) struct Inner {
    pub(super) http: reqwest::Client,
    pub(super) base: Url,
    pub(super) token: Token,
    pub(super) timeout: Option<Duration>,
    pub(super) retry: RetrySettings,
    pub(super) limiter: RateLimiter,
    pub(super) calls: CallCounter,
    pub(super) cache: CatalogCache,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("token", &self.inner.token)
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the client: rustls TLS, `lkeobs/<version>` User-Agent, timeouts.
    pub fn new(config: ClientConfig) -> Result<Self> {
        let base = parse_base(&config.base_url)?;
        crate::tls::install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("lkeobs/", env!("CARGO_PKG_VERSION")))
            .tls_backend_rustls();
        if let Some(t) = config.connect_timeout {
            builder = builder.connect_timeout(t);
        }
        let http = builder.build().map_err(Error::Client)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                token: config.token,
                timeout: config.timeout,
                retry: config.retry,
                limiter: RateLimiter::new(config.rate_limits),
                calls: CallCounter::default(),
                cache: CatalogCache::default(),
            }),
            deadline: config.deadline,
        })
    }

    /// A clone bound by another deadline (sharing limiter and call counts).
    pub fn with_deadline(&self, deadline: Option<Instant>) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            deadline,
        }
    }

    /// The deadline this client stops at.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Every request attempt so far, by `METHOD /path/{template}`; serializes to a JSON object.
    pub fn api_calls(&self) -> ApiCalls {
        self.inner.calls.snapshot()
    }

    /// Total request attempts so far.
    pub fn api_call_total(&self) -> u64 {
        self.inner.calls.total()
    }

    /// The shared rate limiter.
    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    pub(super) fn policy(&self, idempotency: Idempotency) -> Policy {
        Policy {
            settings: self.inner.retry,
            idempotency,
            until_kubeconfig_ready: false,
        }
    }
}

fn parse_base(raw: &str) -> Result<Url> {
    let bad = |reason: &str| Error::BaseUrl {
        url: raw.to_string(),
        reason: reason.to_string(),
    };
    let url = Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(bad("not a base URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a query or fragment is not allowed"));
    }
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(bad(
            "plain http is allowed only to a loopback address (a local simulator): the token would cross the network in clear text",
        ));
    }
    Ok(url)
}

/// `localhost`, `127.0.0.0/8` or `::1`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_with_a_path_are_accepted_and_bad_ones_rejected() {
        assert!(parse_base("http://127.0.0.1:1234/v4").is_ok());
        assert!(parse_base("https://api.linode.com/v4/").is_ok());
        assert!(parse_base("ftp://x/v4").is_err());
        assert!(parse_base("http://localhost:8080/v4").is_ok());
        assert!(parse_base("http://[::1]:8080/v4").is_ok());
        for clear in [
            "http://api.linode.com/v4",
            "http://10.0.0.5/v4",
            "http://127.0.0.1.nip.io/v4",
        ] {
            let err = parse_base(clear).unwrap_err().to_string();
            assert!(err.contains("loopback"), "{clear}: {err}");
        }
        assert!(parse_base("not a url").is_err());
    }
}
