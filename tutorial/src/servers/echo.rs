//! The echo server: every byte a client sends comes back, for every
//! connection at once (the tutorial's multi-connection server). The
//! single-connection `echo-server` binary runs [`echo_connection`] once.

use std::net::SocketAddr;
use std::time::Duration;

use protocol::python::python_bytes_repr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::limits::{accept_loop, DEFAULT_GRACE_PERIOD, DEFAULT_MAX_CONNECTIONS};
use super::net::PyAddr;

/// Default [`Config::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes read (and echoed) at a time.
const CHUNK: usize = 4096;

/// Limits of the echo server.
#[derive(Debug, Clone)]
pub struct Config {
    /// A connection with nothing arriving (or nothing leaving) for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// After shutdown, how long open connections may stay to finish echoing.
    pub grace_period: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            grace_period: DEFAULT_GRACE_PERIOD,
        }
    }
}

/// Echoes every connection on `listener` until `shutdown` is cancelled, then
/// gives open connections the grace period to finish and returns.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let idle_timeout = config.idle_timeout;
    accept_loop(
        listener,
        config.max_connections,
        config.grace_period,
        shutdown,
        move |stream, peer, stop| async move {
            info!("Accepted connection from {}", PyAddr(peer));
            echo_logged(stream, peer, idle_timeout, stop.abort).await;
        },
    )
    .await
}

async fn echo_logged(
    stream: TcpStream,
    peer: SocketAddr,
    idle: Duration,
    abort: CancellationToken,
) {
    if let Err(e) = echo_connection(stream, peer, idle, &abort).await {
        warn!("Error for {}: {e}", PyAddr(peer));
    }
    info!("Closing connection to {}", PyAddr(peer));
}

/// Why an echo connection ended early.
#[derive(Debug, thiserror::Error)]
pub enum EchoError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("idle for {0:?}")]
    Idle(Duration),
    #[error("server shutting down: grace period over")]
    Aborted,
}

/// Echoes `stream` until the client closes its side, logging
/// `Echoing b'…' to (…)` for each chunk; `abort` ends it early.
pub async fn echo_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    idle_timeout: Duration,
    abort: &CancellationToken,
) -> Result<(), EchoError> {
    let peer = PyAddr(peer);
    let mut buf = vec![0u8; CHUNK];
    let mut chunks = 0u32;
    loop {
        // The select below only sees the token when I/O pends; a client that
        // keeps both directions busy is checked here, now and then.
        chunks = chunks.wrapping_add(1);
        if chunks % 64 == 0 && abort.is_cancelled() {
            return Err(EchoError::Aborted);
        }
        // I/O first: when it is ready the token (a shared lock) is not polled.
        let n = tokio::select! {
            biased;
            read = tokio::time::timeout(idle_timeout, stream.read(&mut buf)) => {
                read.map_err(|_| EchoError::Idle(idle_timeout))??
            }
            _ = abort.cancelled() => return Err(EchoError::Aborted),
        };
        if n == 0 {
            return Ok(());
        }
        info!("Echoing {} to {peer}", python_bytes_repr(&buf[..n]));
        tokio::select! {
            biased;
            written = tokio::time::timeout(idle_timeout, stream.write_all(&buf[..n])) => {
                written.map_err(|_| EchoError::Idle(idle_timeout))??
            }
            _ = abort.cancelled() => return Err(EchoError::Aborted),
        }
    }
}
