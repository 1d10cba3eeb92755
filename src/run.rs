//! Dispatches a parsed command line to its operation and turns the outcome into an exit code and, on failure, a report.

use std::io::IsTerminal;

use clap::CommandFactory;
use serde::Serialize;

use crate::Error;
use crate::cli::{Cli, Command};
use crate::commands;
use crate::error::exit;
use crate::fleet::{FleetError, Located};
use crate::ops::{self, Ctx};
use crate::ui::{Printer, Report};

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

/// Prints a command's report once (text or one JSON document on stdout) and returns the exit code its
/// outcome maps to; a failed outcome is also said on stderr, after the report.
fn emit<R: Report>(printer: &Printer, report: &R) -> i32 {
    if printer.json() {
        printer.report_json(report);
    } else {
        // An online command says first which Linode API it talked to: real or simulated.
        match printer.api_line() {
            Some(line) => printer.report(&format!("{line}\n\n{}", report.text())),
            None => printer.report(&report.text()),
        }
    }
    let outcome = report.outcome();
    if let Some(message) = outcome.message() {
        printer.error_block(&format!("error: {message}\n"));
    }
    outcome.exit_code()
}

/// Ends when Ctrl-C or SIGTERM arrives.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs `fut` until it ends or Ctrl-C / SIGTERM arrives. Every step of the commands wrapped this way is
/// idempotent, so stopping between two API calls loses nothing: the next run picks up from the tags.
async fn interruptible<T>(fut: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::select! {
        r = fut => r,
        _ = stop_signal() => Err(Error::Interrupted(
            "nothing is half-created that a re-run cannot finish: run the same command again to resume".into(),
        )),
    }
}

/// Runs one parsed command with `ctx` on `runtime`, printing its report once; its exit code.
pub(crate) fn dispatch(ctx: &Ctx, runtime: &tokio::runtime::Runtime, command: &Command) -> Result<i32, Error> {
    let p = &ctx.printer;
    match command {
        Command::Validate(args) => runtime
            .block_on(commands::validate::run(ctx, args))
            .map(|r| emit(p, &r)),
        Command::Render(args) => commands::render::run(ctx, args).map(|r| emit(p, &r)),
        Command::Plan(args) => {
            let options = commands::plan::Options {
                offline: args.offline,
                detailed_exitcode: args.detailed_exitcode,
                max_monthly_cost: args.max_monthly_cost,
            };
            runtime
                .block_on(commands::plan::run(ctx, &options))
                .map(|r| emit(p, &r))
        }
        // `up --dry-run` is `plan` (online).
        Command::Up(args) if args.dry_run => {
            let options = commands::plan::Options {
                max_monthly_cost: args.max_monthly_cost,
                ..Default::default()
            };
            runtime
                .block_on(commands::plan::run(ctx, &options))
                .map(|r| emit(p, &r))
        }
        Command::Up(args) => runtime
            .block_on(interruptible(commands::up::run(ctx, args)))
            .map(|r| emit(p, &r)),
        Command::AddEdge(args) => runtime
            .block_on(interruptible(commands::add_edge::run(ctx, args)))
            .map(|r| emit(p, &r)),
        Command::Verify(args) => {
            let options = commands::verify::Options {
                canary: args.canary,
                junit: args.junit.clone(),
                wait: args.wait,
                passes: args.passes,
            };
            runtime
                .block_on(interruptible(commands::verify::run(ctx, &options)))
                .map(|r| emit(p, &r))
        }
        Command::Reap(args) => runtime.block_on(commands::reap::run(ctx, args)).map(|r| emit(p, &r)),
        Command::RemoveEdge(args) => runtime
            .block_on(commands::remove_edge::run(ctx, args))
            .map(|r| emit(p, &r)),
        Command::Status => runtime.block_on(commands::status::run(ctx)).map(|r| emit(p, &r)),
        Command::Alerts(args) => runtime.block_on(commands::alerts::run(ctx, args)).map(|r| emit(p, &r)),
        // Not `interruptible`: the command races Ctrl-C itself, so that it can remove its Jobs first.
        Command::Loadtest(args) => {
            let args = commands::loadtest::Args {
                edges: args.edges.clone(),
                options: ops::loadtest::Options {
                    rates: ops::loadtest::Rates {
                        traces: args.traces_per_sec,
                        metrics: args.metrics_per_sec,
                        logs: args.logs_per_sec,
                    },
                    duration: args.duration,
                    max_refused_percent: args.max_refused_percent,
                    progress: crate::ui::progress::Mode::detect(),
                    deadline: None,
                },
            };
            runtime
                .block_on(commands::loadtest::run(ctx, &args, stop_signal()))
                .map(|r| emit(p, &r))
        }
        Command::Teardown => runtime.block_on(commands::teardown::run(ctx)).map(|r| emit(p, &r)),
        Command::Kubeconfig(args) => runtime
            .block_on(commands::kubeconfig::run(ctx, args))
            .map(|r| emit(p, &r)),
        Command::Sim(args) => runtime.block_on(commands::sim::run(ctx, args)).map(|()| exit::OK),
        Command::Completions(args) => {
            let mut cmd = Cli::command();
            let mut out = std::io::stdout();
            clap_complete::generate(args.shell, &mut cmd, "lkeobs", &mut out);
            Ok(exit::OK)
        }
        // `demo` runs the other commands: it is dispatched by `run`, never from here.
        Command::Demo(_) => Err(Error::Usage("demo cannot run inside a demo".into())),
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
        command => dispatch(&ctx, &runtime, command),
    };
    match outcome {
        Ok(code) => code,
        Err(err) => {
            report_error(&printer, &err, ctx.api_calls());
            match &cli.command {
                // Terraform's convention: with --detailed-exitcode, 2 means changes, so every error is 1.
                Command::Plan(args) if args.detailed_exitcode => exit::FAILURE,
                _ => err.exit_code(),
            }
        }
    }
}
