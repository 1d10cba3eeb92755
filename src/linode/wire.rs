//! One request attempt on the wire: limiter, call count, auth header, timeout clamped to the
//! deadline, rate-limit headers, and failed answers read into [`ApiError`]s.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::client::Client;
use super::error::{ApiError, ApiErrorItem, BodyKind, Error, Result, TransportKind};
use super::filter::Filter;
use super::ratelimit::RequestClass;
use super::request::ApiPath;
use super::retry::{self, Policy};

/// One page of a list answer.
#[derive(Debug, Deserialize)]
pub(super) struct Page<T> {
    pub(super) data: Vec<T>,
    #[serde(default = "one")]
    pub(super) page: u32,
    #[serde(default = "one")]
    pub(super) pages: u32,
}

fn one() -> u32 {
    1
}

/// A request before it is sent (possibly several times).
pub(super) struct Request<'a> {
    pub(super) method: Method,
    pub(super) path: &'a ApiPath,
    pub(super) query: Vec<(&'static str, String)>,
    pub(super) filter: Option<&'a Filter>,
    pub(super) body: Option<Vec<u8>>,
    pub(super) class: RequestClass,
}

impl Client {
    pub(super) async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &ApiPath,
        body: Option<&B>,
        policy: Policy,
    ) -> Result<T> {
        let body = match body {
            Some(b) => Some(serde_json::to_vec(b).map_err(|source| Error::Encode {
                method: method.clone(),
                path: path.display(),
                source,
            })?),
            None => None,
        };
        let request = Request {
            method,
            path,
            query: Vec::new(),
            filter: None,
            body,
            class: RequestClass::Other,
        };
        self.send(&request, policy).await
    }

    /// Sends with retries and decodes the answer.
    pub(super) async fn send<T: DeserializeOwned>(&self, request: &Request<'_>, policy: Policy) -> Result<T> {
        let shown = request.path.display();
        let text = retry::run(policy, self.deadline, &request.method, &shown, || {
            self.attempt(request, &shown)
        })
        .await?;
        let text = if text.trim().is_empty() { "{}" } else { text.as_str() };
        serde_json::from_str(text).map_err(|source| Error::Decode {
            method: request.method.clone(),
            path: shown.clone(),
            source,
        })
    }

    /// One attempt: wait for the limiter, count, send, read.
    async fn attempt(&self, request: &Request<'_>, shown: &str) -> Result<String> {
        let method = &request.method;
        let transport = |source: reqwest::Error| Error::Transport {
            method: method.clone(),
            path: shown.to_string(),
            // A connect timeout is a connect failure: nothing was sent.
            kind: if source.is_connect() {
                TransportKind::Connect
            } else if source.is_timeout() {
                TransportKind::Timeout
            } else {
                TransportKind::Other
            },
            source: source.without_url(),
        };
        let deadline_passed = || Error::DeadlinePassed {
            method: method.clone(),
            path: shown.to_string(),
        };
        let mut timeout = self.inner.timeout;
        match self.deadline {
            None => self.inner.limiter.acquire(request.class).await,
            Some(deadline) => {
                let acquire = self.inner.limiter.acquire(request.class);
                tokio::time::timeout_at(deadline, acquire)
                    .await
                    .map_err(|_| deadline_passed())?;
                let remaining = deadline.saturating_duration_since(Instant::now());
                if remaining.is_zero() {
                    return Err(deadline_passed());
                }
                timeout = Some(timeout.map_or(remaining, |t| t.min(remaining)));
            }
        }
        self.inner.calls.record(method.as_str(), request.path.template);

        let mut url = self.inner.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(&request.path.segments);
        }
        let mut auth =
            HeaderValue::try_from(format!("Bearer {}", self.inner.token.expose())).map_err(|_| Error::InvalidToken)?;
        auth.set_sensitive(true);
        let mut builder = self.inner.http.request(method.clone(), url).header(AUTHORIZATION, auth);
        if let Some(t) = timeout {
            builder = builder.timeout(t);
        }
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(filter) = request.filter {
            builder = builder.header("X-Filter", filter.header_value());
        }
        if let Some(body) = &request.body {
            tracing::trace!(body = %String::from_utf8_lossy(body), "{method} {shown}");
            builder = builder.header(CONTENT_TYPE, "application/json").body(body.clone());
        }
        let started = Instant::now();
        let response = builder.send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        self.observe_rate_headers(&headers);
        let text = response.text().await.map_err(transport)?;
        tracing::debug!(
            "{method} {shown} -> {} in {} ms",
            status.as_u16(),
            started.elapsed().as_millis()
        );
        if status.is_success() {
            return Ok(text);
        }
        let err = api_error(method, request.path, status.as_u16(), &headers, &text);
        if let (429, Some(wait)) = (err.status, err.retry_after) {
            self.inner.limiter.pause_until(Instant::now() + wait);
        }
        Err(Error::Api(Box::new(err)))
    }

    fn observe_rate_headers(&self, headers: &HeaderMap) {
        let limit = header_u64(headers, "x-ratelimit-limit");
        let remaining = header_u64(headers, "x-ratelimit-remaining");
        let reset = header_u64(headers, "x-ratelimit-reset").map(until_epoch);
        if let (Some(limit), Some(remaining), Some(reset_in)) = (limit, remaining, reset) {
            self.inner.limiter.observe(limit, remaining, reset_in);
        }
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `Retry-After` in seconds: whole (as Linode sends it) or decimal (`0.05`, as the simulator sends it when its
/// clock runs fast), never negative; an HTTP date or anything else is ignored.
fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let secs: f64 = headers.get("retry-after")?.to_str().ok()?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0 * 365.0)))
}

/// Time from now until a unix epoch second (zero if it has passed).
fn until_epoch(epoch_secs: u64) -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Duration::from_secs(epoch_secs).saturating_sub(now)
}

/// Reads a failed answer into an [`ApiError`], whatever its body looks like.
fn api_error(method: &Method, path: &ApiPath, status: u16, headers: &HeaderMap, text: &str) -> ApiError {
    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        errors: Vec<ApiErrorItem>,
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let looks_html = content_type.contains("html") || text.trim_start().starts_with('<');
    let (errors, body) = match serde_json::from_str::<Body>(text) {
        Ok(parsed) => (parsed.errors, BodyKind::Json),
        Err(_) if looks_html => (Vec::new(), BodyKind::Html),
        Err(_) => (Vec::new(), BodyKind::Other),
    };
    let retry_after = retry_after_header(headers).or_else(|| {
        (status == 429)
            .then(|| header_u64(headers, "x-ratelimit-reset").map(until_epoch))
            .flatten()
    });
    ApiError {
        method: method.clone(),
        path: path.display(),
        template: path.template,
        status,
        errors,
        body,
        retry_after,
        maintenance: headers.contains_key("x-maintenance-mode"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_json_error_bodies() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        let p = ApiPath::new("/regions", &[]);
        let e = api_error(&Method::GET, &p, 502, &headers, "<html>bad</html>");
        assert_eq!(e.body, BodyKind::Html);
        let headers = HeaderMap::new();
        let e = api_error(
            &Method::GET,
            &p,
            400,
            &headers,
            r#"{"errors":[{"reason":"x","field":null}]}"#,
        );
        assert_eq!(e.errors.len(), 1);
        assert_eq!(e.errors[0].field, None);
    }

    #[test]
    fn retry_after_in_whole_or_decimal_seconds() {
        let wait = |v: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert("retry-after", HeaderValue::from_static(v));
            retry_after_header(&headers)
        };
        assert_eq!(wait("2"), Some(Duration::from_secs(2)));
        assert_eq!(wait(" 0.050 "), Some(Duration::from_millis(50)));
        assert_eq!(wait("0"), Some(Duration::ZERO));
        assert_eq!(wait("-1"), None);
        assert_eq!(wait("NaN"), None);
        assert_eq!(wait("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after_header(&HeaderMap::new()), None);
    }
}
