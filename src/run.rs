//! Dispatches a parsed command line to its operation and turns the outcome into an exit code and, on failure, a report.

use std::io::IsTerminal;

use clap::CommandFactory;
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
    // The report already on stdout lists the problems: one JSON document only.
    if printer.json() && matches!(err, Error::Conflict(_) | Error::LeftBehind(_)) {
        printer.error_block(&format!("error: {err}\n"));
        return;
    }
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

/// Runs the command line and returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let printer = Printer::new(cli.output, cli.no_color, no_color_env);
    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    let ctx = Ctx::new(
        printer.clone(),
        cli.fleet.clone(),
        cli.timeout,
        cli.yes || (ci && !std::io::stdin().is_terminal()),
        ops::linode_access_from_env(),
        ops::Paths::from_env(),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            report_error(&printer, &Error::io("start the async runtime", e), Default::default());
            return exit::FAILURE;
        }
    };
    let outcome = match &cli.command {
        Command::Validate(args) => runtime.block_on(ops::validate::run(&ctx, args)).map(|_| exit::OK),
        Command::Render(args) => ops::render::run(&ctx, args).map(|_| exit::OK),
        Command::Plan(args) => runtime.block_on(ops::plan::run(&ctx, args)).map(|plan| {
            if args.detailed_exitcode && plan.changes > 0 {
                exit::PLAN_CHANGES
            } else {
                exit::OK
            }
        }),
        Command::Reap(args) => runtime.block_on(ops::reap::run(&ctx, args)).map(|_| exit::OK),
        Command::RemoveEdge(args) => runtime.block_on(ops::remove_edge::run(&ctx, args)).map(|_| exit::OK),
        Command::Status => runtime.block_on(ops::status::run(&ctx)).map(|_| exit::OK),
        Command::Teardown => runtime.block_on(ops::teardown::run(&ctx)).map(|_| exit::OK),
        Command::Kubeconfig(args) => runtime.block_on(ops::kubeconfig::run(&ctx, args)).map(|_| exit::OK),
        Command::Completions(args) => {
            let mut cmd = Cli::command();
            let mut out = std::io::stdout();
            clap_complete::generate(args.shell, &mut cmd, "lkeobs", &mut out);
            Ok(exit::OK)
        }
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
