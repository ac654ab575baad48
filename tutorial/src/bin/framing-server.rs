//! Run with
//!
//! ```not_rust
//! cargo run -p tutorial --bin framing-server -- 127.0.0.1 65432 --mode lines
//! cargo run -p tutorial --bin framing-server -- 127.0.0.1 65432 --mode fixed --len 8
//! ```
//!
//! The framing lab's server: cuts what each client sends into messages one
//! of the HOWTO's four ways and echoes each message back framed the same
//! way. With `--mode close` the one message is everything until the client's
//! FIN, answered just before the server closes.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tutorial::args::{ListenArgs, ServerLimits};
use tutorial::cli::{cancel_on_signal, duration_text, fail, init_logging, parse_duration};
use tutorial::servers;
use tutorial::servers::framing::{self, FramingArgs};

/// Echoes every message back framed as it came: fixed length, lines, length prefix or until EOF.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    listen: ListenArgs,
    #[command(flatten)]
    framing: FramingArgs,
    /// Longest message accepted; a longer one (or a prefix announcing one) closes the connection.
    #[arg(long = "max-message", value_name = "BYTES", default_value_t = protocol::framing::DEFAULT_MAX_PAYLOAD)]
    max_payload: usize,
    /// Close a connection after this long without a byte arriving.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value = duration_text(framing::DEFAULT_IDLE_TIMEOUT))]
    idle_timeout: Duration,
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
    let config = framing::Config {
        framing: args.framing.framing(),
        max_payload: args.max_payload,
        idle_timeout: args.idle_timeout,
    };
    let handler = match config.handler() {
        Ok(handler) => handler,
        Err(e) => return fail(e),
    };
    let limits = args.limits.limits();
    match servers::serve(listener, limits, handler, None, cancel_on_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
