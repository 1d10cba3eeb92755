//! The suite's runner: a work directory (fleet file, HOME, state cache, kubeconfig — never the developer's),
//! the lkeobs binary run with a cleared environment against the target, and the record of checks.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use lkeobs::linode::{Client, ClientConfig, Token};
use serde_json::Value;

use crate::live::junit::{Check, Verdict};
use crate::live::sim::{self, SimProcess};
use crate::live::target::{REAL_API, Target};
use crate::live::trap::Trap;

/// What one lkeobs command did.
pub struct Out {
    pub code: i32,
    /// The JSON report on stdout (`Null` when there is none).
    pub json: Value,
    pub stderr: String,
}

impl Out {
    /// Exit code and the end of stderr, for a failure message.
    pub fn why(&self) -> String {
        let lines: Vec<&str> = self.stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(25)..].join("\n");
        format!("exit {}\n{tail}", self.code)
    }

    /// Ok when it exited 0.
    pub fn ok(&self, what: &str) -> Result<(), String> {
        if self.code == 0 {
            Ok(())
        } else {
            Err(format!("{what}: {}", self.why()))
        }
    }
}

/// The run: target, fleet, work directory and what was checked.
pub struct Harness {
    pub target: Target,
    pub fleet: String,
    pub dir: PathBuf,
    url: String,
    token: String,
    /// The trap's proxy variables (simulator runs).
    extra_env: Vec<(&'static str, String)>,
    pub trap: Option<Trap>,
    pub rt: tokio::runtime::Runtime,
    pub checks: Vec<Check>,
    /// Reports whose `linode_api.kind` was not the target's.
    pub wrong_api: Vec<String>,
    /// Set once teardown ran to the end; until then dropping the harness tears the fleet down.
    pub torn_down: bool,
    /// Whether `up` ran (nothing to tear down before that).
    pub created: bool,
    /// What the fleet owned at any point (the leftover proof checks it).
    pub inventory: crate::live::cleanup::Inventory,
    /// Time of a command run before a check that reads its result, added to that check's time.
    pub carry: std::time::Duration,
    /// `context → server` of every cluster the run's kubeconfig named after an `up`.
    pub kube_servers: std::collections::BTreeMap<String, String>,
    _tmp: Option<tempfile::TempDir>,
    // Last: dropped after `Drop::drop` has torn the fleet down (a test may hold on to it longer).
    pub sim: Option<std::sync::Arc<SimProcess>>,
}

impl Harness {
    /// A fresh work directory with the fleet file (`fleet/ci.toml` under a unique name); on the simulator,
    /// the trap and the simulator started first.
    pub fn new(target: Target) -> Harness {
        let fleet = crate::live::target::fleet_name();
        let (dir, tmp) = match std::env::var_os("LKEOBS_LIVE_DIR").filter(|_| target.is_live()) {
            // The wrapper script's directory: it tears down from the same files on Ctrl-C.
            Some(d) => (PathBuf::from(d), None),
            None => {
                let t = tempfile::tempdir().expect("temp dir");
                (t.path().to_path_buf(), Some(t))
            }
        };
        std::fs::create_dir_all(&dir).expect("the work directory");
        write_fleet(&dir, &fleet);
        let (trap, sim, url, token, extra_env) = match &target {
            Target::Simulator => {
                let trap = Trap::start();
                let env = trap.env();
                let sim = sim::start(&env);
                let (url, token) = (sim.url.clone(), sim.token.clone());
                (Some(trap), Some(std::sync::Arc::new(sim)), url, token, env)
            }
            Target::Linode { token, .. } => (None, None, REAL_API.to_string(), token.clone(), Vec::new()),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        Harness {
            target,
            fleet,
            dir,
            url,
            token,
            extra_env,
            trap,
            rt,
            checks: Vec::new(),
            wrong_api: Vec::new(),
            torn_down: false,
            created: false,
            inventory: Default::default(),
            kube_servers: Default::default(),
            carry: std::time::Duration::ZERO,
            _tmp: tmp,
            sim,
        }
    }

    pub fn fleet_file(&self) -> PathBuf {
        self.dir.join("lkeobs.toml")
    }

    /// The kubeconfig `up` merges into (this run's own, never ~/.kube/config).
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// `lkeobs --fleet F --yes --output json --timeout T ARGS` with only this run's environment.
    pub fn lkeobs(&mut self, args: &[&str]) -> Out {
        self.lkeobs_with(&self.fleet_file(), args)
    }

    /// [`Harness::lkeobs`] run ahead of the checks that read it: its time goes to the next check.
    pub fn lkeobs_ahead(&mut self, args: &[&str]) -> Out {
        let started = Instant::now();
        let out = self.lkeobs(args);
        self.carry = started.elapsed();
        out
    }

    /// [`Harness::lkeobs`] with another fleet file.
    pub fn lkeobs_with(&mut self, fleet: &Path, args: &[&str]) -> Out {
        let timeout = format!("{}s", self.target.command_timeout().as_secs());
        let out = crate::tooling::hermetic::Sandbox::at(&self.dir)
            .lkeobs()
            .env("KUBECONFIG", self.kubeconfig())
            .env("LINODE_URL", &self.url)
            .env("LINODE_TOKEN", &self.token)
            .envs(self.extra_env.iter().map(|(k, v)| (*k, v.as_str())))
            .arg("--fleet")
            .arg(fleet)
            .args(["--yes", "--output", "json", "--timeout", &timeout])
            .args(args)
            .output()
            .expect("lkeobs runs");
        let json: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        if let Some(kind) = json["linode_api"]["kind"].as_str()
            && kind != self.target.api_kind()
        {
            self.wrong_api
                .push(format!("`lkeobs {}` reported linode_api.kind {kind}", args.join(" ")));
        }
        Out {
            code: out.status.code().unwrap_or(-1),
            json,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Rewrites the fleet file (comments kept).
    pub fn edit_fleet(&self, edit: impl FnOnce(&mut toml_edit::DocumentMut)) -> Result<(), String> {
        let path = self.fleet_file();
        let text = std::fs::read_to_string(&path).map_err(|e| format!("read the fleet file: {e}"))?;
        let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("the fleet file: {e}"))?;
        edit(&mut doc);
        std::fs::write(&path, doc.to_string()).map_err(|e| format!("write the fleet file: {e}"))
    }

    /// Runs one check and records it; a panic inside counts as its failure. Returns whether it passed.
    pub fn check(&mut self, item: &str, name: &str, f: impl FnOnce(&mut Harness) -> Result<String, String>) -> bool {
        let started = Instant::now();
        eprintln!("[live] {item}: {name} ...");
        let result = catch_unwind(AssertUnwindSafe(|| f(self)))
            .unwrap_or_else(|p| Err(format!("panicked: {}", panic_text(p.as_ref()))));
        let (verdict, detail) = match result {
            Ok(detail) => (Verdict::Passed, detail),
            Err(why) => (Verdict::Failed(why), String::new()),
        };
        eprintln!("[live] {item}: {name}: {verdict:?}");
        let passed = verdict == Verdict::Passed;
        self.checks.push(Check {
            item: item.into(),
            name: name.into(),
            verdict,
            detail,
            time: started.elapsed() + std::mem::take(&mut self.carry),
        });
        passed
    }

    /// A check only the real platform can answer: run live, `skipped` on the simulator with the reason.
    pub fn live_only(
        &mut self,
        item: &str,
        name: &str,
        why_not_on_sim: &str,
        f: impl FnOnce(&mut Harness) -> Result<String, String>,
    ) -> bool {
        if self.target.is_live() {
            return self.check(item, name, f);
        }
        self.skip(item, name, &format!("not provable on the simulator: {why_not_on_sim}"));
        false
    }

    /// Records a check as skipped with the reason.
    pub fn skip(&mut self, item: &str, name: &str, why: &str) {
        eprintln!("[live] {item}: {name}: skipped ({why})");
        self.checks.push(Check {
            item: item.into(),
            name: name.into(),
            verdict: Verdict::Skipped(why.into()),
            detail: String::new(),
            time: std::time::Duration::ZERO,
        });
    }

    /// A Linode client of the target account (its own retries; not through the trap: the suite itself
    /// talks to the target only).
    pub fn client(&self) -> Client {
        let mut config = ClientConfig::new(Token::new(self.token.clone()));
        config.base_url = self.url.clone();
        Client::new(config).expect("a Linode client")
    }

    /// A Kubernetes client of one cluster (`hub` or an edge), from this run's kubeconfig.
    pub fn kube(&self, cluster: &str) -> Result<kube::Client, String> {
        let context = lkeobs::naming::context_name(&self.fleet, cluster);
        kube_client(&self.kubeconfig(), &context, &self.rt)
    }
}

/// Writes `DIR/lkeobs.toml`: `fleet/ci.toml` named `name`, Grafana behind its NodeBalancer (the
/// `nodebalancer-tls` item) open to [`grafana_allow`].
pub fn write_fleet(dir: &Path, name: &str) {
    let text = std::fs::read_to_string(crate::tooling::fleet("ci")).expect("fleet/ci.toml");
    let mut doc: toml_edit::DocumentMut = text.parse().expect("fleet/ci.toml is TOML");
    doc["fleet"]["name"] = toml_edit::value(name);
    let mut allow = toml_edit::Array::new();
    for cidr in grafana_allow() {
        allow.push(cidr);
    }
    doc["security"]["grafana_allow"] = toml_edit::value(allow);
    std::fs::write(dir.join("lkeobs.toml"), doc.to_string()).expect("the fleet file");
}

/// `LKEOBS_LIVE_GRAFANA_ALLOW` (comma-separated CIDRs, e.g. the runner's egress), else everywhere: the
/// suite cannot know its own public address, and the Grafana it exposes lives for one run, behind TLS
/// and a generated admin password.
fn grafana_allow() -> Vec<String> {
    let from_env: Vec<String> = std::env::var("LKEOBS_LIVE_GRAFANA_ALLOW")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if from_env.is_empty() {
        vec!["0.0.0.0/0".into(), "::/0".into()]
    } else {
        from_env
    }
}

fn kube_client(path: &Path, context: &str, rt: &tokio::runtime::Runtime) -> Result<kube::Client, String> {
    lkeobs::tls::install_crypto_provider();
    let kc = kube::config::Kubeconfig::read_from(path).map_err(|e| format!("the run's kubeconfig: {e}"))?;
    let options = kube::config::KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let config = rt
        .block_on(kube::Config::from_custom_kubeconfig(kc, &options))
        .map_err(|e| format!("context {context}: {e}"))?;
    // Built inside the runtime: the client spawns its buffer task there.
    rt.block_on(async { kube::Client::try_from(config) })
        .map_err(|e| format!("a client of {context}: {e}"))
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}
