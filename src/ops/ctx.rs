//! The run's context: what every command needs from the command line and the environment, read once at
//! start-up ([`Ctx`]), with the run's one Linode client.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::environment;
use crate::linode::{self, Client, ClientConfig, Token};
use crate::ui::Printer;

/// How to reach the Linode API, read from the environment once at startup.
#[derive(Debug, Clone)]
pub struct LinodeAccess {
    /// `LINODE_URL`, default `https://api.linode.com/v4`.
    pub base_url: String,
    /// The token, or why none was found (the message names every place looked at).
    pub token: Result<Token, String>,
}

/// Where files live, read from the environment once at startup.
#[derive(Debug, Clone, Default)]
pub struct Paths {
    /// The file `kubeconfig --merge` writes: first of `$KUBECONFIG`, else `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// `$XDG_STATE_HOME/lkeobs`, else `~/.local/state/lkeobs`.
    pub state: Option<PathBuf>,
}

impl Paths {
    pub fn from_env() -> Self {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let kubeconfig_env = std::env::var("KUBECONFIG").ok();
        let state = std::env::var_os("XDG_STATE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".local").join("state")))
            .map(|p| p.join("lkeobs"));
        Paths {
            kubeconfig: crate::kubeconfig::default_path(kubeconfig_env.as_deref(), home.as_deref()),
            state,
        }
    }

    /// The fleet's local cache folder (kubeconfigs, last report): rebuildable from the API at any time.
    pub fn fleet_state(&self, fleet: &str) -> Option<PathBuf> {
        self.state.as_ref().map(|s| s.join(fleet))
    }
}

/// The operator's trust settings: given on the command line or in the pipeline's environment, never by the
/// fleet file (which can arrive in a pull request).
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// `--policy` (resolved: strict under CI unless `--policy open`).
    pub policy: crate::fleet::policy::Policy,
    /// `--destination-token` / `LKEOBS_DESTINATION_TOKENS`.
    pub tokens: Option<crate::fleet::trust::TokenAllowlist>,
    /// `--expect-fleet` / `LKEOBS_EXPECT_FLEET`.
    pub expect_fleet: Option<String>,
    /// Whether this run is CI (`CI` set).
    pub ci: bool,
}

/// Everything a command needs from the command line and environment, read once at startup.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub printer: Printer,
    pub fleet_path: PathBuf,
    pub timeout: Option<Duration>,
    pub yes: bool,
    /// When the command started; with `timeout`, the deadline.
    pub started: std::time::Instant,
    pub linode: LinodeAccess,
    pub paths: Paths,
    /// The environment as it was at start-up (destination tokens are read from it).
    pub env: environment::Environment,
    /// The operator's trust settings (flags and environment, never the fleet file).
    pub trust: Trust,
    /// The run's one client (one rate limiter, one call count), made on first use.
    client: Arc<OnceLock<Client>>,
}

impl Ctx {
    pub fn new(
        printer: Printer,
        fleet_path: PathBuf,
        timeout: Option<Duration>,
        yes: bool,
        linode: LinodeAccess,
        paths: Paths,
    ) -> Self {
        Ctx {
            printer,
            fleet_path,
            timeout,
            yes,
            started: std::time::Instant::now(),
            linode,
            paths,
            env: environment::Environment::capture(),
            trust: Trust::default(),
            client: Arc::new(OnceLock::new()),
        }
    }

    /// The same context held to `trust`.
    pub fn with_trust(mut self, trust: Trust) -> Self {
        self.trust = trust;
        self
    }

    /// Linode API calls made so far by this run, by method and path template (`api_calls` in JSON reports).
    pub fn api_calls(&self) -> linode::ApiCalls {
        self.client.get().map(Client::api_calls).unwrap_or_default()
    }

    /// Loads and checks the fleet file named by `--fleet`; with `--expect-fleet`, refuses any other fleet.
    pub fn load_fleet(&self) -> Result<crate::fleet::Loaded, crate::Error> {
        let loaded = crate::fleet::load(&self.fleet_path)?;
        if let Some(expected) = &self.trust.expect_fleet
            && loaded.fleet.name() != expected
        {
            let name = &loaded.fleet.fleet.name;
            let diag = crate::fleet::Diag::new(
                name.span(),
                "fleet.name",
                format!("this run may only touch the fleet {expected:?} (--expect-fleet), not this one"),
            )
            .value(format!("{:?}", name.get_ref()))
            .help("a fleet file renamed to another fleet's name is refused before any call");
            return Err(loaded.invalid(&[diag]).into());
        }
        Ok(loaded)
    }

    /// [`Ctx::load_fleet`] for a command that applies or plans the fleet: the operator's destination-token
    /// allowlist (required under CI when a destination carries a token) and, under `--policy strict`, the
    /// strict policy, each refusal at its line before anything is read or created.
    pub fn load_fleet_to_apply(&self) -> Result<crate::fleet::Loaded, crate::Error> {
        use crate::fleet::{policy, trust};
        let loaded = self.load_fleet()?;
        let mut diags = trust::check_tokens(&loaded.fleet, self.trust.tokens.as_ref(), self.trust.ci);
        diags.extend(crate::fleet::alert_secrets::check_allowlist(
            &loaded.fleet,
            self.trust.tokens.as_ref(),
            self.trust.ci,
        ));
        if self.trust.policy == policy::Policy::Strict {
            diags.extend(policy::violations(&loaded.fleet));
        }
        if diags.is_empty() {
            Ok(loaded)
        } else {
            diags.sort_by_key(|d| (d.span.start, d.span.end));
            Err(loaded.invalid(&diags).into())
        }
    }

    /// The fleet's security warnings (allowed but weak choices): printed on stderr at once in text mode,
    /// returned for the JSON report, which carries them instead.
    pub fn security_warnings(&self, fleet: &crate::fleet::Fleet) -> Vec<String> {
        let mut warnings = crate::fleet::warnings::security_warnings(fleet);
        if self.trust.policy == crate::fleet::policy::Policy::Open {
            warnings.extend(crate::fleet::warnings::open_policy_warnings(fleet));
        }
        if !self.printer.json() {
            for w in &warnings {
                self.printer.warn(w);
            }
        }
        warnings
    }

    /// The one deadline of the whole command (`--timeout`).
    pub fn deadline(&self) -> Option<tokio::time::Instant> {
        self.timeout.map(|t| tokio::time::Instant::from_std(self.started + t))
    }

    /// Whether `LINODE_URL` points at a simulator (loopback), whose clusters must not take the names of real
    /// ones in the user's kubeconfig.
    pub fn api_is_simulated(&self) -> bool {
        self.endpoint() == Ok(linode::Endpoint::Simulated)
    }

    /// What kind of Linode API `LINODE_URL` names (refused: neither the real API nor loopback).
    fn endpoint(&self) -> Result<linode::Endpoint, String> {
        let allow_other = self.env.non_empty(linode::ALLOW_ENV).is_some();
        linode::Endpoint::of(&self.linode.base_url, allow_other)
    }

    /// The run's Linode API client for a `command` that cannot work without it.
    pub fn require_linode(&self, command: &str) -> Result<Client, crate::Error> {
        self.linode_client()?
            .map_err(|why| crate::Error::Missing(format!("{command} needs the Linode API: {why}")))
    }

    /// The run's Linode API client, or the reason there is none (no token).
    pub fn linode_client(&self) -> Result<Result<Client, String>, crate::Error> {
        if let Some(c) = self.client.get() {
            return Ok(Ok(c.clone()));
        }
        let endpoint = self.endpoint().map_err(crate::Error::Usage)?;
        let token = match &self.linode.token {
            Ok(t) => t.clone(),
            Err(why) => return Ok(Err(why.clone())),
        };
        self.printer.set_api_line(endpoint.line(&self.linode.base_url));
        self.printer.set_api(endpoint.kind(), &self.linode.base_url);
        let mut config = ClientConfig::new(token);
        config.base_url = self.linode.base_url.clone();
        config.deadline = self.deadline();
        let client = Client::new(config)?;
        Ok(Ok(self.client.get_or_init(|| client).clone()))
    }
}

/// Reads `LINODE_URL` and the token sources (for `Ctx`).
pub fn linode_access_from_env() -> LinodeAccess {
    LinodeAccess {
        base_url: std::env::var("LINODE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| linode::DEFAULT_BASE_URL.to_string()),
        token: Token::from_env().map_err(|e| e.to_string()),
    }
}
