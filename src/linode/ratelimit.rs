//! One client-side rate limiter shared by every task of a run, so lkeobs stays under Linode's
//! limits instead of bouncing off them.
//!
//! Two GCRA token buckets (the "virtual scheduling" form of a token bucket): one for all
//! requests, one for paginated list GETs. Defaults leave headroom under Linode's 1600/min and
//! 200/min: a burst plus a minute's refill stays below each limit. The API's
//! `X-RateLimit-*` headers slow it down further when the remaining budget runs low, and a 429
//! pauses every task until the wait it asked for has passed.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Limits of the shared limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Requests per minute, all kinds together.
    pub per_minute: u32,
    /// Requests that may go at once before the per-minute pace applies.
    pub burst: u32,
    /// Paginated list GETs per minute.
    pub list_per_minute: u32,
    /// Burst for paginated list GETs.
    pub list_burst: u32,
}

impl Default for RateLimits {
    /// 1500/min (burst 20) overall and 180/min (burst 10) for lists: at most 1520 and 190 in
    /// any minute, under Linode's 1600 and 200.
    fn default() -> Self {
        Self {
            per_minute: 1500,
            burst: 20,
            list_per_minute: 180,
            list_burst: 10,
        }
    }
}

/// Which bucket a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestClass {
    /// A paginated list GET: counts against both buckets.
    List,
    /// Anything else.
    Other,
}

/// The shared limiter; clones share one state.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    all: Gcra,
    list: Gcra,
    paused_until: Option<Instant>,
    slow: Option<Slow>,
}

/// Pacing while the API says the remaining budget is low.
#[derive(Debug)]
struct Slow {
    until: Instant,
    interval: Duration,
    next: Instant,
}

#[derive(Debug)]
struct Gcra {
    interval: Duration,
    tolerance: Duration,
    tat: Option<Instant>,
}

impl Gcra {
    fn new(per_minute: u32, burst: u32) -> Self {
        let interval = Duration::from_secs(60) / per_minute.max(1);
        Self {
            interval,
            tolerance: interval * burst.max(1).saturating_sub(1),
            tat: None,
        }
    }

    fn earliest(&self, now: Instant) -> Instant {
        match self.tat {
            Some(tat) => now.max(tat.checked_sub(self.tolerance).unwrap_or(now)),
            None => now,
        }
    }

    fn take(&mut self, at: Instant) {
        let base = self.tat.map_or(at, |tat| tat.max(at));
        self.tat = Some(base + self.interval);
    }
}

impl RateLimiter {
    /// A limiter with these limits.
    pub fn new(limits: RateLimits) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                all: Gcra::new(limits.per_minute, limits.burst),
                list: Gcra::new(limits.list_per_minute, limits.list_burst),
                paused_until: None,
                slow: None,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until a request of this class may be sent, and books its slot.
    ///
    /// A list GET first waits for its list slot, then books an overall slot, so slow list
    /// slots booked far ahead never hold back other requests.
    pub async fn acquire(&self, class: RequestClass) {
        if class == RequestClass::List {
            let at = {
                let mut s = self.lock();
                let at = s.list.earliest(Instant::now());
                s.list.take(at);
                at
            };
            tokio::time::sleep_until(at).await;
        }
        let at = {
            let mut s = self.lock();
            let mut at = s.all.earliest(Instant::now());
            if let Some(paused) = s.paused_until {
                at = at.max(paused);
            }
            if let Some(slow) = &mut s.slow {
                if at < slow.until {
                    at = at.max(slow.next);
                    slow.next = at + slow.interval;
                } else {
                    s.slow = None;
                }
            }
            s.all.take(at);
            at
        };
        tokio::time::sleep_until(at).await;
        // A 429 seen by another task while this one slept pauses it too.
        let paused = self.lock().paused_until;
        if let Some(paused) = paused.filter(|p| *p > Instant::now()) {
            tokio::time::sleep_until(paused).await;
        }
    }

    /// Feeds the `X-RateLimit-Limit`, `-Remaining` and `-Reset` (as time from now) of an answer.
    /// Below 10% remaining, requests are spread evenly until the reset; at 0 they wait for it.
    pub fn observe(&self, limit: u64, remaining: u64, reset_in: Duration) {
        if limit == 0 {
            return;
        }
        let now = Instant::now();
        let until = now + reset_in;
        let mut s = self.lock();
        if remaining == 0 {
            s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
        } else if remaining.saturating_mul(10) < limit {
            let count = u32::try_from(remaining).unwrap_or(u32::MAX);
            let interval = reset_in / count;
            let next = s.slow.as_ref().map_or(now, |old| old.next);
            s.slow = Some(Slow { until, interval, next });
        }
    }

    /// Holds every request back until `until` (after a 429 that named its wait).
    pub fn pause_until(&self, until: Instant) {
        let mut s = self.lock();
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
    }
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(RateLimits::default())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_then_steady_pace() {
        let limiter = RateLimiter::new(RateLimits {
            per_minute: 60,
            burst: 5,
            ..RateLimits::default()
        });
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire(RequestClass::Other).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
        for _ in 0..20 {
            limiter.acquire(RequestClass::Other).await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn default_limits_stay_under_linode_limits_in_any_minute() {
        let limiter = RateLimiter::default();
        let all = Arc::new(AtomicU32::new(0));
        let lists = Arc::new(AtomicU32::new(0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for task in 0..40 {
            let (limiter, all, lists) = (limiter.clone(), all.clone(), lists.clone());
            tasks.push(tokio::spawn(async move {
                let class = if task % 4 == 0 {
                    RequestClass::List
                } else {
                    RequestClass::Other
                };
                loop {
                    limiter.acquire(class).await;
                    if start.elapsed() >= Duration::from_secs(60) {
                        break;
                    }
                    all.fetch_add(1, Ordering::SeqCst);
                    if class == RequestClass::List {
                        lists.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (all, lists) = (all.load(Ordering::SeqCst), lists.load(Ordering::SeqCst));
        assert!(all < 1600 && all > 1400, "all={all}");
        assert!(lists < 200 && lists > 150, "lists={lists}");
    }

    #[tokio::test(start_paused = true)]
    async fn low_remaining_spreads_requests_until_reset() {
        let limiter = RateLimiter::default();
        limiter.observe(1600, 5, Duration::from_secs(10));
        let start = Instant::now();
        for _ in 0..5 {
            limiter.acquire(RequestClass::Other).await;
        }
        // 5 left for 10 s: one every 2 s, the first at once.
        assert_eq!(start.elapsed(), Duration::from_secs(8));
        tokio::time::sleep(Duration::from_secs(3)).await;
        let after_reset = Instant::now();
        limiter.acquire(RequestClass::Other).await;
        assert_eq!(after_reset.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn exhausted_budget_waits_for_reset() {
        let limiter = RateLimiter::default();
        limiter.observe(1600, 0, Duration::from_secs(7));
        let start = Instant::now();
        limiter.acquire(RequestClass::List).await;
        assert_eq!(start.elapsed(), Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_task_including_ones_already_booked() {
        let limiter = RateLimiter::new(RateLimits {
            per_minute: 60,
            burst: 1,
            ..RateLimits::default()
        });
        limiter.acquire(RequestClass::Other).await;
        let start = Instant::now();
        let other = limiter.clone();
        let booked = tokio::spawn(async move {
            other.acquire(RequestClass::Other).await; // booked for t = 1 s
            Instant::now()
        });
        tokio::task::yield_now().await;
        limiter.pause_until(start + Duration::from_secs(5));
        let done = booked.await.unwrap();
        assert_eq!(done - start, Duration::from_secs(5));
    }
}
