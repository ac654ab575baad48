//! The framing lab's servers: each cuts the stream into messages one of the
//! four ways ([`protocol::framing`]) and sends every message back framed the
//! same way. Observed, each `recv()` is followed by what the framer did: the
//! messages it cut (with their stream offsets) and what it waits for next.
//!
//! The until-EOF server can only answer after the client's FIN; it then
//! replies and closes, which is why its client must `shutdown(SHUT_WR)` and
//! keep reading rather than `close()`.

use std::net::SocketAddr;
use std::time::Duration;

use protocol::framing::{Framed, Framer, FramerConfig, Framing, FramingError, DEFAULT_MAX_MESSAGE};
use protocol::python::python_bytes_repr;
use protocol::relay_api::{FramerStep, LogLevel, Observed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::limits::{accept_loop, DEFAULT_GRACE_PERIOD, DEFAULT_MAX_CONNECTIONS};
use super::net::PyAddr;
use super::observe::{Hook, Watch};
use crate::truncate::for_log;

/// Default [`Config::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes read at a time.
const CHUNK: usize = 4096;

/// How a framing server cuts, and its limits.
#[derive(Debug, Clone)]
pub struct Config {
    /// The framing both sides agree on.
    pub framing: Framing,
    /// Longest message accepted (`--max-message`); a longer one (or a
    /// prefix announcing one) closes the connection before it is buffered.
    pub max_message: usize,
    /// A connection with nothing arriving (or leaving) for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// After shutdown, how long open connections may stay.
    pub grace_period: Duration,
}

impl Config {
    /// The defaults, cutting with `framing`.
    pub fn new(framing: Framing) -> Config {
        Config {
            framing,
            max_message: DEFAULT_MAX_MESSAGE,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            grace_period: DEFAULT_GRACE_PERIOD,
        }
    }
}

/// Why a framing connection ended early.
#[derive(Debug, thiserror::Error)]
pub enum FramingServerError {
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The bytes could not be cut into messages.
    #[error("{0}")]
    Framing(#[from] FramingError),
    /// Nothing moved for the idle timeout.
    #[error("idle for {0:?}")]
    Idle(Duration),
    /// The grace period after shutdown ran out.
    #[error("server shutting down: grace period over")]
    Aborted,
}

/// Serves `listener` until `shutdown`, as [`serve_observed`] without a hook.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    serve_observed(listener, config, None, shutdown).await
}

/// Echoes every connection's messages framed as they came, telling `hook`
/// what the connections it claims do. Refuses a fixed length of 0 or over
/// `max_message` before listening.
pub async fn serve_observed(
    listener: TcpListener,
    config: Config,
    hook: Option<Hook>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let framer_config = FramerConfig {
        max_message: config.max_message,
    };
    Framer::new(config.framing, framer_config).map_err(std::io::Error::other)?;
    let (framing, idle) = (config.framing, config.idle_timeout);
    accept_loop(
        listener,
        config.max_connections,
        config.grace_period,
        shutdown,
        move |stream, peer, stop| {
            let watch = Watch::accepted(hook.as_ref(), &stream, peer);
            async move {
                watch.log(
                    LogLevel::Info,
                    format_args!("Accepted connection from {}", PyAddr(peer)),
                );
                let framer = Framer::new(framing, framer_config).expect("checked above");
                let mut conn = Conn {
                    stream,
                    peer,
                    idle,
                    abort: stop.abort,
                    watch,
                    framer,
                };
                if let Err(e) = conn.serve().await {
                    conn.watch.log(
                        LogLevel::Warning,
                        format_args!("Error for {}: {e}", PyAddr(peer)),
                    );
                }
                conn.watch.log(
                    LogLevel::Info,
                    format_args!("Closing connection to {}", PyAddr(peer)),
                );
                conn.watch.sample(&conn.stream);
                conn.watch.close();
            }
        },
    )
    .await
}

struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    idle: Duration,
    abort: CancellationToken,
    watch: Watch,
    framer: Framer,
}

impl Conn {
    async fn serve(&mut self) -> Result<(), FramingServerError> {
        let mut buf = vec![0u8; CHUNK];
        let mut deadline = Instant::now() + self.idle;
        loop {
            let n = tokio::select! {
                biased;
                read = tokio::time::timeout_at(deadline, self.stream.read(&mut buf)) => {
                    read.map_err(|_| FramingServerError::Idle(self.idle))??
                }
                _ = self.abort.cancelled() => return Err(FramingServerError::Aborted),
                () = self.watch.tick() => {
                    self.watch.sample(&self.stream);
                    continue;
                }
            };
            deadline = Instant::now() + self.idle;
            self.watch.received(&buf[..n], buf.len());
            self.watch.recv(&self.stream, n, || None);
            if n == 0 {
                self.framer.close();
            } else {
                self.framer.push(&buf[..n]);
            }
            loop {
                match self.framer.poll() {
                    Ok(Some(framed)) => self.answer(framed).await?,
                    Ok(None) => break,
                    Err(e) => {
                        self.watch.event(|| {
                            Observed::ServerFramer(FramerStep::Failed {
                                error: e.to_string(),
                            })
                        });
                        return Err(e.into());
                    }
                }
            }
            match self.framer.need() {
                Some(wait) => self
                    .watch
                    .event(|| Observed::ServerFramer(FramerStep::Waiting(wait))),
                // Until EOF answered its one message; the others saw the FIN.
                None => return Ok(()),
            }
            if n == 0 {
                return Ok(());
            }
        }
    }

    /// Logs and reports the cut, then sends the message back framed alike.
    async fn answer(&mut self, framed: Framed) -> Result<(), FramingServerError> {
        let framing = self.framer.framing();
        self.watch.event(|| {
            Observed::ServerFramer(FramerStep::Cut {
                start: framed.start,
                frame_len: framed.frame_len as u64,
                len: framed.payload.len() as u64,
            })
        });
        let repr = python_bytes_repr(&framed.payload);
        self.watch.log(
            LogLevel::Info,
            format_args!(
                "Received {} from {} (stream bytes {}..{}); echoing it framed the same way",
                for_log(&repr),
                PyAddr(self.peer),
                framed.start,
                framed.start + framed.frame_len as u64
            ),
        );
        // The payload came framed this way, so it fits this framing again.
        let reply = framing.encode(&framed.payload)?;
        self.send_all(&reply.bytes).await
    }

    /// One write per system call, each reported (what `sendall()` does).
    async fn send_all(&mut self, mut rest: &[u8]) -> Result<(), FramingServerError> {
        while !rest.is_empty() {
            let deadline = Instant::now() + self.idle;
            let sent = tokio::select! {
                biased;
                written = tokio::time::timeout_at(deadline, self.stream.write(rest)) => {
                    written.map_err(|_| FramingServerError::Idle(self.idle))??
                }
                _ = self.abort.cancelled() => return Err(FramingServerError::Aborted),
            };
            if sent == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into());
            }
            self.watch.send(&self.stream, rest.len(), sent);
            rest = &rest[sent..];
        }
        Ok(())
    }
}

/// `--mode` and `--len`, shared by `framing-server` and `framing-client`
/// so both sides agree by the same flags.
#[derive(Debug, Clone, clap::Args)]
pub struct FramingArgs {
    /// How a message's end is found: fixed (every --len bytes), lines (a
    /// b'\n' after each), prefix (a 2-byte big-endian length before each),
    /// close (the sender's FIN).
    #[arg(long, value_parser = ["fixed", "lines", "prefix", "close"])]
    pub mode: String,
    /// Bytes per message with --mode fixed.
    #[arg(long, value_name = "N", default_value_t = protocol::framing::DEFAULT_FIXED_LEN)]
    pub len: usize,
}

impl FramingArgs {
    /// The framing the flags name.
    pub fn framing(&self) -> Framing {
        match self.mode.as_str() {
            "fixed" => Framing::Fixed { len: self.len },
            "lines" => Framing::Delimited {
                byte: protocol::framing::DEFAULT_DELIMITER,
            },
            "prefix" => Framing::LengthPrefixed,
            _ => Framing::UntilEof,
        }
    }
}
