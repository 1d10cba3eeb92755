//! Which account the suite runs against: the real Linode API only with `LKEOBS_LIVE=1` and a token,
//! otherwise an `lkeobs sim` it starts on 127.0.0.1 itself. Read from an environment lookup, so the
//! choice is tested without touching the process environment.

use std::time::Duration;

/// The real API's base URL.
pub const REAL_API: &str = "https://api.linode.com/v4";

/// The default ceiling (USD a month, the fleet as planned) `plan` checks before anything is created.
pub const DEFAULT_MAX_MONTHLY_COST: f64 = 200.0;

/// The simulator run's ceiling: it also adds the GPU edge a live run adds only when asked to.
pub const SIM_MAX_MONTHLY_COST: f64 = 1000.0;

/// Where the suite runs.
#[derive(Clone, PartialEq)]
pub enum Target {
    /// `lkeobs sim` on 127.0.0.1, started by the suite; never any other address.
    Simulator,
    /// The real Linode API with this token (never printed).
    Linode { token: String, max_monthly_cost: f64 },
}

impl std::fmt::Debug for Target {
    /// Never the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

impl Target {
    /// `simulator` or `linode`: the word in the JUnit suite name and the `linode_api.kind` reports carry.
    pub fn word(&self) -> &'static str {
        match self {
            Target::Simulator => "simulator",
            Target::Linode { .. } => "linode",
        }
    }

    /// The `linode_api.kind` every online command's JSON report must show.
    pub fn api_kind(&self) -> &'static str {
        match self {
            Target::Simulator => "simulated",
            Target::Linode { .. } => "real",
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self, Target::Linode { .. })
    }

    /// The cost ceiling: `LKEOBS_LIVE_MAX_MONTHLY_COST` (default [`DEFAULT_MAX_MONTHLY_COST`]) live.
    pub fn max_monthly_cost(&self) -> f64 {
        match self {
            Target::Simulator => SIM_MAX_MONTHLY_COST,
            Target::Linode { max_monthly_cost, .. } => *max_monthly_cost,
        }
    }

    /// How long `up` may wait for every probe to pass at the end.
    pub fn verify_wait(&self) -> &'static str {
        if self.is_live() { "15m" } else { "1m" }
    }

    /// The deadline of one lkeobs command.
    pub fn command_timeout(&self) -> Duration {
        if self.is_live() {
            Duration::from_secs(90 * 60)
        } else {
            Duration::from_secs(4 * 60)
        }
    }
}

/// The live target from `env`, or why not. Only `LKEOBS_LIVE=1` selects it; anything else (unset, `0`,
/// `true`) is the simulator — a token or `LINODE_URL` in the environment never selects the real API.
pub fn live_from(env: impl Fn(&str) -> Option<String>) -> Result<Target, String> {
    let set = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    if set("LKEOBS_LIVE").as_deref() != Some("1") {
        return Err(
            "LKEOBS_LIVE is not 1: the live suite touches no account (the simulator run is \
                    `cargo test --test suite live::`)"
                .into(),
        );
    }
    let token = set("LINODE_TOKEN").ok_or("LKEOBS_LIVE=1 needs LINODE_TOKEN (a personal access token)")?;
    let max_monthly_cost = match set("LKEOBS_LIVE_MAX_MONTHLY_COST") {
        None => DEFAULT_MAX_MONTHLY_COST,
        Some(v) => v
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0)
            .ok_or_else(|| format!("LKEOBS_LIVE_MAX_MONTHLY_COST {v:?} is not a positive number of US dollars"))?,
    };
    Ok(Target::Linode {
        token,
        max_monthly_cost,
    })
}

/// The live target from the process environment.
pub fn live_from_env() -> Result<Target, String> {
    live_from(|k| std::env::var(k).ok())
}

/// A fleet name no other run uses: `ci-` and six random letters or digits (fits every derived label).
pub fn fleet_name() -> String {
    if let Ok(name) = std::env::var("LKEOBS_LIVE_FLEET_NAME")
        && !name.trim().is_empty()
    {
        return name.trim().to_string();
    }
    let tail: String = (0..6).map(|_| fastrand::alphanumeric().to_ascii_lowercase()).collect();
    format!("ci-{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn without_lkeobs_live_1_the_real_api_is_refused_whatever_else_is_set() {
        for e in [
            env(&[]),
            env(&[("LINODE_TOKEN", "t")]),
            env(&[("LINODE_TOKEN", "t"), ("LINODE_URL", REAL_API)]),
            env(&[("LINODE_TOKEN", "t"), ("LKEOBS_LIVE", "true")]),
            env(&[("LINODE_TOKEN", "t"), ("LKEOBS_LIVE", "0")]),
            env(&[("LINODE_TOKEN", "t"), ("LKEOBS_LIVE", " ")]),
        ] {
            let why = live_from(e).unwrap_err();
            assert!(why.contains("LKEOBS_LIVE"), "{why}");
        }
    }

    #[test]
    fn lkeobs_live_1_needs_a_token_and_reads_the_ceiling() {
        let why = live_from(env(&[("LKEOBS_LIVE", "1")])).unwrap_err();
        assert!(why.contains("LINODE_TOKEN"), "{why}");
        let t = live_from(env(&[("LKEOBS_LIVE", "1"), ("LINODE_TOKEN", "secret")])).unwrap();
        assert_eq!(t.max_monthly_cost(), DEFAULT_MAX_MONTHLY_COST);
        assert_eq!(t.api_kind(), "real");
        let t = live_from(env(&[
            ("LKEOBS_LIVE", "1"),
            ("LINODE_TOKEN", "secret"),
            ("LKEOBS_LIVE_MAX_MONTHLY_COST", "80"),
        ]))
        .unwrap();
        assert_eq!(t.max_monthly_cost(), 80.0);
        let why = live_from(env(&[
            ("LKEOBS_LIVE", "1"),
            ("LINODE_TOKEN", "secret"),
            ("LKEOBS_LIVE_MAX_MONTHLY_COST", "lots"),
        ]))
        .unwrap_err();
        assert!(why.contains("lots") && !why.contains("secret"), "{why}");
    }

    #[test]
    fn fleet_names_are_unique_per_run_and_fit_the_labels() {
        let (a, b) = (fleet_name(), fleet_name());
        if std::env::var_os("LKEOBS_LIVE_FLEET_NAME").is_none() {
            assert_ne!(a, b);
        }
        assert!(lkeobs::naming::is_dns_label(&a), "{a}");
        assert!(a.len() <= lkeobs::naming::max_fleet_name_len(), "{a}");
    }
}
