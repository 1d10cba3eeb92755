//! The account's rate limits as the Linode API applies them: at most
//! 1600 requests a minute, and 200 a minute for paginated list calls; past either the API answers 429
//! with `Retry-After` (seconds until the window has room). Every answer carries `X-RateLimit-Limit` and
//! `X-RateLimit-Remaining`, which lkeobs' limiter reads to slow down before it hits the wall.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Requests a minute, overall.
pub const PER_MINUTE: usize = 1600;
/// Paginated list requests a minute.
pub const LISTS_PER_MINUTE: usize = 200;
const WINDOW: Duration = Duration::from_secs(60);

/// The requests of the last minute: when, and whether each was a list call.
#[derive(Debug, Clone, Default)]
pub struct Window {
    recent: VecDeque<(Instant, bool)>,
}

/// What the window says about one more request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed: the limit that applies and what is left of it.
    Allowed { limit: usize, remaining: usize },
    /// Refused: that limit, and the whole seconds until the window has room.
    Refused { limit: usize, retry_after: u64 },
}

impl Window {
    /// Counts a request made `now` (a list call or not) unless a limit refuses it.
    pub fn admit(&mut self, now: Instant, list: bool) -> Verdict {
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= WINDOW)
        {
            self.recent.pop_front();
        }
        let lists = self.recent.iter().filter(|(_, l)| *l).count();
        let (limit, used, oldest) = if list {
            (
                LISTS_PER_MINUTE,
                lists,
                self.recent.iter().find(|(_, l)| *l).map(|(t, _)| *t),
            )
        } else {
            (PER_MINUTE, self.recent.len(), self.recent.front().map(|(t, _)| *t))
        };
        if used >= limit || self.recent.len() >= PER_MINUTE {
            let wait = oldest.map_or(WINDOW, |t| WINDOW.saturating_sub(now.duration_since(t)));
            return Verdict::Refused {
                limit,
                retry_after: wait.as_secs().max(1),
            };
        }
        self.recent.push_back((now, list));
        Verdict::Allowed {
            limit,
            remaining: limit - used - 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_hit_their_own_limit_and_room_comes_back_after_a_minute() {
        let mut w = Window::default();
        let t0 = Instant::now();
        for i in 0..LISTS_PER_MINUTE {
            assert!(
                matches!(w.admit(t0, true), Verdict::Allowed { remaining, .. } if remaining == LISTS_PER_MINUTE - i - 1)
            );
        }
        assert_eq!(
            w.admit(t0 + Duration::from_secs(20), true),
            Verdict::Refused {
                limit: LISTS_PER_MINUTE,
                retry_after: 40
            }
        );
        // Other calls still pass, counted against the overall limit.
        assert_eq!(
            w.admit(t0, false),
            Verdict::Allowed {
                limit: PER_MINUTE,
                remaining: PER_MINUTE - LISTS_PER_MINUTE - 1
            }
        );
        assert!(matches!(w.admit(t0 + WINDOW, true), Verdict::Allowed { .. }));
    }

    #[test]
    fn the_overall_limit_refuses_the_1601st_request() {
        let mut w = Window::default();
        let t0 = Instant::now();
        for _ in 0..PER_MINUTE {
            assert!(matches!(w.admit(t0, false), Verdict::Allowed { .. }));
        }
        assert!(matches!(w.admit(t0, false), Verdict::Refused { limit: PER_MINUTE, .. }));
    }
}
