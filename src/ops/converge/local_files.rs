//! The files `up` writes on this machine: the clusters' kubeconfig contexts (state cache, and the user's
//! kubeconfig unless told not to, or the API is simulated) and the last report, both 0600.

use super::{Options, Report, tasks};
use crate::kubeconfig;
use crate::ops::Ctx;

/// Writes the contexts to the state cache and (unless told not to) merges them into the user's kubeconfig.
/// A failure here is a warning: the clusters are up, `lkeobs kubeconfig` can write them again.
pub(super) fn write_kubeconfigs(ctx: &Ctx, fleet: &str, records: &[tasks::Record], opts: &Options) -> Vec<String> {
    let mut entries = Vec::new();
    for r in records {
        if let Some(yaml) = &r.kubeconfig {
            match kubeconfig::entry_from_api(yaml, &r.report.context) {
                Ok(e) => entries.push(e),
                Err(e) => ctx
                    .printer
                    .warn(&format!("{}: kubeconfig not written: {e}", r.report.context)),
            }
        }
    }
    if entries.is_empty() {
        return Vec::new();
    }
    let mut files = Vec::new();
    let mut targets = Vec::new();
    if let Some(dir) = ctx.paths.fleet_state(fleet) {
        targets.push(dir.join("kubeconfig"));
    }
    if opts.merge_kubeconfig
        && let Some(p) = &ctx.paths.kubeconfig
    {
        if ctx.api_is_simulated() && !opts.merge_simulated_kubeconfig {
            ctx.printer.note(&format!(
                "the Linode API is simulated: contexts written to the state cache only, not to {} (pass --merge-kubeconfig to merge them)",
                p.display()
            ));
        } else {
            targets.push(p.clone());
        }
    }
    for path in targets {
        match kubeconfig::merge_file(&path, &entries, None) {
            Ok(()) => files.push(path.display().to_string()),
            Err(e) => ctx.printer.warn(&format!(
                "kubeconfig not written to {}: {e}; `lkeobs kubeconfig --merge` writes it later",
                path.display()
            )),
        }
    }
    files
}

/// Keeps the last report (no secrets in it) in the state cache, 0600.
pub(super) fn save_last_report(ctx: &Ctx, fleet: &str, report: &Report) {
    let Some(dir) = ctx.paths.fleet_state(fleet) else {
        return;
    };
    if let Ok(text) = serde_json::to_vec_pretty(report)
        && let Err(e) = kubeconfig::write_private(&dir.join("last-up.json"), &text)
    {
        tracing::debug!(error = %e, "last report not saved");
    }
}
