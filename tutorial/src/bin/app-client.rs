//! Run with
//!
//! ```not_rust
//! cargo run -p tutorial --bin app-client -- 127.0.0.1 65432 search morpheus
//! ```
//!
//! The tutorial's application client: sends `search VALUE` (or a binary
//! request) and prints the decoded reply; more ACTION VALUE pairs go on the
//! same connection.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use protocol::app::{request, Outcome};
use tracing::info;
use tutorial::args::{ClientTimeout, ServerAddr};
use tutorial::cli::{fail, init_logging};
use tutorial::client::{AppConnection, ClientError};

/// The tutorial's application client: `search VALUE` sends a JSON search, any other
/// action sends ACTION+VALUE as binary/custom-client-binary-type; prints the decoded reply.
///
/// More ACTION VALUE pairs send more requests on the same connection, one after
/// another (the server needs --keep-alive for that).
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerAddr,
    /// `search`, or anything else for a binary request.
    action: String,
    /// The search term, or the rest of the binary request.
    value: String,
    /// Further ACTION VALUE pairs, sent on the same connection.
    #[arg(value_name = "ACTION VALUE")]
    more: Vec<String>,
    /// Send all requests at once, then read the replies (tests the server's in-order answers).
    #[arg(long)]
    pipeline: bool,
    #[command(flatten)]
    timeout: ClientTimeout,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.more.len() % 2 != 0 {
        Args::command()
            .error(
                clap::error::ErrorKind::WrongNumberOfValues,
                "further requests come as ACTION VALUE pairs",
            )
            .exit();
    }
    init_logging();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ ClientError::Closed { .. }) if !args.more.is_empty() => fail(format_args!(
            "{e} (a server answers one request per connection unless started with --keep-alive)"
        )),
        Err(e) => fail(e),
    }
}

async fn run(args: &Args) -> Result<(), ClientError> {
    let mut requests = vec![request(&args.action, &args.value)];
    requests.extend(args.more.chunks(2).map(|pair| request(&pair[0], &pair[1])));
    let mut connection =
        AppConnection::connect(&args.server.host, args.server.port, args.timeout.timeout).await?;
    if args.pipeline {
        for req in &requests {
            connection.send(req).await?;
        }
        for _ in &requests {
            let reply = connection.receive().await?;
            info!("{}", Outcome::of(&reply));
        }
    } else {
        for req in &requests {
            connection.send(req).await?;
            let reply = connection.receive().await?;
            info!("{}", Outcome::of(&reply));
        }
    }
    connection.close().await;
    Ok(())
}
