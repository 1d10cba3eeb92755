//! `lkeobs demo`: the whole lifecycle on the example fleet against an in-process simulator — `up` with
//! its live progress, `status`, `verify --canary`, `add-edge`, `teardown` with its proof — each report
//! printed as the command prints it. Nothing real is touched: the Linode API and the clusters are the
//! simulator's (on 127.0.0.1), and the fleet file, kubeconfig and state live in a temporary folder.

use std::path::{Path, PathBuf};

use clap::Parser;

use crate::Error;
use crate::cli::{Cli, DemoArgs};
use crate::linode::Token;
use crate::ops::{Ctx, LinodeAccess, Paths};
use crate::sim::serve::{Options, Sim};
use crate::ui::Printer;

/// The example fleet (`fleet/example.toml`).
const EXAMPLE: &str = include_str!("../fleet/example.toml");
/// The example of a hub in mode "ha" (`fleet/ha.toml`), for `demo --ha`.
const EXAMPLE_HA: &str = include_str!("../fleet/ha.toml");

/// The lifecycle, one command line each (after `lkeobs --fleet FILE --yes`); `add` is the region and name
/// of the edge `add-edge` adds (one the example fleet does not have).
fn lifecycle(add: [&'static str; 2]) -> [Vec<&'static str>; 5] {
    [
        vec!["up", "--verify-wait", "2m"],
        vec!["status"],
        vec!["verify", "--canary"],
        vec![
            "add-edge",
            add[0],
            "--name",
            add[1],
            "--node-type",
            "g6-standard-2",
            "--count",
            "1",
        ],
        vec!["teardown"],
    ]
}

/// A fresh folder of the demo's own (0700), removed at the end.
fn scratch() -> Result<PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!("lkeobs-demo-{}-{:08x}", std::process::id(), fastrand::u32(..)));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(&dir)
        .map_err(|e| Error::io(format!("create the demo's folder {}", dir.display()), e))?;
    Ok(dir)
}

/// Runs the steps against the simulator; the first that fails ends the demo with its exit code.
fn steps(printer: &Printer, runtime: &tokio::runtime::Runtime, sim: &Sim, dir: &Path, ha: bool) -> Result<i32, Error> {
    let fleet = dir.join("lkeobs.toml");
    let (example, add) = if ha {
        (EXAMPLE_HA, ["sg-sin-2", "ap-south"])
    } else {
        (EXAMPLE, ["eu-west", "eu-west"])
    };
    std::fs::write(&fleet, example).map_err(|e| Error::io("write the demo's fleet file", e))?;
    for step in &lifecycle(add) {
        let mut argv = vec!["lkeobs", "--yes", "--fleet"];
        let fleet_arg = fleet.to_string_lossy().into_owned();
        argv.push(&fleet_arg);
        argv.extend_from_slice(step);
        let cli = Cli::try_parse_from(&argv).map_err(|e| {
            Error::Internal(format!(
                "the demo's command line `{}` does not parse: {e}",
                step.join(" ")
            ))
        })?;
        printer.report(&format!("\n$ lkeobs {}\n\n", step.join(" ")));
        let ctx = Ctx::new(
            printer.clone(),
            fleet.clone(),
            None,
            true,
            LinodeAccess {
                base_url: sim.url(),
                token: Ok(Token::new(sim.token())),
            },
            Paths {
                kubeconfig: Some(dir.join("kubeconfig")),
                state: Some(dir.join("state")),
            },
        );
        let code = crate::dispatch::dispatch(&ctx, runtime, &cli.command)?;
        if code != crate::error::exit::OK {
            return Ok(code);
        }
    }
    Ok(crate::error::exit::OK)
}

/// Starts the simulator, runs the lifecycle, removes the demo's folder; the exit code.
pub fn run(printer: &Printer, runtime: &tokio::runtime::Runtime, args: &DemoArgs) -> Result<i32, Error> {
    if printer.json() {
        return Err(Error::Usage(
            "demo prints one report per step for people to read: run it without --output json".into(),
        ));
    }
    let options = Options {
        speed: args.speed,
        ..Options::default()
    };
    let sim = runtime
        .block_on(Sim::start(&options))
        .map_err(|e| Error::io("start the simulator", e))?;
    printer.note(&format!(
        "the Linode API and the clusters are simulated at {} (nothing real is created, nothing is billed)",
        sim.url()
    ));
    let dir = scratch()?;
    let outcome = steps(printer, runtime, &sim, &dir, args.ha);
    // Best effort: a folder left in the temporary directory holds nothing but simulated credentials.
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}
