//! The tutorial's first server: `echo-server [host] [port]` echoes one
//! client until it closes, then exits.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use relay::cli::{fail, init_logging, parse_duration};
use relay::servers::{echo, net};
use tokio_util::sync::CancellationToken;
use tracing::info;

/// The tutorial's echo server: serves one client, echoing until it closes, then exits.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Interface to listen on: '' for all IPv4 interfaces, an IP address (::1 works) or a host name.
    #[arg(default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0 picks a free one; the "Listening on" line shows it).
    #[arg(default_value_t = 65432)]
    port: u16,
    /// Close the connection after this long without a byte arriving.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    idle_timeout: Duration,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    let shown = net::py_host_port(&args.host, args.port);
    let listener = match net::listen_addr(&args.host, args.port)
        .and_then(|addr| net::bind(addr, net::DEFAULT_BACKLOG))
    {
        Ok(listener) => listener,
        Err(e) => return fail(format_args!("cannot listen on {shown}: {e}")),
    };
    let port = listener.local_addr().map_or(args.port, |a| a.port());
    info!(target: relay::cli::LISTENING, "Listening on {}", net::py_host_port(&args.host, port));
    let (stream, peer) = tokio::select! {
        accepted = listener.accept() => match accepted {
            Ok(accepted) => accepted,
            Err(e) => return fail(format_args!("accept failed: {e}")),
        },
        _ = relay::cli::shutdown_signal() => return ExitCode::SUCCESS,
    };
    info!("Connected by {}", net::PyAddr(peer));
    let abort = CancellationToken::new();
    let cancel = abort.clone();
    tokio::spawn(async move {
        relay::cli::shutdown_signal().await;
        cancel.cancel();
    });
    match echo::echo_connection(stream, peer, args.idle_timeout, &abort).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
