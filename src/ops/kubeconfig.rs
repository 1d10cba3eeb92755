//! `lkeobs kubeconfig`: fetch each existing cluster's kubeconfig from the API, rename its entries to
//! `lkeobs-<fleet>.<cluster>` and write them: to the state cache, to `--out FILE`, or merged (`--merge`).

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinSet;

use crate::kubeconfig::{self, Entry};
use crate::naming;
use crate::ops::Ctx;
use crate::plan::is_ours;
use crate::{Error, linode};

/// How long to wait for a new cluster's kubeconfig when no `--timeout` is given (LKE: 2–5 minutes).
const KUBECONFIG_WAIT: Duration = Duration::from_secs(10 * 60);

/// What `kubeconfig` writes.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Merge into the user's kubeconfig (or `out`).
    pub merge: bool,
    pub out: Option<PathBuf>,
    /// The cluster whose context becomes the current one.
    pub use_cluster: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub fleet: String,
    /// Contexts written, `lkeobs-<fleet>.<cluster>`.
    pub contexts: Vec<String>,
    /// Clusters of the fleet that do not exist yet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Where they were written (the kubeconfig content itself is never printed).
    pub files: Vec<String>,
    pub merged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_context: Option<String>,
    pub api_calls: linode::ApiCalls,
}

impl crate::ui::Report for Report {
    fn text(&self) -> String {
        let mut text = format!(
            "wrote {} context(s) to {}\n",
            self.contexts.len(),
            self.files.join(" and ")
        );
        for c in &self.contexts {
            text.push_str(&format!("  {c}\n"));
        }
        if !self.missing.is_empty() {
            text.push_str(&format!("not created yet: {}\n", self.missing.join(", ")));
        }
        match (&self.current_context, self.contexts.first()) {
            (Some(c), _) => text.push_str(&format!("current context: {c}\n")),
            (None, Some(c)) if self.merged => text.push_str(&format!(
                "current context unchanged; try: kubectl --context {c} get nodes\n"
            )),
            _ => {}
        }
        text
    }
}

/// Runs `kubeconfig`.
pub async fn run(ctx: &Ctx, args: &Options) -> Result<Report, Error> {
    let loaded = ctx.load_fleet()?;
    let fleet = &loaded.fleet;
    let name = fleet.name();
    let use_context = match &args.use_cluster {
        None => None,
        Some(c) => {
            fleet.select(Some(c)).map_err(Error::Usage)?;
            Some(naming::context_name(name, c))
        }
    };
    let client = ctx.require_linode("kubeconfig")?;
    let existing = client.list_lke_clusters(None).await?;
    let mut tasks = JoinSet::new();
    let mut missing = Vec::new();
    for c in fleet.clusters() {
        let context = naming::context_name(name, c.name.get_ref());
        match existing
            .iter()
            .find(|e| e.label == naming::cluster_label(name, c.name.get_ref()))
        {
            None => missing.push(c.name.get_ref().clone()),
            Some(e) if !is_ours(&e.tags, name) => {
                return Err(Error::Conflict(format!(
                    "cluster {} (id {}) has this fleet's label but not its tags: not ours, its kubeconfig is not taken",
                    e.label, e.id
                )));
            }
            Some(e) => {
                let (client, id) = (client.clone(), e.id);
                tasks.spawn(async move { (context, client.wait_kubeconfig(id, KUBECONFIG_WAIT).await) });
            }
        }
    }
    let mut entries: Vec<Entry> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (context, yaml) = joined.map_err(|e| Error::Internal(format!("kubeconfig task failed: {e}")))?;
        entries.push(kubeconfig::entry_from_api(&yaml?, &context)?);
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(u) = &use_context
        && !entries.iter().any(|e| &e.name == u)
    {
        return Err(Error::Usage(format!(
            "--use: the cluster of context {u} does not exist yet"
        )));
    }
    let mut files = Vec::new();
    // The state cache always gets a fresh standalone copy.
    if let Some(dir) = ctx.paths.fleet_state(name) {
        let path = dir.join("kubeconfig");
        kubeconfig::write_private(
            &path,
            kubeconfig::standalone(&entries, use_context.as_deref())?.as_bytes(),
        )?;
        files.push(path.display().to_string());
    }
    let target: Option<PathBuf> = if args.merge {
        args.out.clone().or_else(|| ctx.paths.kubeconfig.clone())
    } else {
        args.out.clone()
    };
    if args.merge {
        let path = target.ok_or_else(|| Error::Missing("--merge: neither KUBECONFIG nor HOME is set".into()))?;
        kubeconfig::merge_file(&path, &entries, use_context.as_deref())?;
        files.push(path.display().to_string());
    } else if let Some(path) = target {
        kubeconfig::write_private(
            &path,
            kubeconfig::standalone(&entries, use_context.as_deref())?.as_bytes(),
        )?;
        files.push(path.display().to_string());
    }
    files.dedup();
    let report = Report {
        fleet: name.to_string(),
        contexts: entries.iter().map(|e| e.name.clone()).collect(),
        missing,
        files,
        merged: args.merge,
        current_context: use_context,
        api_calls: ctx.api_calls(),
    };
    Ok(report)
}
