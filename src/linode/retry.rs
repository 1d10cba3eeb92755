//! The one place where retries of Linode API requests are decided and scheduled.
//!
//! Built on `backon` rather than `backoff`: `backoff` is unmaintained (RUSTSEC-2025-0012) and
//! `backon` is what kube-rs uses (its `std` feature is on). backon schedules the exponential
//! delays; the jitter is AWS-style *full jitter* (a uniformly random wait between zero and the
//! exponential delay, from `fastrand`, seeded per process), applied in `adjust`: backon's own
//! `with_jitter` only adds up to one delay on top, so many clients would still move in step.
//!
//! Policy:
//! - 429 waits what `Retry-After` (or `X-RateLimit-Reset`) says, however long, with no count
//!   limit; only the command deadline bounds it. Without a deadline a safety count applies.
//! - 408, 5xx (except a 503 in planned maintenance), a 400 "Linode busy." and transport
//!   failures retry with exponential backoff and jitter, a bounded number of times.
//! - Other 4xx never retry.
//! - Creates (POST) are never retried when their answer may have been lost (timeout, broken
//!   connection, 500/502/504): the `*_idempotent` create helpers look the resource up instead.
//! - Any wait that would pass the deadline fails at once with [`Error::Deadline`].

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use reqwest::Method;
use tokio::time::Instant;

use super::error::{Error, Result};

/// How many times and how long to back off. The defaults suit the real API; tests shrink them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    /// Retries after the first attempt for 408/5xx/transport failures (5 means 6 attempts).
    pub max_retries: usize,
    /// First backoff delay (before jitter).
    pub min_delay: Duration,
    /// Largest backoff delay (before jitter).
    pub max_delay: Duration,
    /// Most 429 retries of one request when the client has no deadline (with a deadline, the
    /// deadline alone bounds them).
    pub max_rate_limited_retries_without_deadline: usize,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self {
            max_retries: 5,
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_rate_limited_retries_without_deadline: 50,
        }
    }
}

impl RetrySettings {
    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::new()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
    }
}

/// Whether a request may be repeated after its answer was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Idempotency {
    /// GET, PUT, DELETE: repeating is harmless.
    Idempotent,
    /// POST that creates something: repeat only when it surely did not happen.
    Create,
}

/// What to retry on, beyond the common rules.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub(crate) settings: RetrySettings,
    pub(crate) idempotency: Idempotency,
    /// Retry "kubeconfig not yet available" (503) with no count limit (deadline-bounded).
    pub(crate) until_kubeconfig_ready: bool,
}

impl Policy {
    /// The same policy, also retrying "kubeconfig not yet available" until the deadline.
    pub(crate) fn until_kubeconfig_ready(self) -> Self {
        Self {
            until_kubeconfig_ready: true,
            ..self
        }
    }

    fn should_retry(&self, err: &Error) -> bool {
        if err.is_kubeconfig_not_ready() {
            return self.until_kubeconfig_ready;
        }
        err.is_retryable() && (self.idempotency == Idempotency::Idempotent || !err.answer_may_be_lost())
    }
}

/// Runs `attempt` until it succeeds, fails for good, or the next wait would pass `deadline`.
pub(crate) async fn run<T, F, Fut>(
    policy: Policy,
    deadline: Option<Instant>,
    method: &Method,
    path: &str,
    attempt: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let settings = policy.settings;
    let mut backoff = settings.backoff();
    if policy.until_kubeconfig_ready {
        backoff = backoff.without_max_times();
    }
    let gave_up: Mutex<Option<(Duration, Duration)>> = Mutex::new(None);
    let mut rate_limited = 0usize;
    let result = attempt
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .when(|err| policy.should_retry(err))
        .adjust(|err, backoff_delay| {
            let wait = next_wait(err, backoff_delay, &settings, &mut rate_limited, deadline)?;
            if let Some(deadline) = deadline {
                let remaining = deadline.saturating_duration_since(Instant::now());
                if wait > remaining {
                    *gave_up.lock().unwrap_or_else(PoisonError::into_inner) = Some((wait, remaining));
                    return None;
                }
            }
            Some(wait)
        })
        .notify(|err, wait| {
            tracing::info!("retrying {method} {path} in {:.1}s: {err}", wait.as_secs_f64());
        })
        .await;
    result.map_err(
        |last| match gave_up.into_inner().unwrap_or_else(PoisonError::into_inner) {
            Some((wait, remaining)) => Error::Deadline {
                method: method.clone(),
                path: path.to_string(),
                wait,
                remaining,
                last: Box::new(last),
            },
            None => last,
        },
    )
}

/// The wait before the next attempt, or `None` to stop.
///
/// `backoff_delay` is backon's next exponential delay (`None` once the bounded retries are
/// used up). A 429 ignores that bound: it waits what the API asked for, as often as needed.
fn next_wait(
    err: &Error,
    backoff_delay: Option<Duration>,
    settings: &RetrySettings,
    rate_limited: &mut usize,
    deadline: Option<Instant>,
) -> Option<Duration> {
    let api = err.api();
    if api.is_some_and(|a| a.status == 429) {
        *rate_limited += 1;
        if deadline.is_none() && *rate_limited > settings.max_rate_limited_retries_without_deadline {
            return None;
        }
        let asked = api.and_then(|a| a.retry_after);
        return Some(asked.or(backoff_delay).unwrap_or(settings.max_delay));
    }
    let backoff_delay = backoff_delay?;
    Some(
        api.and_then(|a| a.retry_after)
            .unwrap_or_else(|| full_jitter(backoff_delay)),
    )
}

/// A uniformly random duration in `[0, delay]` ("full jitter").
fn full_jitter(delay: Duration) -> Duration {
    let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(0..=nanos))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::linode::error::{ApiError, BodyKind};

    fn api_err(status: u16, retry_after: Option<u64>) -> Error {
        Error::Api(Box::new(ApiError {
            method: Method::GET,
            path: "/regions".into(),
            template: "/regions",
            status,
            errors: vec![],
            body: BodyKind::Json,
            retry_after: retry_after.map(Duration::from_secs),
            maintenance: false,
        }))
    }

    fn policy(idempotency: Idempotency) -> Policy {
        Policy {
            settings: RetrySettings {
                max_retries: 3,
                min_delay: Duration::from_millis(100),
                max_delay: Duration::from_millis(400),
                max_rate_limited_retries_without_deadline: 4,
            },
            idempotency,
            until_kubeconfig_ready: false,
        }
    }

    async fn count_until_done(
        policy: Policy,
        deadline: Option<Instant>,
        fail: impl Fn(usize) -> Option<Error>,
    ) -> (Result<()>, usize) {
        let calls = AtomicUsize::new(0);
        let result = run(policy, deadline, &Method::GET, "/regions", || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            let outcome = fail(n);
            async move { outcome.map_or(Ok(()), Err) }
        })
        .await;
        (result, calls.load(Ordering::SeqCst))
    }

    #[test]
    fn full_jitter_stays_within_the_delay_and_varies() {
        let d = Duration::from_secs(8);
        let waits: Vec<Duration> = (0..200).map(|_| full_jitter(d)).collect();
        assert!(waits.iter().all(|w| *w <= d));
        assert!(waits.iter().any(|w| *w < d / 2), "never below half: not full jitter");
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 150, "jitter looks constant");
    }

    #[tokio::test(start_paused = true)]
    async fn server_errors_are_bounded() {
        let (r, calls) = count_until_done(policy(Idempotency::Idempotent), None, |_| Some(api_err(500, None))).await;
        assert_eq!(r.unwrap_err().status(), Some(500));
        assert_eq!(calls, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limits_wait_the_asked_time_beyond_the_backoff_bound() {
        let start = Instant::now();
        let (r, calls) = count_until_done(policy(Idempotency::Idempotent), None, |n| {
            (n < 4).then(|| api_err(429, Some(120)))
        })
        .await;
        assert!(r.is_ok());
        assert_eq!(calls, 5);
        assert!(start.elapsed() >= Duration::from_secs(480));
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limits_without_deadline_have_a_safety_count() {
        let (r, calls) = count_until_done(policy(Idempotency::Idempotent), None, |_| Some(api_err(429, Some(1)))).await;
        assert_eq!(r.unwrap_err().status(), Some(429));
        assert_eq!(calls, 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_the_deadline_fails_at_once() {
        let start = Instant::now();
        let deadline = Some(start + Duration::from_secs(10));
        let (r, calls) = count_until_done(policy(Idempotency::Idempotent), deadline, |_| {
            Some(api_err(429, Some(60)))
        })
        .await;
        let err = r.unwrap_err();
        assert!(matches!(err, Error::Deadline { .. }), "{err}");
        assert!(err.to_string().contains("deadline"), "{err}");
        assert_eq!(calls, 1);
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn client_errors_and_maintenance_do_not_retry() {
        let (_, calls) = count_until_done(policy(Idempotency::Idempotent), None, |_| Some(api_err(404, None))).await;
        assert_eq!(calls, 1);
        let (_, calls) = count_until_done(policy(Idempotency::Idempotent), None, |_| {
            let Error::Api(mut api) = api_err(503, None) else {
                unreachable!()
            };
            api.maintenance = true;
            Some(Error::Api(api))
        })
        .await;
        assert_eq!(calls, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn creates_do_not_retry_a_lost_answer_but_do_retry_429() {
        let (_, calls) = count_until_done(policy(Idempotency::Create), None, |_| Some(api_err(502, None))).await;
        assert_eq!(calls, 1);
        let (r, calls) = count_until_done(policy(Idempotency::Create), None, |n| {
            (n == 0).then(|| api_err(429, Some(1)))
        })
        .await;
        assert!(r.is_ok());
        assert_eq!(calls, 2);
    }
}
