//! Renders the embedded templates for one cluster into YAML files, and lists the objects they hold.

use minijinja::{Environment, State, UndefinedBehavior, Value};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::context::{self, Context, Inputs};
use super::embedded::{self, Scope};
use super::guard::{self, GuardError};
use super::quote::{self, quote};
use crate::fleet::{Cluster, Fleet};
use crate::objects::{self, ObjectRef};

/// A template that failed to render (a bug in lkeobs), or output the guard refused.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Guard(#[from] GuardError),
    #[error("template {template}: {source}")]
    Template {
        template: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("{cluster}/{file}: rendered YAML does not parse: {source}")]
    Yaml {
        cluster: String,
        file: String,
        #[source]
        source: serde_yaml_ng::Error,
    },
}

/// One rendered file, e.g. `11-otel-agent.yaml`.
#[derive(Debug, Clone, Serialize)]
pub struct RenderedFile {
    pub name: String,
    pub content: String,
}

/// Everything one cluster gets.
#[derive(Debug, Clone, Serialize)]
pub struct RenderedCluster {
    pub cluster: String,
    pub files: Vec<RenderedFile>,
    /// The output still names the gateway placeholder (rendered offline for an edge).
    pub uses_gateway_placeholder: bool,
    /// The stack holds a HorizontalPodAutoscaler, so the cluster needs a metrics API: lkeobs'
    /// metrics-server is part of `files` unless `Inputs::metrics_api` says someone else's serves it.
    #[serde(skip)]
    pub runs_hpa: bool,
}

impl RenderedCluster {
    /// `(file name, multi-document YAML)` for each file, as `k8s::Manifests::parse` takes them.
    pub fn documents(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|f| (f.name.as_str(), f.content.as_str()))
    }
}

/// Compiled templates, reusable for every cluster of a run.
pub struct Renderer {
    env: Environment<'static>,
    /// The guard's expected object sets, by the benign render's context with the cluster name made
    /// constant (object names never depend on it; if they ever did, a cached set would refuse, not
    /// admit: the cache can only fail safe). Same-shaped clusters render the benign copy once.
    expected: std::sync::Mutex<std::collections::HashMap<String, Vec<ObjectRef>>>,
}

fn lookup(state: &State, path: &[&str]) -> Result<Value, minijinja::Error> {
    let mut v = state.lookup(path[0]).ok_or_else(|| {
        minijinja::Error::new(
            minijinja::ErrorKind::UndefinedError,
            format!("`{}` is not in the context", path[0]),
        )
    })?;
    for key in &path[1..] {
        v = v.get_attr(key)?;
    }
    Ok(v)
}

/// `labels("prometheus")`: the labels every object carries, as a one-line YAML flow mapping;
/// `labels("x", {"key": "value"})` adds more. Safe text: every key and value in it is quoted.
fn labels(state: &State, component: &str, extra: Option<Value>) -> Result<Value, minijinja::Error> {
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let fleet = quote(&text(&lookup(state, &["fleet", "name"])?));
    let cluster = quote(&text(&lookup(state, &["cluster", "name"])?));
    let component = quote(component);
    let mut more = String::new();
    if let Some(extra) = extra {
        for key in extra.try_iter()? {
            let value = extra.get_item(&key)?;
            more.push_str(&format!(", {}: {}", quote(&text(&key)), quote(&text(&value))));
        }
    }
    let (managed_by, by) = objects::MANAGED_BY;
    let (fleet_label, cluster_label) = (objects::FLEET_LABEL, objects::CLUSTER_LABEL);
    Ok(Value::from_safe_string(format!(
        "{{app.kubernetes.io/name: {component}, app.kubernetes.io/part-of: lkeobs, {managed_by}: {by}, {fleet_label}: {fleet}, {cluster_label}: {cluster}{more}}}"
    )))
}

/// `selector("prometheus")`: the stable subset used in selectors (safe text, quoted).
fn selector(component: &str) -> Value {
    Value::from_safe_string(format!("{{app.kubernetes.io/name: {}}}", quote(component)))
}

/// `{{ config | checksum }}`: 16 hex characters of SHA-256, for roll-on-change annotations.
pub fn checksum(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

impl Renderer {
    /// Compiles every embedded template.
    pub fn new() -> Result<Self, RenderError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Every string is written as one quoted scalar; see quote.rs.
        env.set_auto_escape_callback(quote::auto_escape);
        env.set_formatter(quote::format);
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .map_err(|source| RenderError::Template {
                template: "<syntax>".into(),
                source,
            })?;
        env.set_syntax(syntax);
        env.add_function("labels", labels);
        env.add_function("selector", selector);
        env.add_filter("checksum", checksum);
        env.add_filter("quote", quote::quote_filter);
        for t in embedded::templates() {
            env.add_template_owned(t.path(), t.source)
                .map_err(|source| RenderError::Template {
                    template: t.path(),
                    source,
                })?;
        }
        Ok(Renderer {
            env,
            expected: Default::default(),
        })
    }

    /// Renders every template that applies to `cluster`, and refuses output whose objects are not
    /// the set the templates declare for the fleet's structure (see guard.rs). Every caller
    /// (`render`, `plan`, `up`, the probes) comes through here.
    pub fn render(&self, fleet: &Fleet, cluster: &Cluster, inputs: &Inputs) -> Result<RenderedCluster, RenderError> {
        let (out, objects) = self.render_unchecked(fleet, cluster, inputs)?;
        let expected = self.expected_objects(fleet, cluster, inputs)?;
        guard::check(&out.cluster, &objects, &expected)?;
        Ok(out)
    }

    /// The objects the benign copy of `fleet` renders for a cluster shaped like `cluster`.
    fn expected_objects(
        &self,
        fleet: &Fleet,
        cluster: &Cluster,
        inputs: &Inputs,
    ) -> Result<Vec<ObjectRef>, RenderError> {
        let benign_fleet = guard::benign(fleet)?;
        let mut benign_cluster = guard::benign_cluster(cluster)?;
        benign_cluster.name = crate::fleet::spec::spanned(benign_cluster.name.span(), "c".to_string());
        // Everything the templates see, plus what decides outside the context which files render.
        let key = serde_json::to_string(&context::build(&benign_fleet, &benign_cluster, inputs))
            .map(|ctx| format!("metrics-server:{}|{ctx}", inputs.metrics_api.deploys_ours()))
            .unwrap_or_default();
        let cached = self
            .expected
            .lock()
            .ok()
            .and_then(|m| m.get(&key).cloned())
            .filter(|_| !key.is_empty());
        if let Some(set) = cached {
            return Ok(set);
        }
        let (_, set) = self.render_unchecked(&benign_fleet, &benign_cluster, inputs)?;
        if !key.is_empty()
            && let Ok(mut m) = self.expected.lock()
        {
            m.insert(key, set.clone());
        }
        Ok(set)
    }

    /// The files and, parsed once, the objects they hold.
    fn render_unchecked(
        &self,
        fleet: &Fleet,
        cluster: &Cluster,
        inputs: &Inputs,
    ) -> Result<(RenderedCluster, Vec<ObjectRef>), RenderError> {
        let ctx: Context = context::build(fleet, cluster, inputs);
        let ctx_value = Value::from(minijinja::value::Serde(&ctx));
        let is_hub = cluster.role == crate::fleet::Role::Hub;
        let has_gpu = cluster.has_gpu();
        let ha = is_hub && fleet.hub_mode.ha().is_some();
        let mut files = Vec::new();
        for t in embedded::templates() {
            let wanted = match t.scope {
                Scope::Common => true,
                Scope::Hub => is_hub && !(ha && embedded::HA_REPLACES.contains(&t.name)),
                Scope::HubHa => ha,
                Scope::Gpu => has_gpu,
                Scope::MetricsServer => false,
            };
            if wanted {
                files.extend(self.render_one(t, &ctx_value)?);
            }
        }
        let mut out = RenderedCluster {
            cluster: cluster.name.get_ref().clone(),
            files,
            uses_gateway_placeholder: false,
            runs_hpa: false,
        };
        let mut objects = out.objects()?;
        out.runs_hpa = objects.iter().any(|o| o.kind == "HorizontalPodAutoscaler");
        if out.runs_hpa && inputs.metrics_api.deploys_ours() {
            let before = out.files.len();
            for t in embedded::templates().filter(|t| t.scope == Scope::MetricsServer) {
                out.files.extend(self.render_one(t, &ctx_value)?);
            }
            let extra = RenderedCluster {
                cluster: out.cluster.clone(),
                files: out.files[before..].to_vec(),
                uses_gateway_placeholder: false,
                runs_hpa: false,
            };
            objects.extend(extra.objects()?);
        }
        out.uses_gateway_placeholder = inputs.gateway_address.is_none()
            && out
                .files
                .iter()
                .any(|f| f.content.contains(context::GATEWAY_PLACEHOLDER));
        Ok((out, objects))
    }

    /// One template rendered; `None` when it renders to whitespace only.
    fn render_one(&self, t: embedded::Template, ctx: &Value) -> Result<Option<RenderedFile>, RenderError> {
        let path = t.path();
        let failed = |source| RenderError::Template {
            template: path.clone(),
            source,
        };
        let text = self
            .env
            .get_template(&path)
            .and_then(|tmpl| tmpl.render(ctx))
            .map_err(failed)?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        let mut content = text.trim_end().to_string();
        content.push('\n');
        Ok(Some(RenderedFile {
            name: t.name.to_string(),
            content,
        }))
    }
}

impl RenderedCluster {
    /// Every object, in file order, parsed back from the rendered YAML.
    pub fn objects(&self) -> Result<Vec<ObjectRef>, RenderError> {
        let mut out = Vec::new();
        for f in &self.files {
            for doc in serde_yaml_ng::Deserializer::from_str(&f.content) {
                let value = serde_yaml_ng::Value::deserialize(doc).map_err(|source| RenderError::Yaml {
                    cluster: self.cluster.clone(),
                    file: f.name.clone(),
                    source,
                })?;
                if value.is_null() {
                    continue;
                }
                let s = |v: Option<&serde_yaml_ng::Value>| v.and_then(|v| v.as_str()).map(str::to_string);
                let meta = value.get("metadata");
                out.push(ObjectRef {
                    api_version: s(value.get("apiVersion")).unwrap_or_default(),
                    kind: s(value.get("kind")).unwrap_or_default(),
                    namespace: s(meta.and_then(|m| m.get("namespace"))),
                    name: s(meta.and_then(|m| m.get("name"))).unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    /// One multi-document YAML stream with a `# Source:` comment before each file.
    pub fn to_stream(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            out.push_str(&format!("---\n# Source: {}/{}\n", self.cluster, f.name));
            out.push_str(f.content.trim_start_matches("---\n"));
        }
        out
    }
}

use serde::Deserialize as _;
