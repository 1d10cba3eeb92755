//! One deadline-bounded poll ([`until`]): ask again at a steady pace until the answer is final or the
//! deadline passes, keeping the last pending state so a timeout can say what it saw.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// One look's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<T, S> {
    /// Final: the poll ends with it.
    Done(T),
    /// Not yet; what was seen (reported if the deadline passes).
    Pending(S),
}

/// The deadline passed while the answer was still pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedOut<S> {
    /// The last pending state seen.
    pub last: S,
    /// From the first look to the last.
    pub waited: Duration,
}

/// Calls `look` every `every` until it answers [`Step::Done`] or `deadline` passes (a last look is made at
/// the deadline itself, never a sleep past it). An error from `look` ends the poll at once (outer `Err`).
pub async fn until<T, S, E, F, Fut>(
    every: Duration,
    deadline: Instant,
    mut look: F,
) -> Result<Result<T, TimedOut<S>>, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Step<T, S>, E>>,
{
    let start = Instant::now();
    loop {
        let last = match look().await? {
            Step::Done(t) => return Ok(Ok(t)),
            Step::Pending(s) => s,
        };
        let now = Instant::now();
        if now >= deadline {
            return Ok(Err(TimedOut {
                last,
                waited: now - start,
            }));
        }
        tokio::time::sleep_until((now + every).min(deadline)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn done_ends_at_once_pending_until_the_deadline_with_a_last_look_there_and_errors_stop() {
        let start = Instant::now();
        let mut looks = 0;
        let r: Result<_, ()> = until(Duration::from_secs(1), start + Duration::from_secs(10), || {
            looks += 1;
            let n = looks;
            async move { Ok(if n == 3 { Step::Done(n) } else { Step::Pending(n) }) }
        })
        .await;
        assert_eq!(r, Ok(Ok(3)));
        assert_eq!(start.elapsed(), Duration::from_secs(2));

        let start = Instant::now();
        let mut looks = 0;
        let r: Result<Result<(), _>, ()> = until(Duration::from_secs(4), start + Duration::from_secs(10), || {
            looks += 1;
            let n = looks;
            async move { Ok(Step::Pending(n)) }
        })
        .await;
        // Looks at 0, 4, 8 and at the deadline (10), never sleeping past it.
        assert_eq!(
            r,
            Ok(Err(TimedOut {
                last: 4,
                waited: Duration::from_secs(10)
            }))
        );

        let r: Result<Result<(), TimedOut<()>>, &str> = until(
            Duration::from_secs(1),
            Instant::now() + Duration::from_secs(10),
            || async { Err("gone") },
        )
        .await;
        assert_eq!(r, Err("gone"));
    }
}
