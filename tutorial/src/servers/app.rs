//! The tutorial's application server: read one request, answer it with
//! [`protocol::app::respond`], close (or, with `keep_alive`, read the next).
//!
//! Every connection is on its own: a malformed frame, a stalled client or an
//! unanswerable request is logged and closes that connection only. Logs are
//! the tutorial's lines (`Accepted connection from …`, `Received request …`,
//! `Sending b'…' to …`, `Closing connection to …`) at info level.

use std::time::Duration;

use tokio::time::Instant;

use bytes::BytesMut;
use protocol::app::{describe, respond, AppError};
use protocol::codec::{CodecError, MessageCodec};
use protocol::python::{content_repr, python_bytes_repr};
use protocol::relay_api::{DecoderState, LogLevel};
use protocol::{encode_into, DecoderConfig, EncodeError, Need};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder as _;

use super::accept::{Conn, Ending, Handler, Stop, DEFAULT_MAX_CONNECTIONS_PER_IP};
use super::net::PyAddr;
use super::observe::{decoder_state, Watch};
use crate::truncate::for_log;

/// Default [`Config::max_content_length`]: 1 MiB (requests are a few dozen bytes).
pub const DEFAULT_MAX_CONTENT_LENGTH: u64 = 1024 * 1024;
/// Default [`Config::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`Config::request_timeout`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `--max-connections-per-ip` (the accept loop's, as for every server).
pub const DEFAULT_MAX_PER_IP: usize = DEFAULT_MAX_CONNECTIONS_PER_IP;
/// Spare buffer room offered to each read (a tutorial request is ~150 bytes).
const READ_SPARE: usize = 512;
/// Initial read buffer: room for the spare plus a partial frame, so that
/// reserving the spare mostly reclaims this allocation rather than growing.
const READ_BUFFER: usize = 2048;

/// Limits and options of the application server (its connection bounds
/// are the accept loop's [`Limits`](super::accept::Limits)). Serve it with
/// [`accept::serve`](super::accept::serve).
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest `content-length` accepted; a bigger one is refused as soon as
    /// the header is read, before any buffer is sized for the content.
    pub max_content_length: u64,
    /// A connection with no bytes arriving (or none leaving) for this long is
    /// dropped: a half-sent request, or an idle kept-alive connection.
    pub idle_timeout: Duration,
    /// A request not complete this long after it started is dropped, however
    /// steadily its bytes trickle in (a client sending a byte every few
    /// seconds never meets `idle_timeout`). Without `keep_alive` the request
    /// starts when the connection is accepted; with it, at its first byte.
    pub request_timeout: Duration,
    /// Answer requests sent back to back on one connection, in order, instead
    /// of closing after the first reply (the tutorial's behaviour).
    pub keep_alive: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_content_length: DEFAULT_MAX_CONTENT_LENGTH,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            keep_alive: false,
        }
    }
}

impl Handler for Config {
    async fn handle(&self, conn: &mut Conn) -> Ending {
        let Conn {
            stream,
            peer,
            stop,
            watch,
            ..
        } = conn;
        if self.keep_alive {
            // Replies to pipelined requests go out as separate writes; Nagle
            // would hold the second back until the first is acknowledged.
            let _ = stream.set_nodelay(true);
        }
        match converse(stream, PyAddr(*peer), self, stop, watch).await {
            Ok(()) | Err(ConnectionError::Idle) => Ending::Done,
            Err(e) => Ending::Failed(e.to_string()),
        }
    }
}

/// Why a connection was closed before its conversation ended well.
#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error("malformed request: {0}")]
    Decode(#[from] protocol::DecodeError),
    #[error("cannot answer the request: {0}")]
    App(#[from] AppError),
    #[error("cannot encode the reply: {0}")]
    Encode(#[from] EncodeError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("idle for {timeout:?} in the middle of a request ({need})")]
    Stalled { timeout: Duration, need: Need },
    #[error("request not complete within {0:?} (--request-timeout)")]
    RequestTimeout(Duration),
    #[error("no request within {0:?}")]
    NoRequest(Duration),
    #[error("the client did not take the reply within {0:?}")]
    WriteStalled(Duration),
    #[error("server shutting down: grace period over")]
    Aborted,
    /// A kept-alive connection closed after its idle timeout: not an error.
    #[error("idle")]
    Idle,
}

impl From<CodecError> for ConnectionError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Io(e) => e.into(),
            CodecError::Decode(e) => e.into(),
            CodecError::Encode(e) => e.into(),
        }
    }
}

/// Reads requests and writes replies until the conversation is over: after
/// the first reply, or (keep-alive) when the client closes or idles.
async fn converse(
    stream: &mut TcpStream,
    peer: PyAddr,
    config: &Config,
    stop: &Stop,
    watch: &mut Watch,
) -> Result<(), ConnectionError> {
    let mut codec = MessageCodec::new(DecoderConfig {
        max_content_length: config.max_content_length,
        layout: false,
    });
    let mut buf = BytesMut::with_capacity(READ_BUFFER);
    let mut out = Vec::with_capacity(256);
    let mut served = 0u64;
    // One idle timer per connection, re-armed only when it fires early:
    // arming a timer per read would cost a timer-wheel update per request.
    let mut last_activity = Instant::now();
    let idle = tokio::time::sleep(config.idle_timeout);
    tokio::pin!(idle);
    // The whole-request deadline: running while a request is incomplete
    // (from the accept without keep-alive, from its first byte with it).
    let mut request_started = (!config.keep_alive).then(Instant::now);
    let request_deadline = tokio::time::sleep(config.request_timeout);
    tokio::pin!(request_deadline);
    // Kept-alive connections wait for their next request watching a token
    // of their own, so that waiting takes no lock shared by all connections.
    let shutdown = if config.keep_alive {
        stop.shutdown.child_token()
    } else {
        stop.shutdown.clone()
    };
    // Bytes of the last read not yet reported: the report carries the
    // decoder's state after them, known once they are decoded.
    let mut fresh: Option<usize> = None;
    loop {
        // Requests already buffered are answered before reading more: this is
        // how back-to-back requests are served in order.
        loop {
            let decoded = codec.decode(&mut buf);
            if let Some(n) = fresh.take() {
                // A request completed with bytes after it: those are the
                // next request's start, which the decoder has not looked at
                // yet (two frames in one recv()).
                let completed = matches!(decoded, Ok(Some(_)));
                watch.recv(stream, n, || {
                    Some(match buf.len() as u64 {
                        next if completed && next > 0 => DecoderState::CompleteWithNext { next },
                        _ => decoder_state(codec.decoder(), buf.len()),
                    })
                });
            }
            let Some(decoded) = decoded? else { break };
            let request = decoded.message;
            // A stranger's request: its repr is cut for the log (the
            // tutorial's requests are far below the cap).
            let described = describe(&request, "request");
            let described = for_log(&described);
            watch.request(|| content_repr(&request.content));
            watch.log_each(
                LogLevel::Info,
                format_args!("Received {described} from {peer}"),
            );
            let reply = respond(&request)?;
            out.clear();
            encode_into(&reply, &mut out)?;
            if watch.wants_each() {
                watch.log_each(
                    LogLevel::Info,
                    format_args!("Sending {} to {peer}", for_log(&python_bytes_repr(&out))),
                );
            }
            write_reply(stream, &out, config.idle_timeout, stop, watch).await?;
            last_activity = Instant::now();
            served += 1;
            // The next request's clock starts with its first byte (already
            // here when requests come back to back).
            request_started = None;
            if !buf.is_empty() {
                request_started = Some(last_activity);
                request_deadline
                    .as_mut()
                    .reset(last_activity + config.request_timeout);
            }
            if !config.keep_alive {
                // FIN after the reply, as the tutorial's close() does.
                let _ = stream.shutdown().await;
                return Ok(());
            }
            // A client that never lets its reads pend would never meet the
            // tokens in the select below; checking now and then bounds what
            // it gets after a stop.
            if served % 32 == 0 && shutdown.is_cancelled() {
                return Ok(());
            }
        }
        let between_requests = codec.decoder().is_idle_with(buf.len());
        // A kept-alive connection waiting for its next request has nothing in
        // flight: it closes as soon as the server stops.
        let may_close_now = between_requests && served > 0;
        // The read comes first: when bytes are already there no token is
        // polled (each poll takes the token's lock). Only one token is
        // watched at a time: abort comes after shutdown, and by then an idle
        // connection has already closed on the shutdown.
        // BytesMut offers a read only its spare capacity (64 bytes when it has
        // none), which would split a request over several recv calls. On an
        // empty buffer whose last request is gone this reclaims the
        // allocation instead of growing it.
        buf.reserve(READ_SPARE);
        // What read_buf() offers recv(): the buffer's spare room.
        let asked = buf.capacity() - buf.len();
        let read = tokio::select! {
            biased;
            read = stream.read_buf(&mut buf) => read,
            () = &mut idle => {
                let deadline = last_activity + config.idle_timeout;
                if Instant::now() < deadline {
                    idle.as_mut().reset(deadline);
                    continue;
                }
                return Err(idle_error(&codec, buf.len(), served, config.idle_timeout, peer, watch));
            }
            () = &mut request_deadline, if request_started.is_some() => {
                return Err(ConnectionError::RequestTimeout(config.request_timeout));
            }
            () = watch.tick() => {
                watch.sample(stream);
                continue;
            }
            _ = stop.abort.cancelled(), if !may_close_now => return Err(ConnectionError::Aborted),
            _ = shutdown.cancelled(), if may_close_now => return Ok(()),
        };
        match read {
            Ok(0) => {
                // The client closed its side: fine between requests, a
                // truncated request otherwise.
                let finished = codec.decoder().finish_with(buf.len());
                watch.received(&[], asked);
                watch.recv(stream, 0, || {
                    Some(match &finished {
                        Ok(()) => decoder_state(codec.decoder(), buf.len()),
                        Err(e) => DecoderState::Failed {
                            error: e.to_string(),
                        },
                    })
                });
                finished?;
                return Ok(());
            }
            Ok(n) => {
                last_activity = Instant::now();
                if request_started.is_none() {
                    request_started = Some(last_activity);
                    request_deadline
                        .as_mut()
                        .reset(last_activity + config.request_timeout);
                }
                watch.received(&buf[buf.len() - n..], asked);
                fresh = Some(n);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Why the idle timer closed the connection: a stalled request, no request
/// at all, or (kept alive, between requests) simply idle, which is no error.
fn idle_error(
    codec: &MessageCodec,
    buffered: usize,
    served: u64,
    timeout: Duration,
    peer: PyAddr,
    watch: &Watch,
) -> ConnectionError {
    match codec.decoder().need_with(buffered) {
        Some(need) if !codec.decoder().is_idle_with(buffered) => {
            ConnectionError::Stalled { timeout, need }
        }
        _ if served > 0 => {
            watch.log(
                LogLevel::Info,
                format_args!("Closing idle connection to {peer}"),
            );
            ConnectionError::Idle
        }
        _ => ConnectionError::NoRequest(timeout),
    }
}

async fn write_reply(
    stream: &mut TcpStream,
    bytes: &[u8],
    timeout: Duration,
    stop: &Stop,
    watch: &mut Watch,
) -> Result<(), ConnectionError> {
    // A reply fits in an empty socket buffer: try it without arming a timer.
    let written = match stream.try_write(bytes) {
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
        Err(e) => return Err(e.into()),
    };
    watch.send(stream, bytes.len(), written);
    let mut rest = &bytes[written..];
    if rest.is_empty() {
        return Ok(());
    }
    // Nothing leaving for `timeout` is a stall, however many partial writes
    // came before; each write is its own system call so that it can be reported.
    let mut deadline = Instant::now() + timeout;
    while !rest.is_empty() {
        let n = tokio::select! {
            biased;
            written = tokio::time::timeout_at(deadline, stream.write(rest)) => match written {
                Ok(result) => result?,
                Err(_) => return Err(ConnectionError::WriteStalled(timeout)),
            },
            _ = stop.abort.cancelled() => return Err(ConnectionError::Aborted),
            () = watch.tick() => {
                watch.sample(stream);
                continue;
            }
        };
        if n == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::WriteZero).into());
        }
        watch.send(stream, rest.len(), n);
        rest = &rest[n..];
        deadline = Instant::now() + timeout;
    }
    Ok(())
}
