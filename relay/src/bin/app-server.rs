//! The tutorial's application server: `app-server <host> <port>`.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use relay::cli::{cancel_on_signal, fail, init_logging_at, parse_duration};
use relay::servers::{app, net};
use tracing::{info, Level};

/// The tutorial's application server: answers searches, one request per
/// connection (or many with --keep-alive), every connection on its own.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Interface to listen on: '' for all IPv4 interfaces, an IP address (::1 works) or a host name.
    host: String,
    /// Port to listen on (0 picks a free one; the "Listening on" line shows it).
    port: u16,
    /// Answer requests sent back to back on one connection instead of closing after the first reply.
    #[arg(long)]
    keep_alive: bool,
    /// Largest content-length accepted; bigger requests are refused before anything is allocated.
    #[arg(long, value_name = "BYTES", default_value_t = app::DEFAULT_MAX_CONTENT_LENGTH)]
    max_content_length: u64,
    /// Drop a connection after this long without a byte arriving (a stalled half-request, an idle kept-alive connection).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    #[arg(long, value_name = "N", default_value_t = app::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// After Ctrl-C/SIGTERM, how long in-flight connections may take to finish.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    grace_period: Duration,
    /// Listen backlog (where connections over --max-connections wait).
    #[arg(long, value_name = "N", default_value_t = net::DEFAULT_BACKLOG)]
    backlog: u32,
    /// Log warnings and errors only, not the tutorial's per-connection lines (RUST_LOG overrides).
    #[arg(short, long)]
    quiet: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging_at(if args.quiet { Level::WARN } else { Level::INFO });
    let shown = net::py_host_port(&args.host, args.port);
    let listener = match net::listen_addr(&args.host, args.port)
        .and_then(|addr| net::bind(addr, args.backlog))
    {
        Ok(listener) => listener,
        Err(e) => return fail(format_args!("cannot listen on {shown}: {e}")),
    };
    let port = listener.local_addr().map_or(args.port, |a| a.port());
    info!(target: relay::cli::LISTENING, "Listening on {}", net::py_host_port(&args.host, port));
    let config = app::Config {
        max_content_length: args.max_content_length,
        idle_timeout: args.idle_timeout,
        max_connections: args.max_connections,
        grace_period: args.grace_period,
        keep_alive: args.keep_alive,
    };
    match app::serve(listener, config, cancel_on_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}
