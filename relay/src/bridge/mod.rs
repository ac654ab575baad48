//! One WebSocket session ↔ one TCP stream.
//!
//! The bridge is generic over the WebSocket's `Sink`/`Stream` of axum
//! messages ([`ToBrowser`], [`FromBrowser`]; unit tests drive it with channels) and over the
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
//! - `browser`: the bounds the bridge takes the WebSocket's halves with
//!   ([`ToBrowser`], [`FromBrowser`]);
//! - `activity`: the idle clock restarted by bytes, also mid-message ([`activity::Touching`]);
//! - `stats`: byte accounting per session ([`SessionStats`]), each byte also
//!   counted in the relay-wide [`HeldBytes`] (`crate::budget`);
//! - `inbound`: the browser's partial messages, counted from its connection's
//!   reads ([`Inbound`]), and the relay-wide `--max-buffered-bytes`;
//! - `pump`: the two directions and their reads ([`read_chunk`]);
//! - `observed`: with `observe=1`, the connect, writes and samples that
//!   report, and the text messages interleaved with the bytes ([`Observing`]);
//! - `follow`: after the relay closes, both sockets followed through
//!   sock_diag to TIME_WAIT or gone (`--observe-close-follow`);
//! - `doubles` and `tests` (tests only): a channel-backed browser, a scripted
//!   target, and the session tests that drive them.

mod activity;
mod browser;
mod close;
#[cfg(test)]
mod doubles;
#[cfg(test)]
mod fairness_tests;
mod follow;
mod inbound;
mod observed;
mod pump;
mod stats;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use protocol::capture::{EventKind, REFUSED, TIMED_OUT};
use protocol::relay_api::{ConnectFailure, Observed};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio_util::sync::CancellationToken;

use crate::capture::CaptureSlot;
use crate::config::RelayConfig;
use crate::observe::Hub;
use crate::record::Recorder;
use crate::run::Gone;
use crate::tap::Tap;
use activity::Touching;
pub(crate) use close::close_client;
use pump::{drain, idle, pump_down, pump_up};

pub use crate::activity::Activity;
pub use crate::budget::HeldBytes;
pub use browser::{FromBrowser, ToBrowser};
pub use close::{Ending, SessionReport, HIDDEN_ADDRESS};
pub use inbound::Inbound;
pub use observed::{Observing, Probe};
pub use pump::{coalesce_limit, read_chunk, ws_write_buffer};
pub use stats::SessionStats;

/// What a session needs besides its sockets.
pub struct SessionContext<'a> {
    pub config: &'a RelayConfig,
    pub stats: &'a SessionStats,
    /// Cancelled when the relay shuts down.
    pub shutdown: &'a CancellationToken,
    /// Taps for (browser → target, target → browser) when `--tap` is on.
    pub taps: Option<(Tap, Tap)>,
    /// With `observe=1`: where the session's observations go.
    pub observing: Option<Observing<'a>>,
    /// With `--record`: the session's recording.
    pub record: Option<&'a Recorder>,
    /// The registry's hub when the target is an embedded server (which
    /// then does not count the session's connection per client address).
    pub embedded: Option<&'a Arc<Hub>>,
    /// Cancelled when the browser asks for the close out of band
    /// (`POST /ws/close`, [`crate::close_requests`]).
    pub close_request: Option<&'a CancellationToken>,
    /// For a `--run` target: the program's end, which ends the session.
    pub gone: Option<Gone>,
    /// Where the session's real capture runs, when the relay may capture.
    pub capture: Option<&'a CaptureSlot>,
}

/// How long a session whose server closed waits for the embedded server's
/// own `server_close` before it closes the WebSocket (after which nothing
/// more can be sent): the server's task reports it a moment after its FIN.
const SERVER_CLOSE_WAIT: Duration = Duration::from_millis(100);

/// Connects to `address` and bridges; a failed connect closes the
/// WebSocket with 1011 and the reason.
pub async fn connect_and_bridge<Tx, Rx>(
    ws_tx: &mut Tx,
    ws_rx: &mut Rx,
    address: SocketAddr,
    ctx: SessionContext<'_>,
) -> SessionReport
where
    Tx: ToBrowser,
    Rx: FromBrowser,
{
    let observing = ctx.observing;
    let connecting = std::time::Instant::now();
    let shown = || close::shown_address(address, ctx.config.show_addresses);
    let hub = ctx.embedded.or(observing.as_ref().and_then(|obs| obs.hub));
    let (socket, local) = bound_socket(address, hub.is_some(), ctx.capture, ctx.record.is_some());
    if let (Some(slot), Some(local)) = (ctx.capture, local) {
        if let Some(id) = slot.start(local, address) {
            if let Some(obs) = &observing {
                obs.push(Observed::Capture { id });
            }
        }
    }
    let connect = async {
        let socket = socket?;
        observed::connect(socket, local, address, observing.as_ref(), hub).await
    };
    let connect = tokio::time::timeout(ctx.config.connect_timeout, connect);
    let stream = tokio::select! {
        connected = connect => match connected {
            Ok(Ok(stream)) => Ok(stream),
            Ok(Err(e)) => Err(Ending::connect_failed(&e, shown())),
            Err(_) => Err(Ending::ConnectFailed {
                failure: ConnectFailure::TimedOut,
                address: shown(),
            }),
        },
        _ = ctx.shutdown.cancelled() => Err(Ending::Shutdown),
    };
    match stream {
        Ok((mut stream, registered)) => {
            let _ = stream.set_nodelay(true);
            if let Some(record) = ctx.record {
                let took = connecting.elapsed().as_micros() as u64;
                record.connected(stream.local_addr().ok(), address, took);
            }
            let record = ctx.record;
            let ctx = SessionContext {
                observing: observing.map(|obs| Observing {
                    probe: Probe::of(&stream),
                    ..obs
                }),
                ..ctx
            };
            if let Some(obs) = &ctx.observing {
                obs.sample();
            }
            // Borrowed halves: dropping them is no extra shutdown(2) call;
            // the stream closes once, when the session ends.
            let probe = Probe::of(&stream);
            let (mut up_rd, mut up_wr) = stream.split();
            let report = bridge_probed(ws_tx, ws_rx, &mut up_rd, &mut up_wr, ctx, probe).await;
            drop(registered);
            if let Some(record) = record {
                record.event(EventKind::Close);
            }
            report
        }
        Err(ending) => {
            let ending = program_ending(ctx.gone.as_ref(), ending).await;
            if let (Some(record), Ending::ConnectFailed { failure, .. }) = (ctx.record, &ending) {
                let note = match failure {
                    ConnectFailure::Refused => REFUSED.to_owned(),
                    ConnectFailure::TimedOut => TIMED_OUT.to_owned(),
                    ConnectFailure::HostUnreachable => "host unreachable".to_owned(),
                    ConnectFailure::NetworkUnreachable => "network unreachable".to_owned(),
                    ConnectFailure::Other(why) => why.clone(),
                };
                let took = connecting.elapsed().as_micros() as u64;
                record.connect_failed(local, address, took, note);
            }
            if let Some(obs) = &observing {
                let mut budget = crate::observe::TEXT_PER_FLUSH;
                let _ = observed::feed_observations(ws_tx, obs, &mut budget).await;
            }
            let sent = close_client(ws_tx, ws_rx, &ending, ctx.config.close_grace).await;
            report(ending, sent, ctx.stats)
        }
    }
}

/// A socket for `address`, bound first (to the target's loopback address,
/// else to any) when the hub must know its address before the embedded
/// server's `accept()`, a capture must filter on its port before the SYN,
/// or a recording must name it even if the connect fails; then with that
/// address.
fn bound_socket(
    address: SocketAddr,
    hub: bool,
    capture: Option<&CaptureSlot>,
    recorded: bool,
) -> (std::io::Result<TcpSocket>, Option<SocketAddr>) {
    let socket = match address {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    };
    let capture = capture.is_some_and(CaptureSlot::wanted);
    let Ok(bound) = &socket else {
        return (socket, None);
    };
    if !hub && !capture && !recorded {
        return (socket, None);
    }
    // Embedded servers listen on loopback: their own address is the
    // source address the kernel would pick anyway.
    let ip = match address.ip() {
        ip if ip.is_loopback() => ip,
        IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    if let Err(e) = bound.bind(SocketAddr::new(ip, 0)) {
        return (Err(e), None);
    }
    let local = bound.local_addr().ok();
    (socket, local)
}

/// Moves bytes both ways until one side ends, then closes the other side
/// as [`Ending`] describes.
pub async fn bridge<Tx, Rx, R, W>(
    ws_tx: &mut Tx,
    ws_rx: &mut Rx,
    up_rd: &mut R,
    up_wr: &mut W,
    ctx: SessionContext<'_>,
) -> SessionReport
where
    Tx: ToBrowser,
    Rx: FromBrowser,
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    bridge_probed(ws_tx, ws_rx, up_rd, up_wr, ctx, Probe::default()).await
}

/// [`bridge`], with the target's socket to look at when deciding idleness.
async fn bridge_probed<Tx, Rx, R, W>(
    ws_tx: &mut Tx,
    ws_rx: &mut Rx,
    up_rd: &mut R,
    up_wr: &mut W,
    ctx: SessionContext<'_>,
    probe: Probe,
) -> SessionReport
where
    Tx: ToBrowser,
    Rx: FromBrowser,
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let SessionContext {
        config,
        stats,
        shutdown,
        taps,
        observing,
        record,
        embedded: _,
        close_request,
        gone,
        capture: _,
    } = ctx;
    let (mut tap_up, mut tap_down) = match taps {
        Some((up, down)) => (Some(up), Some(down)),
        None => (None, None),
    };
    let stop = CancellationToken::new();
    // Bytes moving mid-message restart the idle clock (`activity`).
    let mut ws_tx_touching = Touching::new(ws_tx, stats);
    let mut ws_rx_touching = Touching::new(ws_rx, stats);
    let (down, up, watch) = tokio::join!(
        async {
            let ending = tokio::select! {
                biased;
                _ = stop.cancelled() => None,
                ending = pump_down(&mut ws_tx_touching, up_rd, config.read_chunk, stats, &mut tap_down, observing, record) => Some(ending),
            };
            stop.cancel();
            ending
        },
        async {
            let ending = tokio::select! {
                biased;
                _ = stop.cancelled() => None,
                ending = pump_up(&mut ws_rx_touching, up_wr, stats, &mut tap_up, observing, record) => Some(ending),
            };
            stop.cancel();
            ending
        },
        async {
            let ending = tokio::select! {
                biased;
                _ = stop.cancelled() => None,
                _ = shutdown.cancelled() => Some(Ending::Shutdown),
                () = requested(close_request) => Some(Ending::Requested),
                _ = stats.over_budget() => Some(Ending::OverBudget),
                _ = idle(stats, config.idle_timeout, probe) => Some(Ending::Idle(config.idle_timeout)),
                exit = program_gone(gone.as_ref()) => Some(Ending::ProgramExited(exit)),
                // Sampling ends no session; it stops with the others.
                () = sample(&observing) => None,
            };
            stop.cancel();
            ending
        },
    );
    drop((ws_tx_touching, ws_rx_touching));
    let ending = down.or(up).or(watch).expect("a direction ended");
    let ending = program_ending(gone.as_ref(), ending).await;
    let grace = config.close_grace;
    let close_sent = match &ending {
        Ending::ClientClosed(_) => {
            // tungstenite has queued its close reply; closing the sink sends it.
            let _ = tokio::time::timeout(grace, ws_tx.close()).await;
            // The target sees EOF like after the tutorial client's
            // shutdown(SHUT_WR); what it still sends cannot reach a closed
            // WebSocket, so it is read (and tapped) until EOF or the grace
            // period, which lets the target finish instead of getting a reset.
            if let Ok(Ok(())) = tokio::time::timeout(grace, up_wr.shutdown()).await {
                if let Some(record) = record {
                    record.event(EventKind::ShutdownWrite);
                }
            }
            let draining = drain(up_rd, config.read_chunk, stats, &mut tap_down, record);
            let _ = tokio::time::timeout(grace, draining).await;
            // The browser cannot read any more (it closed), but the
            // recording can: the states the relay's close leads to.
            if let (Some(obs), Some(_)) = (&observing, record) {
                follow_closing(obs, config, shutdown, None::<&mut Tx>).await;
            }
            false
        }
        Ending::ClientGone(_) => false,
        _ => {
            if let Some(obs) = &observing {
                last_observations(ws_tx, obs, &ending, up_wr, config, shutdown).await;
            }
            close_client(ws_tx, ws_rx, &ending, grace).await
        }
    };
    report(ending, close_sent, stats)
}

/// Resolves when the browser asks for the close (never without a key).
async fn requested(token: Option<&CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}

/// Samples the relay's socket every `--observe-sample`, for ever (or never
/// without observation).
async fn sample(observing: &Option<Observing<'_>>) {
    match observing {
        Some(obs) => obs.sample_forever().await,
        None => std::future::pending().await,
    }
}

/// [`follow::closing`] for `--observe-close-follow`, cut short if the relay
/// shuts down; each state goes out on `ws_tx` as it is seen, if given.
async fn follow_closing<Tx>(
    obs: &Observing<'_>,
    config: &RelayConfig,
    shutdown: &CancellationToken,
    ws_tx: Option<&mut Tx>,
) where
    Tx: ToBrowser,
{
    tokio::select! {
        () = follow::closing(obs, config.observe_close_follow, ws_tx) => {}
        () = shutdown.cancelled() => {}
    }
}

/// Resolves when the target's program ends (never for other targets).
async fn program_gone(gone: Option<&Gone>) -> protocol::relay_api::ProgramExit {
    match gone {
        Some(gone) => gone.wait().await,
        None => std::future::pending().await,
    }
}

/// A `--run` target's connection that closed, reset or failed because its
/// program ended says so: the exit comes with (or a moment after) the close.
async fn program_ending(gone: Option<&Gone>, ending: Ending) -> Ending {
    let Some(gone) = gone else { return ending };
    match ending {
        Ending::UpstreamClosed
        | Ending::UpstreamReset
        | Ending::UpstreamBroken
        | Ending::UpstreamError(_)
        | Ending::ConnectFailed { .. } => match gone.within(SERVER_CLOSE_WAIT).await {
            Some(exit) => Ending::ProgramExited(exit),
            None => ending,
        },
        other => other,
    }
}

/// What the browser learns before the close frame: after the server closed,
/// its `server_close` (waited for briefly), then the relay's own `close`
/// and, with `--observe-close-follow`, the states both sockets go through
/// after it: the relay closes its side (its FIN) here, before the close
/// frame, so that the browser still listens while they happen.
async fn last_observations<Tx, W>(
    ws_tx: &mut Tx,
    obs: &Observing<'_>,
    ending: &Ending,
    up_wr: &mut W,
    config: &RelayConfig,
    shutdown: &CancellationToken,
) where
    Tx: ToBrowser,
    W: AsyncWrite + Unpin + Send,
{
    if obs.hub.is_some() && matches!(ending, Ending::UpstreamClosed) {
        obs.observer.server_closed_within(SERVER_CLOSE_WAIT).await;
    }
    obs.sample();
    let follow = !config.observe_close_follow.is_zero() && !matches!(ending, Ending::Shutdown);
    if follow {
        let _ = tokio::time::timeout(config.close_grace, up_wr.shutdown()).await;
    }
    obs.push(Observed::Close);
    if follow {
        follow_closing(obs, config, shutdown, Some(&mut *ws_tx)).await;
    }
    let mut budget = crate::observe::TEXT_PER_FLUSH;
    let _ = observed::feed_observations(ws_tx, obs, &mut budget).await;
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
