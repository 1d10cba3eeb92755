//! Runs one parsed command: its operation, its report printed once (text or one JSON document) and the
//! exit code its outcome maps to. `run` (and `demo`, once per step) call it.

use clap::CommandFactory;

use crate::Error;
use crate::cli::{Cli, Command};
use crate::commands;
use crate::error::{Convention, exit};
use crate::ops::Ctx;
use crate::ui::{Printer, Report};

/// Prints a command's report once (text or one JSON document on stdout) and returns the exit code its
/// outcome maps to; a failed outcome is also said on stderr, after the report.
fn emit<R: Report>(printer: &Printer, report: &R) -> i32 {
    emit_as(printer, report, Convention::Standard)
}

/// [`emit`] with the exit codes read as `convention` says.
fn emit_as<R: Report>(printer: &Printer, report: &R, convention: Convention) -> i32 {
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
    outcome.ending().code(convention)
}

/// How the exit codes of `command` read: Terraform's convention for `plan --detailed-exitcode`.
pub fn convention(command: &Command) -> Convention {
    match command {
        Command::Plan(args) if args.detailed_exitcode => Convention::DetailedExitcode,
        _ => Convention::Standard,
    }
}

/// Runs `fut` until it ends or Ctrl-C / SIGTERM arrives. Every step of the commands wrapped this way is
/// idempotent, so stopping between two API calls loses nothing: the next run picks up from the tags.
async fn interruptible<T>(fut: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::select! {
        r = fut => r,
        _ = crate::signal::stop_signal() => Err(Error::Interrupted(
            "nothing is half-created that a re-run cannot finish: run the same command again to resume".into(),
        )),
    }
}

/// Runs one parsed command with `ctx` on `runtime`, printing its report once; its exit code.
pub fn dispatch(ctx: &Ctx, runtime: &tokio::runtime::Runtime, command: &Command) -> Result<i32, Error> {
    let p = &ctx.printer;
    match command {
        Command::Validate(args) => runtime
            .block_on(commands::validate::run(ctx, args))
            .map(|r| emit(p, &r)),
        Command::Render(args) => commands::render::run(ctx, args).map(|r| emit(p, &r)),
        Command::Plan(args) => runtime
            .block_on(commands::plan::run(ctx, &commands::plan::options(args)))
            .map(|r| emit_as(p, &r, convention(command))),
        // `up --dry-run` is `plan` (online).
        Command::Up(args) if args.dry_run => runtime
            .block_on(commands::plan::run(ctx, &commands::plan::dry_run_options(args)))
            .map(|r| emit(p, &r)),
        Command::Up(args) => runtime
            .block_on(interruptible(commands::up::run(ctx, args)))
            .map(|r| emit(p, &r)),
        Command::AddEdge(args) => runtime
            .block_on(interruptible(commands::add_edge::run(ctx, args)))
            .map(|r| emit(p, &r)),
        Command::Verify(args) => runtime
            .block_on(interruptible(commands::verify::run(ctx, args)))
            .map(|r| emit(p, &r)),
        Command::Reap(args) => runtime.block_on(commands::reap::run(ctx, args)).map(|r| emit(p, &r)),
        Command::RemoveEdge(args) => runtime
            .block_on(commands::remove_edge::run(ctx, args))
            .map(|r| emit(p, &r)),
        Command::Status => runtime.block_on(commands::status::run(ctx)).map(|r| emit(p, &r)),
        Command::Alerts(args) => runtime.block_on(commands::alerts::run(ctx, args)).map(|r| emit(p, &r)),
        // Not `interruptible`: the command races Ctrl-C itself, so that it can remove its Jobs first.
        Command::Loadtest(args) => runtime
            .block_on(commands::loadtest::run(ctx, args, crate::signal::stop_signal()))
            .map(|r| emit(p, &r)),
        Command::Teardown => runtime.block_on(commands::teardown::run(ctx)).map(|r| emit(p, &r)),
        Command::Kubeconfig(args) => runtime
            .block_on(commands::kubeconfig::run(ctx, args))
            .map(|r| emit(p, &r)),
        // The simulator's report is printed once it listens, before it serves until stopped.
        Command::Sim(args) => runtime
            .block_on(commands::sim::run(ctx, args, |r| {
                emit(p, r);
            }))
            .map(|()| exit::OK),
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
