//! Run with
//!
//! ```not_rust
//! cargo run -p tutorial --bin multiconn-client -- 127.0.0.1 65432 2
//! ```
//!
//! The tutorial's multi-connection client: opens N connections at once,
//! sends two messages on each, and closes each when its echo is complete.

use clap::Parser;
use protocol::python::python_bytes_repr;
use std::process::ExitCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::info;
use tutorial::args::{ClientTimeout, ServerAddr};
use tutorial::cli::{fail, init_logging};
use tutorial::servers::net;

/// What every connection sends, in order.
const MESSAGES: [&[u8]; 2] = [b"Message 1 from client.", b"Message 2 from client."];

/// The tutorial's multi-connection client: opens N connections at once, sends two messages
/// on each, and closes each when all its bytes have come back.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerAddr,
    /// How many connections to open.
    num_connections: usize,
    #[command(flatten)]
    timeout: ClientTimeout,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    init_logging();
    let server = net::py_host_port(&args.server.host, args.server.port);
    let addr = match net::resolve(&args.server.host, args.server.port) {
        Ok(addr) => addr,
        Err(e) => return fail(format_args!("cannot resolve {server}: {e}")),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for connid in 1..=args.num_connections {
        info!("Starting connection {connid} to {server}");
        let timeout = args.timeout.timeout;
        tasks.spawn(async move {
            match tokio::time::timeout(timeout, converse(addr, connid)).await {
                Ok(result) => result.map_err(|e| format!("connection {connid}: {e}")),
                Err(_) => Err(format!(
                    "connection {connid}: echo not complete within {timeout:?}"
                )),
            }
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(e.to_string()),
        }
    }
    match failures.as_slice() {
        [] => ExitCode::SUCCESS,
        [only] => fail(only),
        [first, ..] => fail(format_args!(
            "{} connections failed; first: {first}",
            failures.len()
        )),
    }
}

/// One connection: send both messages, read until as many bytes came back, close.
async fn converse(addr: std::net::SocketAddr, connid: usize) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr).await?;
    let total: usize = MESSAGES.iter().map(|m| m.len()).sum();
    for message in MESSAGES {
        info!(
            "Sending {} to connection {connid}",
            python_bytes_repr(message)
        );
        stream.write_all(message).await?;
    }
    let mut buf = vec![0u8; 1024];
    let mut echoed = Vec::with_capacity(total);
    let mut received = 0;
    while received < total {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("server closed after {received} of {total} bytes"),
            ));
        }
        info!(
            "Received {} from connection {connid}",
            python_bytes_repr(&buf[..n])
        );
        received += n;
        echoed.extend_from_slice(&buf[..n]);
    }
    if echoed != MESSAGES.concat() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "echo differs from what was sent: {}",
                python_bytes_repr(&echoed)
            ),
        ));
    }
    info!("Closing connection {connid}");
    Ok(())
}
