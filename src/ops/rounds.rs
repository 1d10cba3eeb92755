//! Verification rounds, shared by `verify` and `up`: run the probes, and repeat after a pause until enough
//! rounds in a row pass or the time allowed runs out.

use std::time::Duration;

use tokio::time::Instant;

use crate::probes::{self, Outcome};

/// When to repeat a round.
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    /// Rounds in a row that must pass.
    pub passes: u32,
    /// Repeat through failures until then; `None`: a failed round ends it (further passes are still
    /// awaited, within `deadline`).
    pub until: Option<Instant>,
    /// The command's deadline.
    pub deadline: Option<Instant>,
    /// Time from the end of one round to the start of the next.
    pub pause: Duration,
}

/// Where the rounds ended.
#[derive(Debug)]
pub struct Ended {
    /// The last round's outcomes.
    pub outcomes: Vec<Outcome>,
    pub rounds: u32,
    /// Passing rounds in a row at the end.
    pub streak: u32,
}

/// Said between two rounds (for a progress line).
pub struct Between<'a> {
    pub round: u32,
    pub failed: usize,
    pub streak: u32,
    pub passes: u32,
    pub pause: Duration,
    pub outcomes: &'a [Outcome],
}

/// Runs `round` (told whether the previous round failed) until `rules` say stop; `between` hears about
/// each pause.
pub async fn repeat<E>(
    rules: &Rounds,
    mut round: impl AsyncFnMut(bool) -> Result<Vec<Outcome>, E>,
    mut between: impl FnMut(&Between<'_>),
) -> Result<Ended, E> {
    let passes = rules.passes.max(1);
    let (mut rounds, mut streak, mut failed_before) = (0, 0, false);
    loop {
        rounds += 1;
        let outcomes = round(failed_before).await?;
        let failed = probes::failed(&outcomes);
        streak = if failed == 0 { streak + 1 } else { 0 };
        let next = Instant::now() + rules.pause;
        let may_continue = match rules.until {
            Some(end) => next < end,
            None => failed == 0 && rules.deadline.is_none_or(|d| next < d),
        };
        if streak >= passes || !may_continue {
            return Ok(Ended {
                outcomes,
                rounds,
                streak,
            });
        }
        between(&Between {
            round: rounds,
            failed,
            streak,
            passes,
            pause: rules.pause,
            outcomes: &outcomes,
        });
        failed_before = failed > 0;
        tokio::time::sleep_until(next).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcomes(fail: bool) -> Vec<Outcome> {
        if fail {
            vec![Outcome::fail("p", "hub", "down".to_string())]
        } else {
            vec![Outcome::pass("p", "hub", "up".to_string())]
        }
    }

    #[tokio::test(start_paused = true)]
    async fn repeats_through_failures_until_enough_passes_in_a_row() {
        let script = [true, false, true, false, false];
        let rules = Rounds {
            passes: 2,
            until: Some(Instant::now() + Duration::from_secs(3600)),
            deadline: None,
            pause: Duration::from_secs(15),
        };
        let mut i = 0;
        let mut told = Vec::new();
        let ended = repeat::<()>(
            &rules,
            async |failed_before| {
                // Told whether the round before failed.
                assert_eq!(failed_before, i > 0 && script[i - 1]);
                i += 1;
                Ok(outcomes(script[i - 1]))
            },
            |b| told.push((b.round, b.failed, b.streak)),
        )
        .await
        .expect("no error");
        assert_eq!((ended.rounds, ended.streak), (5, 2));
        assert_eq!(told, vec![(1, 1, 0), (2, 0, 1), (3, 1, 0), (4, 0, 1)]);
    }

    #[tokio::test(start_paused = true)]
    async fn without_until_a_failure_ends_it_and_the_time_allowed_is_kept() {
        let rules = Rounds {
            passes: 3,
            until: None,
            deadline: None,
            pause: Duration::from_secs(1),
        };
        let ended = repeat::<()>(&rules, async |_| Ok(outcomes(true)), |_| {})
            .await
            .expect("ok");
        assert_eq!((ended.rounds, ended.streak), (1, 0));

        let until = Instant::now() + Duration::from_secs(40);
        let rules = Rounds {
            passes: 1,
            until: Some(until),
            deadline: None,
            pause: Duration::from_secs(15),
        };
        let ended = repeat::<()>(&rules, async |_| Ok(outcomes(true)), |_| {})
            .await
            .expect("ok");
        // Rounds at 0, 15 and 30 s: the pause after the third would end past 40 s.
        assert_eq!(ended.rounds, 3);
        assert!(Instant::now() < until);
    }
}
