//! Run with
//!
//! ```not_rust
//! cargo run -p tutorial --bin app-server-test -- 127.0.0.1 65432
//! ```
//!
//! The tutorial's `app-server-test.py`: accepts connections and never calls
//! `recv()`, so a client's bytes fill the server's receive queue and then the
//! client's send queue (`netstat -an | grep 65432` shows both), until the
//! client's `send()` would block. Pair it with `app-client-test`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tutorial::args::{ListenArgs, ServerLimits};
use tutorial::cli::{cancel_on_signal, duration_text, fail, init_logging, parse_duration};
use tutorial::servers::{self, blackhole};

/// Accepts connections and never reads them (the tutorial's app-server-test.py).
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    listen: ListenArgs,
    /// Close a connection after holding it this long (it is closed sooner if its client closes).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value = duration_text(blackhole::DEFAULT_HOLD))]
    hold: Duration,
    #[command(flatten)]
    limits: ServerLimits,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    let listener = match args.listen.listen(&args.limits) {
        Ok(listener) => listener,
        Err(message) => return fail(message),
    };
    let config = blackhole::Config { hold: args.hold };
    let limits = args.limits.limits();
    match servers::serve(listener, limits, config, None, cancel_on_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
