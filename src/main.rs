//! The `lkeobs` binary: parse the command line, set up logging, run, exit with the documented code.
#![forbid(unsafe_code)]

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() {
    let cli = lkeobs::cli::Cli::parse();
    // Libraries (kube-rs, hyper, rustls) log only with -v: without it lkeobs says what failed in its
    // own words, once, in its report.
    let default = match cli.verbose {
        0 => "off,lkeobs=warn",
        1 => "warn,lkeobs=info",
        _ => "info,lkeobs=debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            !cli.no_color
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal(),
        )
        .init();
    std::process::exit(lkeobs::run::run(cli));
}
