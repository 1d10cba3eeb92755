//! Dispatches a parsed command line to its operation and turns the outcome into an exit code and, on failure, a report.

use std::io::IsTerminal;

use serde::Serialize;

use crate::Error;
use crate::cli::{Cli, Command};
use crate::error::exit;
use crate::fleet::{FleetError, Located};
use crate::ops::{self, Ctx};
use crate::ui::Printer;

#[derive(Serialize)]
struct ErrorReport<'a> {
    ok: bool,
    error: String,
    #[serde(skip_serializing_if = "<[Located]>::is_empty")]
    errors: &'a [Located],
    api_calls: crate::linode::ApiCalls,
}

/// Prints an error the way the output mode wants it.
fn report_error(printer: &Printer, err: &Error, api_calls: crate::linode::ApiCalls) {
    let errors: &[Located] = match err {
        Error::Fleet(FleetError::Invalid { errors, .. }) => errors,
        _ => &[],
    };
    if printer.json() {
        printer.report_json(&ErrorReport {
            ok: false,
            error: err.to_string(),
            errors,
            api_calls,
        });
        return;
    }
    if errors.is_empty() {
        printer.error_block(&format!("error: {err}\n"));
    } else {
        let mut text = String::new();
        for e in errors {
            text.push_str(&e.render());
            text.push('\n');
        }
        text.push_str(&format!("error: {err}\n"));
        printer.error_block(&text);
    }
}

/// The operator's trust settings from the command line and the environment captured at start-up.
fn trust(cli: &Cli, env: &ops::environment::Environment, ci: bool) -> Result<ops::Trust, Error> {
    use secrecy::ExposeSecret;
    let from_env = env
        .non_empty(crate::fleet::trust::ALLOWLIST_ENV)
        .map(|v| v.expose_secret().to_string());
    let tokens = crate::fleet::trust::TokenAllowlist::from_sources(&cli.destination_tokens, from_env.as_deref())
        .map_err(Error::Usage)?;
    Ok(ops::Trust {
        policy: crate::fleet::policy::Policy::resolve(cli.policy.map(Into::into), ci),
        tokens,
        expect_fleet: cli.expect_fleet.clone(),
        ci,
    })
}

/// Runs the command line and returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let printer = Printer::new(cli.output.into(), cli.no_color, no_color_env);
    let ci = crate::ci::is_ci();
    let ctx = Ctx::new(
        printer.clone(),
        cli.fleet.clone(),
        cli.timeout,
        cli.yes || (ci && !std::io::stdin().is_terminal()),
        ops::linode_access_from_env(),
        ops::Paths::from_env(),
    );
    let trust = match trust(&cli, &ctx.env, ci) {
        Ok(t) => t,
        Err(e) => {
            report_error(&printer, &e, Default::default());
            return e.exit_code();
        }
    };
    let ctx = ctx.with_trust(trust);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            report_error(&printer, &Error::io("start the async runtime", e), Default::default());
            return exit::FAILURE;
        }
    };
    let outcome = match &cli.command {
        Command::Demo(args) => crate::demo::run(&printer, &runtime, args),
        command => crate::dispatch::dispatch(&ctx, &runtime, command),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            report_error(&printer, &err, ctx.api_calls());
            err.ending().code(crate::dispatch::convention(&cli.command))
        }
    }
}
