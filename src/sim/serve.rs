//! `lkeobs sim` and `lkeobs demo`'s simulator: the options, starting the simulated world on a port
//! of 127.0.0.1 (restored from a state file when there is one), and serving it until told to stop,
//! saving the state file whenever the account changed.

use std::path::PathBuf;
use std::time::Duration;

use super::linode::State;
use super::world::{Latencies, World};
use super::{http, persist};

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Linode API's port on 127.0.0.1 (0: any free one).
    pub port: u16,
    /// The token it accepts (None: a random one, never a real-looking one).
    pub token: Option<String>,
    /// The token's OAuth scopes (None: every scope).
    pub token_scopes: Option<Vec<String>>,
    /// Where the account is saved and restored from.
    pub state_file: Option<PathBuf>,
    /// Seconds of simulated provisioning per real second.
    pub speed: f64,
    /// Share of requests answered 429 (0 to 1).
    pub fail_429: f64,
    /// Share of requests answered 503 (0 to 1).
    pub fail_5xx: f64,
    /// Makes ids and the injected faults' spread the same on every run with the same seed.
    pub seed: u64,
    /// Regions in outage: creating there is refused.
    pub outages: Vec<String>,
    /// The first N creating POSTs are carried out but answered only after [`LOST_ANSWER_DELAY`].
    pub lose_answers: u32,
    /// Share (0 to 1) of what load generators send that the hub's gateway refuses.
    pub gateway_refuse: f64,
    /// Alert receivers whose notifications the hub's Alertmanager fails to deliver.
    pub failing_receivers: Vec<String>,
}

/// How late a lost answer comes: past lkeobs' 60 s request timeout, so the client has given up on it.
pub const LOST_ANSWER_DELAY: Duration = Duration::from_secs(65);

impl Default for Options {
    fn default() -> Self {
        Options {
            port: 0,
            token: None,
            token_scopes: None,
            state_file: None,
            speed: 60.0,
            fail_429: 0.0,
            fail_5xx: 0.0,
            seed: 0,
            outages: Vec::new(),
            lose_answers: 0,
            gateway_refuse: 0.0,
            failing_receivers: Vec::new(),
        }
    }
}

/// A random token, unmistakably the simulator's (`sim-` and 32 hex digits, unlike a Linode token).
pub fn random_token() -> std::io::Result<String> {
    super::guard::random_token("sim-")
}

/// A share (0 to 1) as a whole percentage.
fn percent(share: f64) -> u32 {
    if share.is_finite() {
        (share.clamp(0.0, 1.0) * 100.0).round() as u32
    } else {
        0
    }
}

/// The running simulator.
pub struct Sim {
    world: World,
    token: String,
    state_file: Option<PathBuf>,
    last_saved: Option<persist::Saved>,
}

impl Sim {
    /// Starts the simulator (needs a Tokio runtime), restoring the state file's account if it exists.
    pub async fn start(options: &Options) -> std::io::Result<Sim> {
        let token = match &options.token {
            Some(t) => t.clone(),
            None => random_token()?,
        };
        let mut state = State::simulated(&token, options.seed);
        state.faults.rate_limit_percent = percent(options.fail_429);
        state.faults.server_error_percent = percent(options.fail_5xx);
        state.faults.lose_next_post_answers = options.lose_answers;
        state.token_scopes = options.token_scopes.clone();
        state.faults.lost_answer_delay = LOST_ANSWER_DELAY;
        // An injected 429 asks for one second of the simulator's clock, as fast as its LKE runs.
        state.faults.retry_after = Duration::from_secs_f64(1.0 / options.speed.max(1.0));
        // A new limited key works after 30 s of the simulator's clock (the platform's cache refresh).
        state.object_storage.key_propagation = Duration::from_secs_f64(30.0 / options.speed.max(1.0));
        if options.speed >= 30.0 {
            state.kubeconfig_retry_after_secs = 0;
        }
        for region in &mut state.regions {
            if region["id"]
                .as_str()
                .is_some_and(|r| options.outages.iter().any(|o| o == r))
            {
                region["status"] = serde_json::json!("outage");
            }
        }
        let mut restored = Vec::new();
        let mut last_saved = None;
        if let Some(path) = &options.state_file
            && let Some(saved) = persist::load(path)?
        {
            restored = persist::restore(saved, &mut state);
        }
        let listener = http::bind_loopback(options.port).await?;
        let world = World::serve(listener, state, restored, Latencies::at_speed(options.speed)).await?;
        let data = world.data_path().await?;
        data.refuse(options.gateway_refuse);
        for name in &options.failing_receivers {
            data.fail_receiver(name);
        }
        if options.state_file.is_some() {
            last_saved = Some(persist::snapshot(&world));
        }
        Ok(Sim {
            world,
            token,
            state_file: options.state_file.clone(),
            last_saved,
        })
    }

    /// `http://127.0.0.1:<port>/v4`.
    pub fn url(&self) -> String {
        self.world.linode().base_url()
    }

    /// The token it accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The simulated world.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Saves the state file when the account changed since the last save.
    pub fn save(&mut self) -> std::io::Result<()> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        let now = persist::snapshot(&self.world);
        if self.last_saved.as_ref() != Some(&now) {
            persist::save(path, &now)?;
            self.last_saved = Some(now);
        }
        Ok(())
    }

    /// Serves until `stop` ends, saving the state file every half second it changed, and once more at
    /// the end.
    pub async fn serve_until(&mut self, stop: impl std::future::Future<Output = ()>) -> std::io::Result<()> {
        self.save()?;
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(Duration::from_millis(500)) => self.save()?,
            }
        }
        self.save()
    }
}
