//! Command-line definitions (clap): global options and the subcommands that exist. No logic lives here.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Stand up, grow, check and tear down a federated observability fleet on Linode Kubernetes Engine.
#[derive(Debug, Parser)]
#[command(name = "lkeobs", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The fleet file.
    #[arg(
        long,
        global = true,
        env = "LKEOBS_FLEET",
        default_value = "lkeobs.toml",
        value_name = "FILE"
    )]
    pub fleet: PathBuf,

    /// Output format of the final report on stdout (progress and logs always go to stderr).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// More logging on stderr (-v info, -vv debug); RUST_LOG is honoured too.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// No colour (also when NO_COLOR is set).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Never prompt (implied when stdin is not a terminal and CI is set).
    #[arg(long, global = true)]
    pub yes: bool,

    /// One deadline for the whole command, e.g. 45m.
    #[arg(long, global = true, value_parser = parse_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,

    /// A destination token the operator allows, and the endpoint hosts it may go to (repeatable; also
    /// LKEOBS_DESTINATION_TOKENS). Under CI a destination carrying a token needs it.
    #[arg(long = "destination-token", global = true, value_name = "NAME=HOST[,HOST…]")]
    pub destination_tokens: Vec<String>,

    /// strict: fleet-file choices that weaken security are errors (the default under CI); open: warnings.
    #[arg(long, global = true, value_enum)]
    pub policy: Option<PolicyArg>,

    /// Refuse any fleet file whose fleet name is not NAME (a pipeline's pin).
    #[arg(long, global = true, env = "LKEOBS_EXPECT_FLEET", value_name = "NAME")]
    pub expect_fleet: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// `--policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    Strict,
    Open,
}

impl From<PolicyArg> for crate::fleet::policy::Policy {
    fn from(p: PolicyArg) -> Self {
        match p {
            PolicyArg::Strict => crate::fleet::policy::Policy::Strict,
            PolicyArg::Open => crate::fleet::policy::Policy::Open,
        }
    }
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

impl From<OutputFormat> for crate::ui::Format {
    fn from(f: OutputFormat) -> Self {
        match f {
            OutputFormat::Text => crate::ui::Format::Text,
            OutputFormat::Json => crate::ui::Format::Json,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check the fleet file; with a Linode token, also against the live catalog.
    Validate(ValidateArgs),
    /// Write every manifest each cluster would get (exactly what `up` applies).
    Render(RenderArgs),
    /// Print the actions `up` would take (against the account; without a token, against an empty one).
    Plan(PlanArgs),
    /// Converge the account to the fleet file: clusters, pools, kubeconfigs, stack, certificates, firewall.
    Up(UpArgs),
    /// Add an edge to the fleet file (comments kept), bring it up and re-sync the gateway firewall.
    AddEdge(AddEdgeArgs),
    /// Run the verification probes (pods, gateway, Prometheus, Loki, Tempo; --canary end to end); exit 3 if any fails.
    Verify(VerifyArgs),
    /// Write kubeconfigs for the fleet's clusters (contexts `lkeobs-<fleet>.<cluster>`).
    Kubeconfig(KubeconfigArgs),
    /// Delete everything the fleet owns in the safe order, then prove nothing is left (exit 4 if something is).
    Teardown,
    /// Tear down every fleet on the account whose TTL (`lkeobs-expires-<unix>` tag) has passed.
    Reap(ReapArgs),
    /// Delete an edge: its cluster and leftovers, its firewall addresses, its kubeconfig entry and its fleet-file table.
    RemoveEdge(RemoveEdgeArgs),
    /// A table of every cluster: Linode state, nodes ready, stack pods ready, gateway address, firewall drift.
    Status,
    /// Send load (telemetrygen Jobs) through each edge's agent and the mTLS path to the gateway; report
    /// rates, refusals, queue and latency; exit 3 when the gateway refuses or drops too much.
    Loadtest(LoadtestArgs),
    /// Alertmanager on the hub (fleets with [alerts]): `alerts test` sends a synthetic alert to each receiver
    /// and reports delivery from Alertmanager's own counters; exit 1 naming a receiver that failed.
    Alerts(AlertsArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Serve a local Linode + LKE simulator on 127.0.0.1 (prints the LINODE_URL and LINODE_TOKEN to use).
    Sim(SimArgs),
    /// Run the whole lifecycle (up, status, verify --canary, add-edge, teardown) on the example fleet
    /// against an in-process simulator: no account, no cost, well under a minute.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    pub command: AlertsCommand,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Send a synthetic alert through the hub's Alertmanager to each receiver (or one) and report delivery.
    Test(AlertsTestArgs),
}

#[derive(Debug, Args)]
pub struct AlertsTestArgs {
    /// Only this receiver (a `[[alerts.receivers]]` name).
    #[arg(long, value_name = "NAME")]
    pub receiver: Option<String>,
    /// How long Alertmanager has to try each receiver, e.g. 60s.
    #[arg(long, default_value = "60s", value_parser = parse_duration, value_name = "DURATION")]
    pub wait: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Skip the live catalog checks even when a token is available.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Write DIR/<cluster>/NN-<component>.yaml instead of one stream on stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only this cluster (`hub` or an edge name).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit 0 when nothing would change, 2 when something would, 1 on any error (invalid input included).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan against an empty account even when a token is available.
    #[arg(long)]
    pub offline: bool,
    /// Refuse (exit 2, nothing created or changed) when the fleet as planned would cost more than USD a
    /// month (autoscaled pools at their maximum); overrides `[fleet] max_monthly_cost`. Needs the API's prices.
    #[arg(long, value_name = "USD", value_parser = parse_monthly_cost)]
    pub max_monthly_cost: Option<f64>,
}

#[derive(Debug, Args, Clone)]
pub struct UpArgs {
    /// Print the plan and stop (same as `lkeobs plan`).
    #[arg(long)]
    pub dry_run: bool,
    /// Skip the verification probes at the end.
    #[arg(long)]
    pub no_verify: bool,
    /// At most N clusters doing API work at once (waits do not count).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Reissue the gateway's server certificate and every edge's client certificate (the CA is kept).
    #[arg(long)]
    pub rotate_certs: bool,
    /// During a Kubernetes upgrade (a higher `[fleet] k8s_version`), at most N edges upgrade at once after
    /// the first one (the canary) passed; the hub goes last.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub upgrade_concurrency: u16,
    /// Do not merge the contexts into $KUBECONFIG / ~/.kube/config. The state cache
    /// ($XDG_STATE_HOME/lkeobs/<fleet>/, files 0600) still holds the clusters' admin kubeconfigs,
    /// which later commands reuse.
    #[arg(long)]
    pub no_kubeconfig: bool,
    /// Against a simulated Linode API (`lkeobs sim`), merge the contexts into $KUBECONFIG /
    /// ~/.kube/config too (by default they go to the state cache only, so simulated clusters never take
    /// the names of real ones in your kubeconfig).
    #[arg(long, conflicts_with = "no_kubeconfig")]
    pub merge_kubeconfig: bool,
    /// How long the verification at the end may repeat its rounds until every probe passes (data needs a
    /// few minutes to flow in a new fleet).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub verify_wait: Duration,
    /// Refuse (exit 2, nothing created or changed) when the fleet as planned would cost more than USD a
    /// month (autoscaled pools at their maximum); overrides `[fleet] max_monthly_cost`. Needs the API's prices.
    #[arg(long, value_name = "USD", value_parser = parse_monthly_cost)]
    pub max_monthly_cost: Option<f64>,
    /// Switch a running hub to the fleet file's `[hub] mode` ("single" ⇄ "ha"): its stores are replaced by
    /// new, empty ones; the old data is not migrated (old volumes and buckets are kept until `teardown`).
    #[arg(long)]
    pub accept_new_hub_storage: bool,
}

#[derive(Debug, Args, Clone)]
pub struct AddEdgeArgs {
    /// The region of the new edge (e.g. `eu-west`).
    pub region: String,
    /// Its name in the fleet (`[edges.<name>]`); default: the region.
    #[arg(long)]
    pub name: Option<String>,
    /// Linode type of its node pool (default `g6-standard-2`).
    #[arg(long, value_name = "TYPE")]
    pub node_type: Option<String>,
    /// Nodes in its pool (default 2).
    #[arg(long, value_name = "N")]
    pub count: Option<u32>,
    /// Add a GPU pool: TYPE, or TYPE:N for N nodes (default 1).
    #[arg(long, value_name = "TYPE[:N]")]
    pub gpu: Option<String>,
    /// Skip the verification probes at the end.
    #[arg(long)]
    pub no_verify: bool,
    /// Do not merge its context into $KUBECONFIG / ~/.kube/config (the state cache, files 0600,
    /// still holds its admin kubeconfig).
    #[arg(long)]
    pub no_kubeconfig: bool,
    /// Against a simulated Linode API, merge its context into $KUBECONFIG / ~/.kube/config too.
    #[arg(long, conflicts_with = "no_kubeconfig")]
    pub merge_kubeconfig: bool,
    /// How long the verification at the end may repeat its rounds until every probe passes.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub verify_wait: Duration,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Also send a canary trace, log and metric at every edge and find them at the hub.
    #[arg(long)]
    pub canary: bool,
    /// Also write the outcomes as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Repeat rounds for up to DURATION until --passes rounds pass in a row (e.g. 10m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait: Option<Duration>,
    /// All-pass rounds required in a row.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub passes: u32,
}

#[derive(Debug, Args)]
pub struct KubeconfigArgs {
    /// Merge into the first path of $KUBECONFIG (else ~/.kube/config), under a lock; other entries are kept.
    #[arg(long)]
    pub merge: bool,
    /// Write to FILE instead (with --merge: merge into FILE). Default: the state cache
    /// ($XDG_STATE_HOME/lkeobs/<fleet>/kubeconfig).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Make this cluster's context the current one (the current context is never changed otherwise).
    #[arg(long = "use", value_name = "CLUSTER")]
    pub use_cluster: Option<String>,
}

#[derive(Debug, Args)]
pub struct RemoveEdgeArgs {
    /// The edge's name (its `[edges.<name>]` table).
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ReapArgs {
    /// Only list the expired fleets.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct LoadtestArgs {
    /// Run a generator in this edge (repeatable); default: every edge.
    #[arg(long = "edge", value_name = "NAME")]
    pub edges: Vec<String>,
    /// Spans per second from each edge.
    #[arg(long, value_name = "N", default_value_t = 1000.0, value_parser = parse_rate)]
    pub traces_per_sec: f64,
    /// Metric points per second from each edge.
    #[arg(long, value_name = "N", default_value_t = 5000.0, value_parser = parse_rate)]
    pub metrics_per_sec: f64,
    /// Log records per second from each edge.
    #[arg(long, value_name = "N", default_value_t = 2000.0, value_parser = parse_rate)]
    pub logs_per_sec: f64,
    /// How long the generators send.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5m")]
    pub duration: Duration,
    /// Exit 3 when the gateway refuses or drops more than this share of any signal, in percent.
    #[arg(long, value_name = "PERCENT", default_value_t = 1.0, value_parser = parse_percent)]
    pub max_refused_percent: f64,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// The Linode API's port on 127.0.0.1 (default: any free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The token the simulator accepts (default: a random one).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// The token's OAuth scopes, comma-separated (`lke:read_write,firewall:read_write,…`): a request outside
    /// them is answered 401 as the Linode API does (default: every scope).
    #[arg(long, value_name = "SCOPES", value_delimiter = ',')]
    pub token_scopes: Option<Vec<String>>,
    /// Save the simulated account here and continue from it on restart (written atomically, 0600).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Seconds of simulated provisioning per real second.
    #[arg(long, default_value_t = 60.0, value_parser = parse_speed, value_name = "X")]
    pub speed: f64,
    /// Share of requests answered 429 Too Many Requests (0 to 1).
    #[arg(long = "fail-429", default_value_t = 0.0, value_parser = parse_share, value_name = "SHARE")]
    pub fail_429: f64,
    /// Share of requests answered 503 (0 to 1).
    #[arg(long = "fail-5xx", default_value_t = 0.0, value_parser = parse_share, value_name = "SHARE")]
    pub fail_5xx: f64,
    /// Seed for ids and the spread of injected faults (the same seed, the same run).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A region in outage: creating there is refused (repeatable).
    #[arg(long = "outage", value_name = "REGION")]
    pub outages: Vec<String>,
    /// Carry out the first N creating requests but answer each only after the client has given up (65 s,
    /// past lkeobs' 60 s request timeout), as when an answer is lost on the way.
    #[arg(long = "lose-answers", value_name = "N", default_value_t = 0)]
    pub lose_answers: u32,
    /// Share of what load generators (`lkeobs loadtest`) send that the hub's gateway refuses (0 to 1).
    #[arg(long = "gateway-refuse", default_value_t = 0.0, value_parser = parse_share, value_name = "SHARE")]
    pub gateway_refuse: f64,
    /// An alert receiver (`[[alerts.receivers]]` name) whose notifications the hub's Alertmanager fails to
    /// deliver (repeatable).
    #[arg(long = "alert-receiver-fail", value_name = "NAME")]
    pub alert_receiver_fail: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seconds of simulated provisioning per real second.
    #[arg(long, default_value_t = 600.0, value_parser = parse_speed, value_name = "X")]
    pub speed: f64,
    /// Run it on a hub in mode "ha" (`fleet/ha.toml`): Mimir, Loki and Tempo, three replicas each, on
    /// buckets in the simulated Object Storage.
    #[arg(long)]
    pub ha: bool,
}

fn parse_share(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a share between 0 and 1 (e.g. 0.3)")),
    }
}

fn parse_speed(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 1.0 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a speed of at least 1 (simulated seconds per real second)"
        )),
    }
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

fn parse_monthly_cost(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of US dollars"))?;
    crate::fleet::validate::monthly_cost_limit(v)
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=1_000_000.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a rate between 0 and 1000000 items per second")),
    }
}

fn parse_percent(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a percentage between 0 and 100")),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::fleet::duration::parse(s)
}
