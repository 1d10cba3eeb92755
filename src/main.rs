//! The `lkeobs` binary: parse the command line, set up logging, run, exit with the documented code.
#![forbid(unsafe_code)]

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() {
    let cli = lkeobs::cli::Cli::parse();
    let default = match cli.verbose {
        0 => "warn",
        1 => "lkeobs=info",
        _ => "lkeobs=debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(!cli.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()))
        .init();
    std::process::exit(lkeobs::run::run(cli));
}
