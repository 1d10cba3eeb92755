//! `lkeobs teardown`: after the person confirms, delete everything the fleet owns
//! (`ops::sweep`), drop its kubeconfig contexts, and report what was deleted and what (if anything) is left.

use crate::ops::Ctx;
use crate::ops::sweep::{Report, teardown_fleet};
use crate::ui::prompt;
use crate::{Error, kubeconfig, naming};

/// Asks the person to type the fleet name, unless `--yes` (or CI without a terminal).
fn confirm(ctx: &Ctx, fleet: &str) -> Result<(), Error> {
    if ctx.yes {
        return Ok(());
    }
    if !prompt::can_ask() {
        return Err(Error::Usage(
            "teardown deletes the whole fleet: pass --yes when stdin is not a terminal".into(),
        ));
    }
    let answer = prompt::ask(&format!(
        "This deletes every cluster, firewall, NodeBalancer, volume and Object Storage bucket of fleet {fleet:?}.\nType the fleet name to confirm: "
    ))
    .map_err(|e| Error::io("read the confirmation", e))?;
    if answer == fleet {
        Ok(())
    } else {
        Err(Error::Usage("the name did not match: nothing was deleted".into()))
    }
}

/// Runs `teardown` for the fleet file's fleet.
pub async fn run(ctx: &Ctx) -> Result<Report, Error> {
    let loaded = ctx.load_fleet()?;
    let fleet = loaded.fleet.name().to_string();
    let client = ctx.require_linode("teardown")?;
    confirm(ctx, &fleet)?;
    let mut report = teardown_fleet(&client, &fleet, ctx.deadline()).await?;
    // An `ha` fleet's buckets the token could not see are not proven gone: left (exit 4), not a note.
    if loaded.fleet.hub_mode.ha().is_some()
        && let Some(i) = report
            .notes
            .iter()
            .position(|n| n.starts_with(crate::ops::sweep::OBJECT_STORAGE_UNCHECKED))
    {
        let note = report.notes.remove(i);
        report
            .left
            .push(format!("the fleet's Object Storage buckets and key: {note}"));
    }
    // Our kubeconfig entries go too: the merged file's and the state cache.
    let contexts: Vec<String> = loaded
        .fleet
        .clusters()
        .map(|c| naming::context_name(&fleet, c.name.get_ref()))
        .collect();
    let names: Vec<&str> = contexts.iter().map(String::as_str).collect();
    // The state cache knows our clusters' servers: an older lkeobs' entry of one of them (old name, same
    // server) goes too, another fleet's entry of the same old name stays.
    let cache = ctx.paths.fleet_state(&fleet).map(|d| d.join("kubeconfig"));
    let servers = cache
        .as_ref()
        .map(|c| kubeconfig::servers_in_file(c, &names))
        .unwrap_or_default();
    if let Some(path) = &ctx.paths.kubeconfig {
        kubeconfig::remove_from_file(path, &names, &servers)?;
    }
    if let Some(cache) = cache {
        let _ = std::fs::remove_file(cache);
    }
    report.api_calls = ctx.api_calls();
    Ok(report)
}

impl crate::ui::Report for Report {
    fn text(&self) -> String {
        text(self)
    }

    fn outcome(&self) -> crate::ui::Outcome {
        if self.left.is_empty() {
            crate::ui::Outcome::Done
        } else {
            crate::ui::Outcome::failed(
                crate::ui::Failure::LeftBehind,
                format!(
                    "{} resource(s) of fleet {:?} are left: re-run teardown",
                    self.left.len(),
                    self.fleet
                ),
            )
        }
    }
}

/// The text report.
fn text(report: &Report) -> String {
    let mut t = format!("Teardown of fleet {:?}\n", report.fleet);
    for c in &report.clusters {
        t.push_str(&format!(
            "  deleted cluster {} (id {}) after {} LoadBalancer Service(s) and {} volume claim(s)\n",
            c.label, c.id, c.load_balancers, c.volume_claims
        ));
    }
    if let Some(id) = report.firewall {
        t.push_str(&format!(
            "  deleted firewall {} (id {id})\n",
            naming::firewall_label(&report.fleet)
        ));
    }
    for id in &report.swept_nodebalancers {
        t.push_str(&format!("  swept NodeBalancer {id} left behind by the platform\n"));
    }
    for id in &report.swept_volumes {
        t.push_str(&format!("  swept volume {id}\n"));
    }
    if let Some(os) = &report.object_storage {
        for b in &os.deleted {
            t.push_str(&format!("  emptied and deleted bucket {b}\n"));
        }
        if os.objects_deleted > 0 {
            t.push_str(&format!(
                "  deleted {} object(s) and version(s) over S3\n",
                os.objects_deleted
            ));
        }
        for id in &os.keys_revoked {
            t.push_str(&format!("  revoked Object Storage key {id}\n"));
        }
        for l in &os.left_behind {
            let rule = if l.lifecycle_set {
                "a one-day expiry rule is set; the next teardown or reap deletes it"
            } else {
                "the expiry rule could not be set; re-run teardown"
            };
            t.push_str(&format!(
                "  bucket {} in {} not emptied in time: {rule}\n",
                l.bucket, l.region
            ));
        }
        for s in &os.skipped {
            t.push_str(&format!(
                "  left bucket {} in {} alone: {}\n",
                s.bucket, s.region, s.reason
            ));
        }
    }
    for n in &report.notes {
        t.push_str(&format!("note: {n}\n"));
    }
    if report.left.is_empty() {
        t.push_str(if report.object_storage.is_some() {
            "Nothing of the fleet is left (re-listed clusters, firewalls, NodeBalancers, volumes, Linodes, buckets, keys).\n"
        } else {
            "Nothing of the fleet is left (re-listed clusters, firewalls, NodeBalancers, volumes, Linodes).\n"
        });
    } else {
        t.push_str("Still there:\n");
        for l in &report.left {
            t.push_str(&format!("  {l}\n"));
        }
    }
    t
}
