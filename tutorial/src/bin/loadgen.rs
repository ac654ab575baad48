//! Run with
//!
//! ```not_rust
//! cargo run --release -p tutorial --bin loadgen -- 127.0.0.1 65432 --clients 16
//! ```
//!
//! Load for any application (or echo) server: C concurrent clients for a
//! while, then requests/s, p50/p99 latency and the server's CPU per request.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use protocol::app::request;
use tutorial::args::ServerAddr;
use tutorial::cli::{fail, parse_duration};
use tutorial::load::{process_cpu_time, run, LoadConfig, Mode};
use tutorial::servers::net;

/// Runs C concurrent clients against a server for a while and prints requests/s,
/// p50/p99 latency and, with --pid, the server's CPU time per request.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerAddr,
    /// How long to run.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    duration: Duration,
    /// Concurrent clients.
    #[arg(long, value_name = "N", default_value_t = 16)]
    clients: usize,
    /// Requests per connection; 0 keeps each connection open for the whole run
    /// (needs a server with --keep-alive, or an echo server).
    #[arg(long, value_name = "N", default_value_t = 1)]
    per_connection: u64,
    /// `app`: one framed reply per request; `echo`: the request's bytes come back.
    #[arg(long, value_enum, default_value_t = Mode::App)]
    mode: Mode,
    /// The request's action (as app-client takes it).
    #[arg(long, default_value = "search")]
    action: String,
    /// The request's value.
    #[arg(long, default_value = "morpheus")]
    value: String,
    /// The server's process id, to report its CPU time per request (Linux /proc).
    #[arg(long)]
    pid: Option<u32>,
    /// A name for the result line.
    #[arg(long, default_value = "")]
    label: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let addr = match net::resolve(&args.server.host, args.server.port) {
        Ok(addr) => addr,
        Err(e) => return fail(format_args!("cannot resolve {}: {e}", args.server.host)),
    };
    let mut frame = Vec::new();
    if let Err(e) = protocol::encode_into(&request(&args.action, &args.value), &mut frame) {
        return fail(e);
    }
    if let Some(pid) = args.pid {
        if process_cpu_time(pid).is_none() {
            return fail(format_args!("cannot read /proc/{pid}/stat"));
        }
    }
    let report = run(LoadConfig {
        addr,
        mode: args.mode,
        request: frame,
        clients: args.clients,
        duration: args.duration,
        per_connection: args.per_connection,
        server_pid: args.pid,
    })
    .await;
    let label = if args.label.is_empty() {
        String::new()
    } else {
        format!("{}: ", args.label)
    };
    println!("{label}{report}");
    if report.requests == 0 {
        return fail("no request succeeded");
    }
    ExitCode::SUCCESS
}
