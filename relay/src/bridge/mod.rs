//! One WebSocket session ↔ one TCP stream.
//!
//! The bridge is generic over the WebSocket's `Sink`/`Stream` of axum
//! [`Message`]s (so unit tests drive it with channels) and over the
//! target's read and write halves (`AsyncRead`/`AsyncWrite`).
//!
//! Bytes go both ways unchanged: each binary message is written to TCP as
//! is, each TCP read becomes one binary message. Browser → target has at
//! most one message in flight; target → browser queues what the target has
//! already sent (at most about two reads, [`coalesce_limit`]) and writes it
//! in one go. Each direction waits for its write before reading more, so a
//! side that stops reading stops the other side's reads (backpressure) and a
//! session never buffers more than `2 * read_chunk + max_message_size` bytes
//! of its own ([`SessionStats`] counts them).
//!
//! By job:
//! - this file: a session from connect to report ([`connect_and_bridge`], [`bridge`]);
//! - `close`: how sessions end ([`Ending`]), the close frame the browser gets
//!   (a `relay_api::CloseReason`) and the [`SessionReport`];
//! - `stats`: byte accounting, per session ([`SessionStats`]) and in total ([`HeldBytes`]);
//! - `pump`: the two directions and their reads ([`read_chunk`]);
//! - `doubles` and `tests` (tests only): a channel-backed browser, a scripted
//!   target, and the session tests that drive them.

mod close;
#[cfg(test)]
mod doubles;
mod pump;
mod stats;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::SocketAddr;

use axum::extract::ws::Message;
use futures_util::{Sink, SinkExt, Stream};
use protocol::relay_api::ConnectFailure;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::config::RelayConfig;
use crate::tap::Tap;
use close::close_client;
use pump::{drain, idle, pump_down, pump_up};

pub use close::{Ending, SessionReport};
pub use pump::{coalesce_limit, read_chunk, ws_write_buffer};
pub use stats::{HeldBytes, SessionStats};

/// What a session needs besides its sockets.
pub struct SessionContext<'a> {
    pub config: &'a RelayConfig,
    pub stats: &'a SessionStats,
    /// Cancelled when the relay shuts down.
    pub shutdown: &'a CancellationToken,
    /// Taps for (browser → target, target → browser) when `--tap` is on.
    pub taps: Option<(Tap, Tap)>,
}

/// Connects to `address` and bridges; a failed connect closes the
/// WebSocket with 1011 and the reason.
pub async fn connect_and_bridge<Tx, Rx, E>(
    ws_tx: &mut Tx,
    ws_rx: &mut Rx,
    address: SocketAddr,
    ctx: SessionContext<'_>,
) -> SessionReport
where
    Tx: Sink<Message> + Unpin + Send,
    Tx::Error: fmt::Display,
    Rx: Stream<Item = Result<Message, E>> + Unpin + Send,
    E: fmt::Display,
{
    let connect = tokio::time::timeout(ctx.config.connect_timeout, TcpStream::connect(address));
    let stream = tokio::select! {
        connected = connect => match connected {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(Ending::connect_failed(&e, address)),
            Err(_) => Err(Ending::ConnectFailed {
                failure: ConnectFailure::TimedOut,
                address,
            }),
        },
        _ = ctx.shutdown.cancelled() => Err(Ending::Shutdown),
    };
    match stream {
        Ok(mut stream) => {
            let _ = stream.set_nodelay(true);
            // Borrowed halves: dropping them is no extra shutdown(2) call;
            // the stream closes once, when the session ends.
            let (mut up_rd, mut up_wr) = stream.split();
            bridge(ws_tx, ws_rx, &mut up_rd, &mut up_wr, ctx).await
        }
        Err(ending) => {
            let sent = close_client(ws_tx, ws_rx, &ending, ctx.config.close_grace).await;
            report(ending, sent, ctx.stats)
        }
    }
}

/// Moves bytes both ways until one side ends, then closes the other side
/// as [`Ending`] describes.
pub async fn bridge<Tx, Rx, E, R, W>(
    ws_tx: &mut Tx,
    ws_rx: &mut Rx,
    up_rd: &mut R,
    up_wr: &mut W,
    ctx: SessionContext<'_>,
) -> SessionReport
where
    Tx: Sink<Message> + Unpin + Send,
    Tx::Error: fmt::Display,
    Rx: Stream<Item = Result<Message, E>> + Unpin + Send,
    E: fmt::Display,
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let SessionContext {
        config,
        stats,
        shutdown,
        taps,
    } = ctx;
    let (mut tap_up, mut tap_down) = match taps {
        Some((up, down)) => (Some(up), Some(down)),
        None => (None, None),
    };
    let stop = CancellationToken::new();
    let (down, up, watch) = tokio::join!(
        async {
            let ending = tokio::select! {
                biased;
                _ = stop.cancelled() => None,
                ending = pump_down(ws_tx, up_rd, config.read_chunk, stats, &mut tap_down) => Some(ending),
            };
            stop.cancel();
            ending
        },
        async {
            let ending = tokio::select! {
                biased;
                _ = stop.cancelled() => None,
                ending = pump_up(ws_rx, up_wr, stats, &mut tap_up) => Some(ending),
            };
            stop.cancel();
            ending
        },
        async {
            let ending = tokio::select! {
                biased;
                _ = stop.cancelled() => None,
                _ = shutdown.cancelled() => Some(Ending::Shutdown),
                _ = idle(stats, config.idle_timeout) => Some(Ending::Idle(config.idle_timeout)),
            };
            stop.cancel();
            ending
        },
    );
    let ending = down.or(up).or(watch).expect("a direction ended");
    let grace = config.close_grace;
    let close_sent = match &ending {
        Ending::ClientClosed(_) => {
            // tungstenite has queued its close reply; closing the sink sends it.
            let _ = tokio::time::timeout(grace, ws_tx.close()).await;
            // The target sees EOF like after the tutorial client's
            // shutdown(SHUT_WR); what it still sends cannot reach a closed
            // WebSocket, so it is read (and tapped) until EOF or the grace
            // period, which lets the target finish instead of getting a reset.
            let _ = tokio::time::timeout(grace, up_wr.shutdown()).await;
            let _ =
                tokio::time::timeout(grace, drain(up_rd, config.read_chunk, stats, &mut tap_down))
                    .await;
            false
        }
        Ending::ClientGone(_) => false,
        _ => close_client(ws_tx, ws_rx, &ending, grace).await,
    };
    report(ending, close_sent, stats)
}

fn report(ending: Ending, close_sent: bool, stats: &SessionStats) -> SessionReport {
    SessionReport {
        close: ending.close_frame(),
        close_sent,
        ending,
        to_upstream: stats.to_upstream(),
        to_client: stats.to_client(),
        peak_buffered: stats.peak_buffered(),
        discarded: stats.discarded(),
        duration: stats.elapsed(),
    }
}
