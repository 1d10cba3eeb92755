//! `lkeobs reap [--dry-run]`: find every fleet on the account whose `lkeobs-expires-<unix-seconds>` tag has
//! passed and tear it down (DESIGN §5); no fleet file needed, only tags.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Ctx;
use super::teardown::{self, teardown_fleet};
use crate::cli::ReapArgs;
use crate::linode::Filter;
use crate::ui::prompt;
use crate::{Error, naming};

#[derive(Debug, Serialize)]
pub struct Report {
    /// Fleets whose TTL has passed, with the expiry (unix seconds).
    pub expired: Vec<Expired>,
    /// Fleets with a TTL still to run.
    pub alive: Vec<Expired>,
    pub dry_run: bool,
    pub torn_down: Vec<teardown::Report>,
    pub api_calls: crate::linode::ApiCalls,
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
    let fleet = tags.iter().find_map(|t| t.strip_prefix("lkeobs-fleet-"))?;
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
pub async fn run(ctx: &Ctx, args: &ReapArgs) -> Result<Report, Error> {
    let client = ctx
        .linode_client()?
        .map_err(|why| Error::Missing(format!("reap needs the Linode API: {why}")))?;
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
    };
    let go = !args.dry_run && !report.expired.is_empty() && confirm(ctx, &report.expired)?;
    let mut left = 0;
    if go {
        for f in &report.expired {
            let r = teardown_fleet(&client, &f.fleet, ctx.deadline()).await?;
            left += r.left.len();
            report.torn_down.push(r);
        }
    }
    report.api_calls = ctx.api_calls();
    if ctx.printer.json() {
        ctx.printer.report_json(&report);
    } else {
        let mut t = String::new();
        let verb = if go {
            "torn down"
        } else {
            "expired (not deleted: --dry-run or not confirmed)"
        };
        for f in &report.expired {
            t.push_str(&format!(
                "{verb}: fleet {} (expired at {}; {})\n",
                f.fleet,
                f.expires,
                f.clusters.join(", ")
            ));
        }
        for f in &report.alive {
            t.push_str(&format!(
                "kept: fleet {} (expires at {}, in {} s)\n",
                f.fleet,
                f.expires,
                f.expires.saturating_sub(now)
            ));
        }
        if report.expired.is_empty() {
            t.push_str("No expired fleet.\n");
        }
        for r in &report.torn_down {
            for l in &r.left {
                t.push_str(&format!("left behind by {}: {l}\n", r.fleet));
            }
        }
        ctx.printer.report(&t);
    }
    if left > 0 {
        return Err(Error::LeftBehind(format!(
            "{left} resource(s) of reaped fleets are left: re-run reap"
        )));
    }
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
