//! `lkeobs render`: write every manifest each cluster would get, one folder per cluster, or one stream on stdout.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::Error;
use crate::fleet::Fleet;
use crate::ops::Ctx;
use crate::stack::context::GATEWAY_PLACEHOLDER;
use crate::stack::{Inputs, RenderedCluster, Renderer};

/// What `render` renders and where.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The folder the manifests are written to (none: only counted).
    pub out: Option<PathBuf>,
    /// One cluster only.
    pub cluster: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub fleet: String,
    pub clusters: Vec<ClusterFiles>,
    /// Edges rendered offline name this host instead of the gateway's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_placeholder: Option<&'static str>,
    /// Always empty: rendering needs no API call.
    pub api_calls: crate::linode::ApiCalls,
    /// The manifests as one YAML stream: the text report when no `--out` was given.
    #[serde(skip)]
    stream: String,
    /// `--out`: the files were written there.
    #[serde(skip)]
    out: Option<PathBuf>,
}

impl crate::ui::Report for Report {
    fn text(&self) -> String {
        match &self.out {
            None => self.stream.clone(),
            Some(dir) => {
                let total: usize = self.clusters.iter().map(|c| c.files.len()).sum();
                format!(
                    "wrote {total} file(s) for {} cluster(s) under {}\n",
                    self.clusters.len(),
                    dir.display()
                )
            }
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ClusterFiles {
    pub cluster: String,
    pub files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<usize>,
}

/// Renders the selected clusters offline.
pub fn render_all(fleet: &Fleet, only: Option<&str>) -> Result<Vec<RenderedCluster>, Error> {
    let renderer = Renderer::new()?;
    fleet
        .select(only)
        .map_err(Error::Usage)?
        .into_iter()
        .map(|c| renderer.render(fleet, c, &Inputs::default()).map_err(Error::from))
        .collect()
}

fn is_ours(name: &str) -> bool {
    let b = name.as_bytes();
    name.ends_with(".yaml") && b.len() > 3 && b[0].is_ascii_digit() && b[1].is_ascii_digit() && b[2] == b'-'
}

/// Writes DIR/<cluster>/NN-*.yaml, removing NN-*.yaml files a previous render left that this one no longer makes.
fn write_cluster(dir: &Path, rc: &RenderedCluster) -> Result<Vec<String>, Error> {
    let folder = dir.join(&rc.cluster);
    std::fs::create_dir_all(&folder).map_err(|e| Error::io(format!("create {}", folder.display()), e))?;
    let keep: Vec<&str> = rc.files.iter().map(|f| f.name.as_str()).collect();
    let entries = std::fs::read_dir(&folder).map_err(|e| Error::io(format!("read {}", folder.display()), e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_ours(&name) && !keep.contains(&name.as_str()) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(|e| Error::io(format!("remove stale {}", path.display()), e))?;
        }
    }
    let mut written = Vec::new();
    for f in &rc.files {
        let path: PathBuf = folder.join(&f.name);
        std::fs::write(&path, &f.content).map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        written.push(path.display().to_string());
    }
    Ok(written)
}

/// Runs `render`.
pub fn run(ctx: &Ctx, args: &Options) -> Result<Report, Error> {
    let loaded = ctx.load_fleet()?;
    let rendered = render_all(&loaded.fleet, args.cluster.as_deref())?;
    let mut report = Report {
        fleet: loaded.fleet.name().to_string(),
        clusters: Vec::new(),
        gateway_placeholder: None,
        api_calls: ctx.api_calls(),
        stream: String::new(),
        out: None,
    };
    let mut stream = String::new();
    for rc in &rendered {
        let files = match &args.out {
            Some(dir) => write_cluster(dir, rc)?,
            None => {
                stream.push_str(&rc.to_stream());
                rc.files.iter().map(|f| format!("{}/{}", rc.cluster, f.name)).collect()
            }
        };
        report.clusters.push(ClusterFiles {
            cluster: rc.cluster.clone(),
            files,
            // Parsing the YAML back costs more than rendering it: only for the JSON report.
            objects: if ctx.printer.json() {
                Some(rc.objects()?.len())
            } else {
                None
            },
        });
        if rc.uses_gateway_placeholder {
            report.gateway_placeholder = Some(GATEWAY_PLACEHOLDER);
        }
    }
    if report.gateway_placeholder.is_some() {
        ctx.printer.note(&format!(
            "edge manifests name the gateway as `{GATEWAY_PLACEHOLDER}`: rendered offline, the gateway's LoadBalancer address is not known yet; `lkeobs up` puts the real address there"
        ));
    }
    report.stream = stream;
    report.out = args.out.clone();
    Ok(report)
}
