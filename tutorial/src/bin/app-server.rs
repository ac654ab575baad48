//! Run with
//!
//! ```not_rust
//! cargo run -p tutorial --bin app-server -- 127.0.0.1 65432
//! ```
//!
//! The tutorial's application server: answers searches, one request per
//! connection (or many with `--keep-alive`).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tracing::Level;
use tutorial::args::{ListenArgs, ServerLimits};
use tutorial::cli::{cancel_on_signal, duration_text, fail, init_logging_at, parse_duration};
use tutorial::servers::{self, app};

/// The tutorial's application server: answers searches, one request per
/// connection (or many with --keep-alive), every connection on its own.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    listen: ListenArgs,
    /// Answer requests sent back to back on one connection instead of closing after the first reply.
    #[arg(long)]
    keep_alive: bool,
    /// Largest content-length accepted; bigger requests are refused before anything is allocated.
    #[arg(long, value_name = "BYTES", default_value_t = app::DEFAULT_MAX_CONTENT_LENGTH)]
    max_content_length: u64,
    /// Drop a connection after this long without a byte arriving (a stalled half-request, an idle kept-alive connection).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value = duration_text(app::DEFAULT_IDLE_TIMEOUT))]
    idle_timeout: Duration,
    /// Drop a connection whose request is not complete this long after it started, however steadily its bytes trickle in (from the accept; with --keep-alive, from each request's first byte).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value = duration_text(app::DEFAULT_REQUEST_TIMEOUT))]
    request_timeout: Duration,
    #[command(flatten)]
    limits: ServerLimits,
    /// Log warnings and errors only, not the tutorial's per-connection lines (RUST_LOG overrides).
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
    let config = app::Config {
        max_content_length: args.max_content_length,
        idle_timeout: args.idle_timeout,
        request_timeout: args.request_timeout,
        keep_alive: args.keep_alive,
    };
    let limits = args.limits.limits();
    match servers::serve(listener, limits, config, None, cancel_on_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
