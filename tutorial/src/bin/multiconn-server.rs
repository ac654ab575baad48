//! Run with
//!
//! ```not_rust
//! cargo run -p tutorial --bin multiconn-server -- 127.0.0.1 65432
//! ```
//!
//! The tutorial's multi-connection server: echoes every connection at once.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tracing::Level;
use tutorial::args::{ListenArgs, ServerLimits};
use tutorial::cli::{cancel_on_signal, duration_text, fail, init_logging_at, parse_duration};
use tutorial::servers::echo;

/// The tutorial's multi-connection echo server: every connection is echoed concurrently.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    listen: ListenArgs,
    /// Close a connection after this long without a byte arriving.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value = duration_text(echo::DEFAULT_IDLE_TIMEOUT))]
    idle_timeout: Duration,
    #[command(flatten)]
    limits: ServerLimits,
    /// Log warnings and errors only (RUST_LOG overrides).
    #[arg(short, long)]
    quiet: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging_at(if args.quiet { Level::WARN } else { Level::INFO });
    let listener = match args.listen.listen(&args.limits) {
        Ok(listener) => listener,
        Err(message) => return fail(message),
    };
    let config = echo::Config {
        idle_timeout: args.idle_timeout,
        max_connections: args.limits.max_connections,
        grace_period: args.limits.grace_period,
    };
    match echo::serve(listener, config, cancel_on_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
