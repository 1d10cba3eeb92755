//! `lkeobs sim`: serves the local Linode + LKE simulator (`crate::sim`) on 127.0.0.1 until Ctrl-C or
//! SIGTERM. Once it listens, its report is printed: the `export` lines (or one JSON object) that point
//! lkeobs at it.

use serde::Serialize;

use crate::Error;
use crate::cli::SimArgs;
use crate::ops::Ctx;
use crate::sim::serve::{Options, Sim};
use crate::ui::Report;

/// Where the simulator listens and the token it accepts.
#[derive(Debug, Serialize)]
pub struct Listening {
    pub linode_url: String,
    pub linode_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_file: Option<String>,
}

impl Report for Listening {
    fn text(&self) -> String {
        format!(
            "export LINODE_URL={}\nexport LINODE_TOKEN={}\n",
            self.linode_url, self.linode_token
        )
    }
}

/// Starts the simulator, hands where it listens to `listening` (the dispatcher prints it as every report),
/// serves until stopped (saving the state file).
pub async fn run(ctx: &Ctx, args: &SimArgs, listening: impl FnOnce(&Listening)) -> Result<(), Error> {
    let options = Options {
        port: args.port,
        token: args.token.clone(),
        state_file: args.state.clone(),
        speed: args.speed,
        fail_429: args.fail_429,
        fail_5xx: args.fail_5xx,
        seed: args.seed,
        outages: args.outages.clone(),
        lose_answers: args.lose_answers,
        token_scopes: args.token_scopes.clone(),
        gateway_refuse: args.gateway_refuse,
        failing_receivers: args.alert_receiver_fail.clone(),
    };
    let mut sim = Sim::start(&options)
        .await
        .map_err(|e| Error::io("start the simulator (its port on 127.0.0.1, its state file)", e))?;
    let report = Listening {
        linode_url: sim.url(),
        linode_token: sim.token().to_string(),
        state_file: args.state.as_ref().map(|p| p.display().to_string()),
    };
    listening(&report);
    if !ctx.printer.json() {
        ctx.printer.note("the simulator serves until Ctrl-C (or SIGTERM)");
    }
    sim.serve_until(crate::signal::stop_signal())
        .await
        .map_err(|e| Error::io("save the simulator's state file", e))
}
