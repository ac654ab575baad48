//! The echo server: every byte a client sends comes back, for every
//! connection at once (the tutorial's multi-connection server). The
//! single-connection `echo-server` binary runs [`echo_connection`] once.

use std::net::SocketAddr;
use std::time::Duration;

use protocol::python::python_bytes_repr;
use protocol::relay_api::LogLevel;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::accept::{Conn, Ending, Handler};
use super::net::PyAddr;
use super::observe::Watch;

/// Default [`Config::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes read (and echoed) at a time.
const CHUNK: usize = 4096;

/// The echo server's own setting (its connection bounds are the accept
/// loop's [`Limits`](super::accept::Limits)). Serve it with
/// [`accept::serve`](super::accept::serve).
#[derive(Debug, Clone)]
pub struct Config {
    /// A connection with nothing arriving (or nothing leaving) for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

impl Handler for Config {
    async fn handle(&self, conn: &mut Conn) -> Ending {
        let idle = conn.idle_timeout(self.idle_timeout);
        let Conn {
            stream,
            peer,
            stop,
            watch,
            ..
        } = conn;
        match echo_watched(stream, *peer, idle, &stop.abort, watch).await {
            Ok(()) => Ending::Done,
            Err(e) => Ending::Failed(e.to_string()),
        }
    }
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
    echo_watched(&mut stream, peer, idle_timeout, abort, &mut Watch::off()).await
}

async fn echo_watched(
    stream: &mut TcpStream,
    peer: SocketAddr,
    idle_timeout: Duration,
    abort: &CancellationToken,
    watch: &mut Watch,
) -> Result<(), EchoError> {
    let peer = PyAddr(peer);
    let mut buf = vec![0u8; CHUNK];
    let mut chunks = 0u32;
    // A sampling tick re-enters the loop; the idle deadline must not move with it.
    let mut deadline = Instant::now() + idle_timeout;
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
            read = tokio::time::timeout_at(deadline, stream.read(&mut buf)) => match read {
                Ok(read) => read?,
                // Bytes still on their way (a message reaching the relay a
                // byte at a time, written here once whole): not idle.
                Err(_) => match watch.client_quiet_for() {
                    Some(quiet) if quiet < idle_timeout => {
                        deadline = Instant::now() + (idle_timeout - quiet);
                        continue;
                    }
                    _ => return Err(EchoError::Idle(idle_timeout)),
                },
            },
            _ = abort.cancelled() => return Err(EchoError::Aborted),
            () = watch.tick() => {
                watch.sample(stream);
                continue;
            }
        };
        watch.received(&buf[..n], buf.len());
        watch.recv(stream, n, || None);
        if n == 0 {
            return Ok(());
        }
        if watch.wants_each() {
            watch.log_each(
                LogLevel::Info,
                format_args!("Echoing {} to {peer}", python_bytes_repr(&buf[..n])),
            );
        }
        // One write per system call (what write_all does), each reported.
        let mut rest = &buf[..n];
        deadline = Instant::now() + idle_timeout;
        while !rest.is_empty() {
            let sent = tokio::select! {
                biased;
                written = tokio::time::timeout_at(deadline, stream.write(rest)) => {
                    written.map_err(|_| EchoError::Idle(idle_timeout))??
                }
                _ = abort.cancelled() => return Err(EchoError::Aborted),
                () = watch.tick() => {
                    watch.sample(stream);
                    continue;
                }
            };
            if sent == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into());
            }
            watch.send(stream, rest.len(), sent);
            rest = &rest[sent..];
            deadline = Instant::now() + idle_timeout;
        }
    }
}
