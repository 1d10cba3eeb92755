//! `lkeobs reap [--dry-run]`: find every fleet on the account whose `lkeobs-expires-<unix-seconds>` tag has
//! passed and tear it down; no fleet file needed, only tags.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::linode::Filter;
use crate::ops::Ctx;
use crate::ops::sweep::{self, teardown_fleet};
use crate::ui::prompt;
use crate::{Error, naming};

/// How `reap` runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// List the expired fleets without deleting them.
    pub dry_run: bool,
}

#[derive(Debug, Serialize)]
pub struct Report {
    /// Fleets whose TTL has passed, with the expiry (unix seconds).
    pub expired: Vec<Expired>,
    /// Fleets with a TTL still to run.
    pub alive: Vec<Expired>,
    pub dry_run: bool,
    pub torn_down: Vec<sweep::Report>,
    pub api_calls: crate::linode::ApiCalls,
    /// When the run looked (unix seconds), for the time left on live fleets.
    #[serde(skip)]
    now: u64,
}

impl crate::ui::Report for Report {
    fn text(&self) -> String {
        let mut t = String::new();
        // Fleets are torn down only when confirmed (and not --dry-run), then all of them.
        let verb = if !self.torn_down.is_empty() {
            "torn down"
        } else {
            "expired (not deleted: --dry-run or not confirmed)"
        };
        for f in &self.expired {
            t.push_str(&format!(
                "{verb}: fleet {} (expired at {}; {})\n",
                f.fleet,
                f.expires,
                f.clusters.join(", ")
            ));
        }
        for f in &self.alive {
            t.push_str(&format!(
                "kept: fleet {} (expires at {}, in {} s)\n",
                f.fleet,
                f.expires,
                f.expires.saturating_sub(self.now)
            ));
        }
        if self.expired.is_empty() {
            t.push_str("No expired fleet.\n");
        }
        for r in &self.torn_down {
            for l in &r.left {
                t.push_str(&format!("left behind by {}: {l}\n", r.fleet));
            }
        }
        t
    }

    fn outcome(&self) -> crate::ui::Outcome {
        let left: usize = self.torn_down.iter().map(|r| r.left.len()).sum();
        if left == 0 {
            return crate::ui::Outcome::Done;
        }
        crate::ui::Outcome::failed(
            crate::ui::Failure::LeftBehind,
            format!("{left} resource(s) of reaped fleets are left: re-run reap"),
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Expired {
    pub fleet: String,
    pub expires: u64,
    pub clusters: Vec<String>,
}

/// The fleet and expiry a cluster's tags declare, if it is an ephemeral lkeobs cluster.
pub fn ttl_of(tags: &[String]) -> Option<(String, u64)> {
    if !tags.iter().any(|t| t == naming::TAG_OWNER) {
        return None;
    }
    let fleet = tags.iter().find_map(|t| naming::parse_fleet_tag(t))?;
    let expires = tags.iter().find_map(|t| naming::parse_expires_tag(t))?;
    Some((fleet.to_string(), expires))
}

fn confirm(ctx: &Ctx, fleets: &[Expired]) -> Result<bool, Error> {
    if ctx.yes {
        return Ok(true);
    }
    if !prompt::can_ask() {
        return Err(Error::Usage(
            "reap deletes fleets: pass --yes (or --dry-run) when stdin is not a terminal".into(),
        ));
    }
    let names: Vec<&str> = fleets.iter().map(|f| f.fleet.as_str()).collect();
    let answer = prompt::ask(&format!("Tear down expired fleet(s) {}? [y/N] ", names.join(", ")))
        .map_err(|e| Error::io("read the confirmation", e))?;
    Ok(matches!(answer.as_str(), "y" | "Y" | "yes"))
}

/// Runs `reap`.
pub async fn run(ctx: &Ctx, args: &Options) -> Result<Report, Error> {
    let client = ctx.require_linode("reap")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut fleets: BTreeMap<String, Expired> = BTreeMap::new();
    for c in client.list_lke_clusters(Some(&Filter::tag(naming::TAG_OWNER))).await? {
        if let Some((fleet, expires)) = ttl_of(&c.tags) {
            let e = fleets.entry(fleet.clone()).or_insert(Expired {
                fleet,
                expires,
                clusters: Vec::new(),
            });
            // Several clusters of one fleet: the earliest expiry wins.
            e.expires = e.expires.min(expires);
            e.clusters.push(c.label);
        }
    }
    let (expired, alive): (Vec<Expired>, Vec<Expired>) = fleets.into_values().partition(|f| f.expires <= now);
    let mut report = Report {
        expired,
        alive,
        dry_run: args.dry_run,
        torn_down: Vec::new(),
        api_calls: Default::default(),
        now,
    };
    let go = !args.dry_run && !report.expired.is_empty() && confirm(ctx, &report.expired)?;
    if go {
        for f in &report.expired {
            let r = teardown_fleet(&client, &f.fleet, ctx.deadline()).await?;
            report.torn_down.push(r);
        }
    }
    report.api_calls = ctx.api_calls();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_tags_are_read() {
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            ttl_of(&tags(&["lkeobs", "lkeobs-fleet-ci", "lkeobs-expires-100"])),
            Some(("ci".into(), 100))
        );
        assert_eq!(
            ttl_of(&tags(&["lkeobs-fleet-ci", "lkeobs-expires-100"])),
            None,
            "without `lkeobs` it is not ours"
        );
        assert_eq!(
            ttl_of(&tags(&["lkeobs", "lkeobs-fleet-ci"])),
            None,
            "no TTL, not ephemeral"
        );
        assert_eq!(
            ttl_of(&tags(&["lkeobs", "lkeobs-fleet-ci", "lkeobs-expires-soon"])),
            None
        );
    }
}
