//! The framing lab's servers: each cuts the stream into messages one of the
//! four ways ([`protocol::framing`]) and sends every message back framed the
//! same way. Observed, each `recv()` is followed by what the framer did: the
//! messages it cut (with their stream offsets) and what it waits for next.
//!
//! The until-EOF server can only answer after the client's FIN; it then
//! replies and closes, which is why its client must `shutdown(SHUT_WR)` and
//! keep reading rather than `close()`.

use std::time::Duration;

use protocol::framing::{Framed, Framer, FramerConfig, Framing, FramingError, DEFAULT_MAX_PAYLOAD};
use protocol::python::python_bytes_repr;
use protocol::relay_api::{FramerStep, LogLevel, Observed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::accept::{Conn, Ending, Handler};
use super::net::PyAddr;
use crate::truncate::for_log;

/// Default [`Config::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes read at a time.
const CHUNK: usize = 4096;

/// How a framing server cuts, and its own limits (its connection bounds
/// are the accept loop's [`Limits`](super::accept::Limits)). Check it
/// with [`Config::handler`], then serve it with
/// [`accept::serve`](super::accept::serve).
#[derive(Debug, Clone)]
pub struct Config {
    /// The framing both sides agree on.
    pub framing: Framing,
    /// Longest message payload accepted (`--max-message`); a longer one (or
    /// a prefix announcing one) closes the connection before it is buffered.
    pub max_payload: usize,
    /// A connection with nothing arriving (or leaving) for this long is closed.
    pub idle_timeout: Duration,
}

impl Config {
    /// The defaults, cutting with `framing`.
    pub fn new(framing: Framing) -> Config {
        Config {
            framing,
            max_payload: DEFAULT_MAX_PAYLOAD,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }

    /// The server's connection handler; refuses a fixed length of 0 or over
    /// `max_payload` before anything listens.
    pub fn handler(self) -> std::io::Result<FramingServer> {
        let framer = FramerConfig {
            max_payload: self.max_payload,
        };
        Framer::new(self.framing, framer).map_err(std::io::Error::other)?;
        Ok(FramingServer {
            config: self,
            framer,
        })
    }
}

/// A checked [`Config`], ready to serve.
#[derive(Debug, Clone)]
pub struct FramingServer {
    config: Config,
    framer: FramerConfig,
}

impl Handler for FramingServer {
    async fn handle(&self, conn: &mut Conn) -> Ending {
        let framer = Framer::new(self.config.framing, self.framer).expect("checked by handler()");
        let mut cutting = Cutting {
            idle: conn.idle_timeout(self.config.idle_timeout),
            conn,
            framer,
        };
        match cutting.serve().await {
            Ok(()) => Ending::Done,
            Err(e) => Ending::Failed(e.to_string()),
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

/// One connection being cut.
struct Cutting<'a> {
    conn: &'a mut Conn,
    idle: Duration,
    framer: Framer,
}

impl Cutting<'_> {
    async fn serve(&mut self) -> Result<(), FramingServerError> {
        let mut buf = vec![0u8; CHUNK];
        let mut deadline = Instant::now() + self.idle;
        loop {
            let n = tokio::select! {
                biased;
                read = tokio::time::timeout_at(deadline, self.conn.stream.read(&mut buf)) => {
                    read.map_err(|_| FramingServerError::Idle(self.idle))??
                }
                _ = self.conn.stop.abort.cancelled() => return Err(FramingServerError::Aborted),
                () = self.conn.watch.tick() => {
                    self.conn.watch.sample(&self.conn.stream);
                    continue;
                }
            };
            deadline = Instant::now() + self.idle;
            self.conn.watch.received(&buf[..n], buf.len());
            self.conn.watch.recv(&self.conn.stream, n, || None);
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
                        self.conn.watch.event(|| {
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
                    .conn
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
        self.conn.watch.event(|| {
            Observed::ServerFramer(FramerStep::Cut {
                start: framed.start,
                frame_len: framed.frame_len as u64,
                len: framed.payload.len() as u64,
            })
        });
        if !self.conn.watch.wants_each() {
            let reply = framing.encode(&framed.payload)?;
            return self.send_all(&reply.bytes).await;
        }
        let repr = python_bytes_repr(&framed.payload);
        self.conn.watch.log_each(
            LogLevel::Info,
            format_args!(
                "Received {} from {} (stream bytes {}..{}); echoing it framed the same way",
                for_log(&repr),
                PyAddr(self.conn.peer),
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
                written = tokio::time::timeout_at(deadline, self.conn.stream.write(rest)) => {
                    written.map_err(|_| FramingServerError::Idle(self.idle))??
                }
                _ = self.conn.stop.abort.cancelled() => return Err(FramingServerError::Aborted),
            };
            if sent == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into());
            }
            self.conn.watch.send(&self.conn.stream, rest.len(), sent);
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
