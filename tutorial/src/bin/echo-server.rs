//! Run with
//!
//! ```not_rust
//! cargo run -p tutorial --bin echo-server
//! ```
//!
//! The tutorial's first server: echoes one client until it closes, then
//! exits.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio_util::sync::CancellationToken;
use tracing::info;
use tutorial::args::{TUTORIAL_HOST, TUTORIAL_PORT};
use tutorial::cli::{duration_text, fail, init_logging, listen, parse_duration, shutdown_signal};
use tutorial::servers::{echo, net};

/// The tutorial's echo server: serves one client, echoing until it closes, then exits.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Interface to listen on: '' for all IPv4 interfaces, an IP address (::1 works) or a host name.
    #[arg(default_value = TUTORIAL_HOST)]
    host: String,
    /// Port to listen on (0 picks a free one; the "Listening on" line shows it).
    #[arg(default_value_t = TUTORIAL_PORT)]
    port: u16,
    /// Close the connection after this long without a byte arriving.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value = duration_text(echo::DEFAULT_IDLE_TIMEOUT))]
    idle_timeout: Duration,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    let listener = match listen(&args.host, args.port, net::DEFAULT_BACKLOG) {
        Ok(listener) => listener,
        Err(message) => return fail(message),
    };
    let (stream, peer) = tokio::select! {
        accepted = listener.accept() => match accepted {
            Ok(accepted) => accepted,
            Err(e) => return fail(format_args!("accept failed: {e}")),
        },
        _ = shutdown_signal() => return ExitCode::SUCCESS,
    };
    info!("Connected by {}", net::PyAddr(peer));
    let abort = CancellationToken::new();
    let cancel = abort.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        cancel.cancel();
    });
    match echo::echo_connection(stream, peer, args.idle_timeout, &abort).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
