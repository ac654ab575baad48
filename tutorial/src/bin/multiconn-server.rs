//! Run with
//!
//! ```not_rust
//! cargo run -p tutorial --bin multiconn-server -- 127.0.0.1 65432
//! ```
//!
//! The tutorial's multi-connection server: echoes every connection at once.
//! By default each connection is a tokio task; with `--event-loop` it is the
//! tutorial's own design, one thread running a `selectors`-style loop
//! (`tutorial::servers::event_loop`). One binary with a flag rather than two
//! binaries: the protocol, log lines and clients are the same, only the
//! inside differs, which is the lesson.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tracing::Level;
use tutorial::args::{ListenArgs, ServerLimits};
use tutorial::cli::{cancel_on_signal, duration_text, fail, init_logging_at, parse_duration};
use tutorial::servers::{self, echo, event_loop};

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
    /// Serve from one thread with a selectors-style event loop, as the tutorial does
    /// (--grace-period does not apply: on Ctrl-C it closes every connection at once).
    #[arg(long)]
    event_loop: bool,
    /// With --event-loop: bytes received and not yet echoed one connection may owe
    /// before the loop stops reading it.
    #[arg(long, value_name = "BYTES", default_value_t = event_loop::DEFAULT_MAX_OWED)]
    max_owed: usize,
    /// With --event-loop: ready sockets one poll() returns at most.
    #[arg(long, value_name = "N", default_value_t = event_loop::DEFAULT_EVENTS_CAPACITY)]
    events_capacity: usize,
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
    if args.event_loop {
        let config = event_loop::Config {
            max_connections: args.limits.max_connections,
            max_connections_per_ip: args.limits.max_connections_per_ip,
            max_owed: args.max_owed,
            events_capacity: args.events_capacity,
            idle_timeout: args.idle_timeout,
            log: servers::LogLines::Every,
        };
        let listener = match listener.into_std() {
            Ok(listener) => listener,
            Err(e) => return fail(e),
        };
        return match event_loop::serve(listener, config, None, cancel_on_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        };
    }
    let config = echo::Config {
        idle_timeout: args.idle_timeout,
    };
    let limits = args.limits.limits();
    match servers::serve(listener, limits, config, None, cancel_on_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
