//! The tutorial's application server: read one request, answer it with
//! [`protocol::app::respond`], close (or, with `keep_alive`, read the next).
//!
//! Every connection is on its own: a malformed frame, a stalled client or an
//! unanswerable request is logged and closes that connection only. Logs are
//! the tutorial's lines (`Accepted connection from …`, `Received request …`,
//! `Sending b'…' to …`, `Closing connection to …`) at info level.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use protocol::app::{describe, respond, AppError};
use protocol::codec::{CodecError, MessageCodec};
use protocol::display::python_bytes_repr;
use protocol::{encode_into, DecoderConfig, EncodeError, Need};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Decoder as _;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::limits::{accept_loop, Stop};
use super::net::PyAddr;

/// Default [`Config::max_content_length`]: 1 MiB (requests are a few dozen bytes).
pub const DEFAULT_MAX_CONTENT_LENGTH: u64 = 1024 * 1024;
/// Default [`Config::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`Config::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default [`Config::grace_period`].
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(5);

/// Limits and options of the application server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest `content-length` accepted; a bigger one is refused as soon as
    /// the header is read, before any buffer is sized for the content.
    pub max_content_length: u64,
    /// A connection with no bytes arriving (or none leaving) for this long is
    /// dropped: a half-sent request, or an idle kept-alive connection.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// After shutdown, how long in-flight connections may take to finish.
    pub grace_period: Duration,
    /// Answer requests sent back to back on one connection, in order, instead
    /// of closing after the first reply (the tutorial's behaviour).
    pub keep_alive: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_content_length: DEFAULT_MAX_CONTENT_LENGTH,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            grace_period: DEFAULT_GRACE_PERIOD,
            keep_alive: false,
        }
    }
}

/// Serves `listener` until `shutdown` is cancelled, then lets in-flight
/// connections finish within the grace period and returns.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let config = std::sync::Arc::new(config);
    accept_loop(
        listener,
        config.max_connections,
        config.grace_period,
        shutdown,
        move |stream, peer, stop| {
            let config = config.clone();
            async move { connection(stream, peer, &config, stop).await }
        },
    )
    .await
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
    #[error("no request within {0:?}")]
    NoRequest(Duration),
    #[error("the client did not take the reply within {0:?}")]
    WriteStalled(Duration),
    #[error("server shutting down: grace period over")]
    Aborted,
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

async fn connection(mut stream: TcpStream, peer: SocketAddr, config: &Config, stop: Stop) {
    let peer = PyAddr(peer);
    info!("Accepted connection from {peer}");
    if config.keep_alive {
        // Replies to pipelined requests go out as separate writes; Nagle
        // would hold the second back until the first is acknowledged.
        let _ = stream.set_nodelay(true);
    }
    match converse(&mut stream, peer, config, &stop).await {
        Ok(()) => {}
        Err(e) => warn!("Error for {peer}: {e}"),
    }
    info!("Closing connection to {peer}");
}

/// Reads requests and writes replies until the conversation is over: after
/// the first reply, or (keep-alive) when the client closes or idles.
async fn converse(
    stream: &mut TcpStream,
    peer: PyAddr,
    config: &Config,
    stop: &Stop,
) -> Result<(), ConnectionError> {
    let mut codec = MessageCodec::new(DecoderConfig {
        max_content_length: config.max_content_length,
        layout: false,
    });
    let mut buf = BytesMut::with_capacity(1024);
    let mut out = Vec::with_capacity(256);
    let mut served = 0u64;
    loop {
        // Requests already buffered are answered before reading more: this is
        // how back-to-back requests are served in order.
        while let Some(decoded) = codec.decode(&mut buf)? {
            let request = decoded.message;
            info!("Received {} from {peer}", describe(&request, "request"));
            let reply = respond(&request)?;
            out.clear();
            encode_into(&reply, &mut out)?;
            info!("Sending {} to {peer}", python_bytes_repr(&out));
            write_reply(stream, &out, config.idle_timeout, stop).await?;
            served += 1;
            if !config.keep_alive {
                // FIN after the reply, as the tutorial's close() does.
                let _ = stream.shutdown().await;
                return Ok(());
            }
        }
        let between_requests = codec.decoder().is_idle_with(buf.len());
        // A kept-alive connection waiting for its next request has nothing in
        // flight: it closes as soon as the server stops.
        let may_close_now = between_requests && served > 0;
        let read = tokio::select! {
            biased;
            _ = stop.abort.cancelled() => return Err(ConnectionError::Aborted),
            _ = stop.shutdown.cancelled(), if may_close_now => return Ok(()),
            read = tokio::time::timeout(config.idle_timeout, stream.read_buf(&mut buf)) => read,
        };
        match read {
            Err(_elapsed) if between_requests && served > 0 => {
                info!("Closing idle connection to {peer}");
                return Ok(());
            }
            Err(_elapsed) if between_requests => {
                return Err(ConnectionError::NoRequest(config.idle_timeout))
            }
            Err(_elapsed) => {
                let need = codec
                    .decoder()
                    .need_with(buf.len())
                    .expect("a failed decoder has returned its error");
                return Err(ConnectionError::Stalled {
                    timeout: config.idle_timeout,
                    need,
                });
            }
            Ok(Ok(0)) => {
                // The client closed its side: fine between requests, a
                // truncated request otherwise.
                codec.decoder().finish_with(buf.len())?;
                return Ok(());
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.into()),
        }
    }
}

async fn write_reply(
    stream: &mut TcpStream,
    bytes: &[u8],
    timeout: Duration,
    stop: &Stop,
) -> Result<(), ConnectionError> {
    tokio::select! {
        biased;
        _ = stop.abort.cancelled() => Err(ConnectionError::Aborted),
        written = tokio::time::timeout(timeout, stream.write_all(bytes)) => match written {
            Ok(result) => Ok(result?),
            Err(_) => Err(ConnectionError::WriteStalled(timeout)),
        },
    }
}
