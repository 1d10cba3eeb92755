//! The S3 client: configuration, one signed attempt on the wire, and the retries (transient failures a
//! bounded number of times; 403 only within the window after a key was created; nothing past the deadline).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::DEFAULT_NEW_KEY_WINDOW;
use super::error::{S3Error, S3Result, Target};
use super::sign::{self, Signer};
use super::xml::{ErrorBody, from_xml};

/// Everything needed to build an [`S3Client`]. The secret is held as a [`SecretString`].
#[derive(Clone)]
pub struct S3Config {
    /// The S3 host, `linode::s3_host` of a bucket (a port is allowed).
    pub host: String,
    /// The buckets' Linode region id (the signing region of a loopback host).
    pub bucket_region: String,
    /// Access key id.
    pub access_key: String,
    /// Secret key.
    pub secret_key: SecretString,
    /// When the key was created, if just now: 403s are retried until `key_created + new_key_window`.
    pub key_created: Option<Instant>,
    /// How long after its creation a key's 403s are retried (default 45 s).
    pub new_key_window: Duration,
    /// Timeout of one attempt.
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Retries of a transient failure (5xx, SlowDown, transport).
    pub max_retries: usize,
    /// First backoff delay (before full jitter).
    pub min_delay: Duration,
    /// Largest backoff delay.
    pub max_delay: Duration,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("host", &self.host)
            .field("bucket_region", &self.bucket_region)
            .field("access_key", &self.access_key)
            .field("secret_key", &"[REDACTED]")
            .field("key_created", &self.key_created)
            .field("new_key_window", &self.new_key_window)
            .finish_non_exhaustive()
    }
}

impl S3Config {
    /// Defaults: an existing key (403 is final), 60 s attempts, 5 retries from 200 ms to 10 s.
    pub fn new(host: &str, bucket_region: &str, access_key: &str, secret_key: SecretString) -> Self {
        Self {
            host: host.to_string(),
            bucket_region: bucket_region.to_string(),
            access_key: access_key.to_string(),
            secret_key,
            key_created: None,
            new_key_window: DEFAULT_NEW_KEY_WINDOW,
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 5,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }

    /// The key was created just now: retry 403 for `new_key_window`.
    pub fn fresh_key(mut self) -> Self {
        self.key_created = Some(Instant::now());
        self
    }
}

/// Request attempts so far by S3 operation (`"DeleteObjects" -> 3`).
pub type S3Calls = BTreeMap<String, u64>;

/// An answer as it came (any status).
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

/// An S3 client bound to one host and key. Cheap to clone; clones share the call counts.
#[derive(Clone)]
pub struct S3Client {
    inner: Arc<Inner>,
    deadline: Option<Instant>,
}

struct Inner {
    http: reqwest::Client,
    host: String,
    signer: Signer,
    forbidden_until: Option<Instant>,
    timeout: Duration,
    max_retries: usize,
    backoff: ExponentialBuilder,
    backoff_cap: Duration,
    calls: Mutex<S3Calls>,
}

impl fmt::Debug for S3Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Client")
            .field("host", &self.inner.host)
            .field("region", &self.inner.signer.region)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

/// One request before it is sent (possibly several times).
pub(super) struct Req<'a> {
    pub(super) op: &'static str,
    pub(super) method: Method,
    pub(super) bucket: &'a str,
    pub(super) key: Option<&'a str>,
    pub(super) query: Vec<(&'static str, String)>,
    /// Extra headers, lowercase names; all are signed.
    pub(super) headers: Vec<(&'static str, String)>,
    pub(super) body: Bytes,
}

impl<'a> Req<'a> {
    pub(super) fn new(op: &'static str, method: Method, bucket: &'a str, key: Option<&'a str>) -> Self {
        Self {
            op,
            method,
            bucket,
            key,
            query: Vec::new(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    fn target(&self) -> String {
        Target(self.bucket, self.key).to_string()
    }
}

impl S3Client {
    /// Builds the client: rustls on the process-wide ring provider, as the rest of the crate.
    pub fn new(config: S3Config) -> S3Result<Self> {
        if config.host.trim().is_empty() || config.host.contains(['/', ' ']) {
            return Err(S3Error::Config(format!("not an S3 host: {:?}", config.host)));
        }
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("lkeobs/", env!("CARGO_PKG_VERSION")))
            .tls_backend_rustls()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| S3Error::Config(format!("building the HTTP client: {e}")))?;
        let credentials = Credentials::new(
            config.access_key.clone(),
            config.secret_key.expose_secret().to_string(),
            None,
            None,
            "lkeobs",
        );
        let region = sign::signing_region(&config.host, &config.bucket_region);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                host: config.host.clone(),
                signer: Signer { credentials, region },
                forbidden_until: config.key_created.map(|t| t + config.new_key_window),
                timeout: config.timeout,
                max_retries: config.max_retries,
                backoff: ExponentialBuilder::new()
                    .with_min_delay(config.min_delay)
                    .with_max_delay(config.max_delay)
                    .without_max_times(),
                backoff_cap: config.max_delay,
                calls: Mutex::new(S3Calls::new()),
            }),
            deadline: None,
        })
    }

    /// A clone bound by `deadline` (sharing the call counts): no attempt starts and no wait runs past it.
    pub fn with_deadline(&self, deadline: Option<Instant>) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
            deadline,
        }
    }

    /// The host this client talks to.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// The SigV4 region it signs for.
    pub fn signing_region(&self) -> &str {
        &self.inner.signer.region
    }

    /// Request attempts so far, by operation.
    pub fn calls(&self) -> S3Calls {
        self.inner.calls.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// A signed request of any kind (for calls this client has no method for): retried like the others,
    /// the answer returned whatever its status.
    pub async fn raw(
        &self,
        op: &'static str,
        method: Method,
        bucket: &str,
        key: Option<&str>,
        query: &[(&'static str, &str)],
        body: Vec<u8>,
    ) -> S3Result<RawResponse> {
        let mut req = Req::new(op, method, bucket, key);
        req.query = query.iter().map(|(k, v)| (*k, v.to_string())).collect();
        req.body = Bytes::from(body);
        self.send_any(&req).await
    }

    /// Sends with retries; a non-2xx answer is an [`S3Error::Status`].
    pub(super) async fn send(&self, req: &Req<'_>) -> S3Result<RawResponse> {
        let answer = self.send_any(req).await?;
        if (200..300).contains(&answer.status) {
            Ok(answer)
        } else {
            Err(status_error(req, &answer))
        }
    }

    /// Sends with retries; the last answer is returned whatever its status.
    async fn send_any(&self, req: &Req<'_>) -> S3Result<RawResponse> {
        let mut delays = self.inner.backoff.build();
        let mut transient = 0usize;
        loop {
            let (err, answer) = match self.attempt(req).await {
                Ok(answer) if (200..300).contains(&answer.status) => return Ok(answer),
                Ok(answer) => (status_error(req, &answer), Some(answer)),
                Err(err) => (err, None),
            };
            let give_up = |err: S3Error, answer: Option<RawResponse>| answer.ok_or(err);
            let now = Instant::now();
            let allowed_until = if err.is_forbidden() {
                match self.inner.forbidden_until {
                    Some(until) if now < until => Some(until),
                    _ => None,
                }
            } else if err.is_transient() && transient < self.inner.max_retries {
                transient += 1;
                Some(now + self.inner.backoff_cap)
            } else {
                None
            };
            let Some(until) = allowed_until else {
                return give_up(err, answer);
            };
            // Within the retry window the last wait is cut to its end; a wait past the deadline is not started.
            let wait =
                full_jitter(delays.next().unwrap_or(Duration::from_secs(1))).min(until.saturating_duration_since(now));
            if now >= until || self.deadline.is_some_and(|d| now + wait >= d) {
                return give_up(err, answer);
            }
            tracing::debug!(
                "retrying {} {} in {:.1}s: {err}",
                req.op,
                req.target(),
                wait.as_secs_f64()
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// One signed attempt; any answer is returned as it came.
    async fn attempt(&self, req: &Req<'_>) -> S3Result<RawResponse> {
        let target = || req.target();
        let mut timeout = self.inner.timeout;
        if let Some(deadline) = self.deadline {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(S3Error::Deadline {
                    op: req.op,
                    target: target(),
                });
            }
            timeout = timeout.min(remaining);
        }
        self.record(req.op);
        let url = sign::url(&self.inner.host, req.bucket, req.key, &req.query);
        let signed = self
            .inner
            .signer
            .sign(req.method.as_str(), &url, &req.headers, &req.body, SystemTime::now())
            .map_err(|detail| S3Error::Request {
                op: req.op,
                target: target(),
                detail,
            })?;
        let mut builder = self.inner.http.request(req.method.clone(), &url).timeout(timeout);
        for (name, value) in req.headers.iter().map(|(k, v)| (*k, v.as_str())) {
            builder = builder.header(name, value);
        }
        for (name, value) in &signed {
            let mut value = HeaderValue::from_str(value).map_err(|e| S3Error::Request {
                op: req.op,
                target: target(),
                detail: format!("header {name}: {e}"),
            })?;
            value.set_sensitive(name.eq_ignore_ascii_case(AUTHORIZATION.as_str()));
            builder = builder.header(name.as_str(), value);
        }
        let transport = |source: reqwest::Error| S3Error::Transport {
            op: req.op,
            target: target(),
            source: source.without_url(),
        };
        let response = builder.body(req.body.clone()).send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?;
        tracing::debug!("{} {} -> {status}", req.op, req.target());
        Ok(RawResponse { status, headers, body })
    }

    fn record(&self, op: &str) {
        let mut calls = self.inner.calls.lock().unwrap_or_else(PoisonError::into_inner);
        *calls.entry(op.to_string()).or_insert(0) += 1;
    }
}

/// A non-2xx answer read into an error (S3's XML `<Error>` when there is one; HEAD answers have no body).
fn status_error(req: &Req<'_>, answer: &RawResponse) -> S3Error {
    let text = String::from_utf8_lossy(&answer.body);
    let body: ErrorBody = from_xml(&text).unwrap_or_default();
    S3Error::Status {
        op: req.op,
        target: req.target(),
        status: answer.status,
        code: body.code,
        message: body.message,
    }
}

/// A uniformly random duration in `[0, delay]` ("full jitter"), as the Linode client waits.
fn full_jitter(delay: Duration) -> Duration {
    let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}
