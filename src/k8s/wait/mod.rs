//! Deadline-bounded waits: `tokio::time::timeout_at` around kube-rs `await_condition`, restarted with
//! backoff when the watch breaks, remembering the last state seen so a timeout can say why.

pub mod events;
pub mod nodes;
pub mod rollout;
pub mod service;

use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use kube::runtime::wait::await_condition;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;
use tokio::time::{Instant, timeout_at};

/// What a wait that ran out of time last saw.
pub(crate) struct Expired<K> {
    /// `None`: the watch never answered; `Some(None)`: the object did not exist.
    pub last: Option<Option<K>>,
    /// The last watch error, if the watch kept failing.
    pub last_error: Option<String>,
    pub waited: Duration,
}

impl<K> Expired<K> {
    /// "; last API error: …" when the watch failed, else "".
    pub fn error_hint(&self) -> String {
        self.last_error
            .as_ref()
            .map(|e| format!("; last API error: {e}"))
            .unwrap_or_default()
    }
}

/// Backoff between watch restarts (a broken connection, a read timeout on a quiet watch).
/// Unbounded in count: the deadline bounds it.
fn watch_backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(10))
        .with_jitter()
        .without_max_times()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Waits until `cond` holds for the object `name` (`None` = absent), or `deadline` passes.
pub(crate) async fn wait_object<K, F>(
    api: Api<K>,
    name: &str,
    deadline: Instant,
    cond: F,
) -> Result<Option<K>, Expired<K>>
where
    K: Clone + Debug + Send + Sync + DeserializeOwned + Resource + 'static,
    F: Fn(Option<&K>) -> bool + Send + Sync + 'static,
{
    let start = Instant::now();
    let cond = Arc::new(cond);
    let last: Arc<Mutex<Option<Option<K>>>> = Arc::new(Mutex::new(None));
    let last_error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let attempt = || {
        let (api, cond, last) = (api.clone(), cond.clone(), last.clone());
        async move {
            let seen = move |obj: Option<&K>| {
                *lock(&last) = Some(obj.cloned());
                cond(obj)
            };
            await_condition(api, name, seen).await
        }
    };
    let retrying = attempt
        .retry(watch_backoff())
        .sleep(tokio::time::sleep)
        .notify(|e, delay| {
            tracing::debug!(object = name, error = %e, ?delay, "watch failed; restarting");
            *lock(&last_error) = Some(e.to_string());
        });
    let outcome = timeout_at(deadline, retrying).await;
    let expired = |error: Option<String>| Expired {
        last: lock(&last).take(),
        last_error: error.or_else(|| lock(&last_error).take()),
        waited: start.elapsed(),
    };
    match outcome {
        Ok(Ok(obj)) => Ok(obj),
        Ok(Err(e)) => Err(expired(Some(e.to_string()))),
        Err(_) => Err(expired(None)),
    }
}
