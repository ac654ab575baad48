//! The blackhole server, the tutorial's `app-server-test.py`: it accepts
//! connections and never calls `recv()`, so what a client sends piles up in
//! the server's receive queue, then in the client's send queue, until the
//! client's `send()` would block (the tutorial's troubleshooting section,
//! "netstat").
//!
//! A connection is held until its client closes (seen in the socket's TCP
//! state, since reading is exactly what this server must not do), until
//! [`Config::hold`] has passed, or until the server stops. The kernel
//! bounds what piles up: one receive buffer per connection, at most
//! [`Config::max_connections`] of them.

use std::net::SocketAddr;
use std::time::Duration;

use protocol::relay_api::{LogLevel, TcpState};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::limits::{accept_loop, Stop, DEFAULT_GRACE_PERIOD, DEFAULT_MAX_CONNECTIONS};
use super::net::PyAddr;
use super::observe::{Hook, Watch};
use crate::sockstat::socket_info;

/// Default [`Config::hold`].
pub const DEFAULT_HOLD: Duration = Duration::from_secs(60);
/// How often an unobserved connection looks whether its client has gone.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// Limits of the blackhole server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Longest a connection is held (it is never read, so it is never idle
    /// in the usual sense); then the server closes it.
    pub hold: Duration,
    /// Connections held at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// After shutdown, how long held connections stay (they only wait).
    pub grace_period: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hold: DEFAULT_HOLD,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            grace_period: DEFAULT_GRACE_PERIOD,
        }
    }
}

/// Holds every connection on `listener` without reading until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    serve_observed(listener, config, None, shutdown).await
}

/// [`serve`], telling `hook` what the connections it claims do.
pub async fn serve_observed(
    listener: TcpListener,
    config: Config,
    hook: Option<Hook>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let hold = config.hold;
    accept_loop(
        listener,
        config.max_connections,
        config.grace_period,
        shutdown,
        move |stream, peer, stop| {
            let watch = Watch::accepted(hook.as_ref(), &stream, peer);
            hold_connection(stream, peer, hold, stop, watch)
        },
    )
    .await
}

async fn hold_connection(
    stream: TcpStream,
    peer: SocketAddr,
    hold: Duration,
    stop: Stop,
    mut watch: Watch,
) {
    let peer = PyAddr(peer);
    watch.log(
        LogLevel::Info,
        format_args!("Accepted connection from {peer}"),
    );
    let until = Instant::now() + hold;
    let why = loop {
        tokio::select! {
            biased;
            _ = stop.shutdown.cancelled() => break "server shutting down",
            _ = tokio::time::sleep_until(until) => break "held for the longest allowed",
            () = watch.tick() => watch.sample(&stream),
            _ = tokio::time::sleep(CHECK_EVERY), if !watch.is_on() => {}
        }
        if client_gone(&stream) {
            break "the client closed its side";
        }
    };
    watch.log(
        LogLevel::Info,
        format_args!("Closing connection to {peer} ({why})"),
    );
    watch.sample(&stream);
    watch.close();
}

/// The client's FIN has arrived (or the connection is gone), which reading
/// would show as a 0-byte `recv()` only after every byte before it.
fn client_gone(stream: &TcpStream) -> bool {
    socket_info(stream).is_some_and(|info| {
        !matches!(
            info.state,
            TcpState::Established | TcpState::SynRecv | TcpState::FinWait1 | TcpState::FinWait2
        )
    })
}
