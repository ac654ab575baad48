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
//! of its own ([`SessionStats`] counts them). Reads from TCP go through a
//! per-thread scratch buffer ([`read_chunk`]), so an idle session holds no
//! read buffer.
//!
//! How sessions end, and the close frame the browser gets, is [`Ending`].

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message};
use bytes::Bytes;
use futures_util::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::config::RelayConfig;
use crate::metrics::Metrics;
use crate::tap::Tap;

/// Close codes the relay sends (RFC 6455 §7.4.1).
pub mod code {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const UNSUPPORTED_DATA: u16 = 1003;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const INTERNAL_ERROR: u16 = 1011;
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The target closed its side (EOF) after everything it sent was delivered.
    UpstreamClosed,
    /// The target reset the connection.
    UpstreamReset,
    /// Connecting to the target failed (`"connection refused: 127.0.0.1:65432"`).
    ConnectFailed(String),
    /// Another read or write error on the TCP side.
    UpstreamError(String),
    /// The browser sent a close frame (its code and reason).
    ClientClosed(Option<(u16, String)>),
    /// The browser's connection ended without a close handshake.
    ClientGone(String),
    /// The browser sent a text message: refused (see the README, "The relay").
    TextRefused,
    /// The browser sent a message above `--max-message-size`.
    TooBig(String),
    /// The browser broke the WebSocket protocol.
    ClientProtocol(String),
    /// The browser sent data after its half-close (an empty message).
    DataAfterHalfClose,
    /// Nothing moved either way for `--idle-timeout`.
    Idle(Duration),
    /// The relay is shutting down.
    Shutdown,
}

impl Ending {
    /// The close frame the relay sends for this ending, if it sends one.
    pub fn close_frame(&self) -> Option<(u16, String)> {
        let (code, reason) = match self {
            Ending::UpstreamClosed => (code::NORMAL, "upstream closed".to_owned()),
            Ending::UpstreamReset => (code::INTERNAL_ERROR, "connection reset".to_owned()),
            Ending::ConnectFailed(reason) | Ending::UpstreamError(reason) => {
                (code::INTERNAL_ERROR, reason.clone())
            }
            Ending::TextRefused => (
                code::UNSUPPORTED_DATA,
                "text messages are not accepted: send binary".to_owned(),
            ),
            Ending::TooBig(reason) => (code::TOO_BIG, reason.clone()),
            Ending::ClientProtocol(reason) => (code::PROTOCOL_ERROR, reason.clone()),
            Ending::DataAfterHalfClose => (
                code::POLICY,
                "data after half-close (empty message)".to_owned(),
            ),
            Ending::Idle(after) => (
                code::POLICY,
                format!("idle timeout: no traffic for {}", DurationText(*after)),
            ),
            Ending::Shutdown => (code::GOING_AWAY, "relay shutting down".to_owned()),
            Ending::ClientClosed(_) | Ending::ClientGone(_) => return None,
        };
        Some((code, truncate_reason(reason)))
    }

    /// One line for the session log.
    pub fn describe(&self) -> String {
        match self {
            Ending::ClientClosed(Some((code, reason))) => {
                format!("browser closed with {code} {reason:?}")
            }
            Ending::ClientClosed(None) => "browser closed".to_owned(),
            Ending::ClientGone(why) => format!("browser gone: {why}"),
            other => {
                let (code, reason) = other.close_frame().expect("relay-side ending");
                format!("closed with {code} {reason:?}")
            }
        }
    }

    fn upstream_io(e: &io::Error) -> Ending {
        match e.kind() {
            io::ErrorKind::ConnectionReset => Ending::UpstreamReset,
            io::ErrorKind::BrokenPipe => Ending::UpstreamError("connection broken".to_owned()),
            _ => Ending::UpstreamError(format!("upstream error: {e}")),
        }
    }

    fn client_error(e: impl fmt::Display) -> Ending {
        let text = e.to_string();
        // axum hides tungstenite's error type; its capacity error reads
        // "Space limit exceeded: Message too long: 2000000 > 1048576".
        if text.contains("Message too long") || text.contains("Space limit exceeded") {
            Ending::TooBig(text.replace("Space limit exceeded: ", ""))
        } else if text.contains("Connection reset") || text.contains("closing handshake") {
            Ending::ClientGone(text)
        } else {
            Ending::ClientProtocol(format!("protocol error: {text}"))
        }
    }
}

/// Close reasons must fit a control frame: 123 bytes of UTF-8.
fn truncate_reason(mut reason: String) -> String {
    const MAX: usize = 123;
    if reason.len() > MAX {
        let mut end = MAX;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    reason
}

struct DurationText(Duration);

impl fmt::Display for DurationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_millis() == 0 {
            write!(f, "{}s", d.as_secs())
        } else {
            write!(f, "{}ms", d.as_millis())
        }
    }
}

/// The reason a browser sees when the target cannot be reached.
pub fn connect_error_reason(e: &io::Error, address: SocketAddr) -> String {
    let what = match e.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::TimedOut => "connection timed out".to_owned(),
        io::ErrorKind::HostUnreachable => "host unreachable".to_owned(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".to_owned(),
        _ => format!("cannot connect ({e})"),
    };
    format!("{what}: {address}")
}

/// Counters of one session, readable while it runs.
#[derive(Debug)]
pub struct SessionStats {
    metrics: Arc<Metrics>,
    started: Instant,
    to_upstream: AtomicU64,
    to_client: AtomicU64,
    /// Bytes the relay holds for this session: taken from one side and not
    /// yet written to the other.
    buffered: AtomicUsize,
    peak_buffered: AtomicUsize,
    /// Target bytes read after the browser closed (they cannot be delivered).
    discarded: AtomicU64,
    /// Milliseconds since `started` of the last byte moved.
    last_activity_ms: AtomicU64,
}

impl SessionStats {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        SessionStats {
            metrics,
            started: Instant::now(),
            to_upstream: AtomicU64::new(0),
            to_client: AtomicU64::new(0),
            buffered: AtomicUsize::new(0),
            peak_buffered: AtomicUsize::new(0),
            discarded: AtomicU64::new(0),
            last_activity_ms: AtomicU64::new(0),
        }
    }

    pub fn to_upstream(&self) -> u64 {
        self.to_upstream.load(Ordering::Relaxed)
    }
    pub fn to_client(&self) -> u64 {
        self.to_client.load(Ordering::Relaxed)
    }
    pub fn buffered(&self) -> usize {
        self.buffered.load(Ordering::Relaxed)
    }
    pub fn peak_buffered(&self) -> usize {
        self.peak_buffered.load(Ordering::Relaxed)
    }
    pub fn discarded(&self) -> u64 {
        self.discarded.load(Ordering::Relaxed)
    }
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    fn touch(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last_activity_ms.store(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_activity_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }

    /// Counts `n` bytes as held until the guard drops (also when a pending
    /// write is abandoned because the session ends).
    fn hold(&self, n: usize) -> Held<'_> {
        let mut held = Held { stats: self, n: 0 };
        held.grow(n);
        held
    }
}

struct Held<'a> {
    stats: &'a SessionStats,
    n: usize,
}

impl Held<'_> {
    fn grow(&mut self, n: usize) {
        let now = self.stats.buffered.fetch_add(n, Ordering::Relaxed) + n;
        self.stats.peak_buffered.fetch_max(now, Ordering::Relaxed);
        self.stats.metrics.hold(n);
        self.n += n;
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.stats.buffered.fetch_sub(self.n, Ordering::Relaxed);
        self.stats.metrics.release(self.n);
    }
}

thread_local! {
    /// Where TCP reads land before they are copied out at their exact size.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Waits for bytes from the target and returns at most `max` of them
/// (empty at EOF).
///
/// The read goes into a per-thread scratch buffer that is borrowed only
/// during one poll (a pending read fills nothing), so an idle session holds
/// no read buffer at all: that is most of what keeps idle sessions small.
pub async fn read_chunk<R: AsyncRead + Unpin>(reader: &mut R, max: usize) -> io::Result<Bytes> {
    std::future::poll_fn(|cx| {
        SCRATCH.with_borrow_mut(|scratch| {
            if scratch.len() < max {
                scratch.resize(max, 0);
            }
            let mut buf = ReadBuf::new(&mut scratch[..max]);
            match Pin::new(&mut *reader).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(Bytes::copy_from_slice(buf.filled()))),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    })
    .await
}

/// How a session went, for the session log and tests.
#[derive(Debug, Clone)]
pub struct SessionReport {
    pub ending: Ending,
    /// The close frame the relay chose for the browser, if any.
    pub close: Option<(u16, String)>,
    /// Whether that close frame was written out (a browser that stopped
    /// reading never gets it: the connection is dropped after the grace period).
    pub close_sent: bool,
    pub to_upstream: u64,
    pub to_client: u64,
    pub peak_buffered: usize,
    pub discarded: u64,
    pub duration: Duration,
}

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
            Ok(Err(e)) => Err(Ending::ConnectFailed(connect_error_reason(&e, address))),
            Err(_) => Err(Ending::ConnectFailed(format!("connection timed out: {address}"))),
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

/// Target → browser: one TCP read, one binary message.
///
/// Messages whose bytes are already there when the previous one is queued
/// go out in the same socket write, up to [`coalesce_limit`] bytes: the reply
/// and the target's EOF usually arrive together, and then the last message
/// and the close frame (queued by [`close_client`]) share one write and one
/// TCP segment. A read that would wait flushes first, so nothing already
/// read waits for more.
async fn pump_down<Tx, R>(
    ws_tx: &mut Tx,
    up_rd: &mut R,
    chunk: usize,
    stats: &SessionStats,
    tap: &mut Option<Tap>,
) -> Ending
where
    Tx: Sink<Message> + Unpin + Send,
    Tx::Error: fmt::Display,
    R: AsyncRead + Unpin + Send,
{
    loop {
        let first = read_chunk(up_rd, chunk).await;
        let mut held = stats.hold(0);
        let mut queued = 0usize;
        let mut read = Some(first);
        while let Some(result) = read.take() {
            let bytes = match result {
                Ok(bytes) if !bytes.is_empty() => bytes,
                // What is queued stays unflushed on purpose: the close
                // frame's write ([`close_client`]) takes it along.
                end => {
                    stats.to_client.fetch_add(held.n as u64, Ordering::Relaxed);
                    return match end {
                        Err(e) => Ending::upstream_io(&e),
                        Ok(_) => Ending::UpstreamClosed,
                    };
                }
            };
            let n = bytes.len();
            held.grow(n);
            stats.touch();
            if let Some(tap) = tap {
                tap.observe(&bytes);
            }
            if let Err(e) = ws_tx.feed(Message::Binary(bytes)).await {
                return Ending::ClientGone(format!("send failed: {e}"));
            }
            queued += frame_len(n);
            if queued < coalesce_limit(chunk) {
                read = read_chunk(up_rd, chunk).now_or_never();
            }
        }
        // Returns once everything queued is written out, which is what
        // makes a browser that stops reading stop our TCP reads.
        if let Err(e) = ws_tx.flush().await {
            return Ending::ClientGone(format!("send failed: {e}"));
        }
        stats.to_client.fetch_add(held.n as u64, Ordering::Relaxed);
        drop(held);
        stats.touch();
    }
}

/// Bytes of queued frames after which [`pump_down`] stops reading and
/// flushes: one more read may add a full `chunk`, so what waits in the
/// WebSocket's write buffer stays under `2 * chunk` plus frame headers
/// ([`ws_write_buffer`]).
pub fn coalesce_limit(chunk: usize) -> usize {
    chunk
}

/// The WebSocket write buffer a session needs: what [`pump_down`] queues
/// before a flush, plus a close frame.
pub fn ws_write_buffer(chunk: usize) -> usize {
    coalesce_limit(chunk) + frame_len(chunk) + frame_len(125)
}

/// Size of an unmasked (server → browser) frame carrying `payload` bytes.
fn frame_len(payload: usize) -> usize {
    let header = match payload {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    };
    header + payload
}

/// Browser → target: one binary message, one TCP write.
async fn pump_up<Rx, E, W>(
    ws_rx: &mut Rx,
    up_wr: &mut W,
    stats: &SessionStats,
    tap: &mut Option<Tap>,
) -> Ending
where
    Rx: Stream<Item = Result<Message, E>> + Unpin + Send,
    E: fmt::Display,
    W: AsyncWrite + Unpin + Send,
{
    let mut half_closed = false;
    loop {
        let message = match ws_rx.next().await {
            None => return Ending::ClientGone("connection closed without a close frame".into()),
            Some(Err(e)) => return Ending::client_error(e),
            Some(Ok(message)) => message,
        };
        match message {
            // An empty message is the browser's shutdown(SHUT_WR): a zero-byte
            // TCP write means nothing, so the empty message is free to mean "done sending".
            Message::Binary(bytes) if bytes.is_empty() => {
                if !half_closed {
                    half_closed = true;
                    stats.touch();
                    if let Err(e) = up_wr.shutdown().await {
                        return Ending::upstream_io(&e);
                    }
                }
            }
            Message::Binary(_) if half_closed => return Ending::DataAfterHalfClose,
            Message::Binary(bytes) => {
                let n = bytes.len();
                let held = stats.hold(n);
                stats.touch();
                if let Some(tap) = tap {
                    tap.observe(&bytes);
                }
                if let Err(e) = up_wr.write_all(&bytes).await {
                    return Ending::upstream_io(&e);
                }
                drop(held);
                stats.to_upstream.fetch_add(n as u64, Ordering::Relaxed);
                stats.touch();
            }
            Message::Text(_) => return Ending::TextRefused,
            Message::Close(frame) => {
                return Ending::ClientClosed(frame.map(|f| (f.code, f.reason.to_string())))
            }
            // tungstenite answers pings itself.
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
}

/// Resolves once nothing has moved for `timeout`.
async fn idle(stats: &SessionStats, timeout: Duration) {
    loop {
        let quiet = stats.quiet_for();
        if quiet >= timeout {
            return;
        }
        tokio::time::sleep(timeout - quiet).await;
    }
}

/// Reads the target until EOF or error, counting what cannot be delivered.
async fn drain<R: AsyncRead + Unpin + Send>(
    up_rd: &mut R,
    chunk: usize,
    stats: &SessionStats,
    tap: &mut Option<Tap>,
) {
    while let Ok(bytes) = read_chunk(up_rd, chunk).await {
        if bytes.is_empty() {
            break;
        }
        if let Some(tap) = tap {
            tap.observe(&bytes);
        }
        stats
            .discarded
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
}

/// Sends the close frame for `ending`, then waits (up to `grace`) for the
/// browser's reply. True if the frame was written out.
async fn close_client<Tx, Rx, E>(
    ws_tx: &mut Tx,
    ws_rx: &mut Rx,
    ending: &Ending,
    grace: Duration,
) -> bool
where
    Tx: Sink<Message> + Unpin + Send,
    Rx: Stream<Item = Result<Message, E>> + Unpin + Send,
{
    let Some((code, reason)) = ending.close_frame() else {
        return false;
    };
    let frame = CloseFrame {
        code,
        reason: reason.as_str().into(),
    };
    let sent = tokio::time::timeout(grace, ws_tx.send(Message::Close(Some(frame)))).await;
    if !matches!(sent, Ok(Ok(()))) {
        return false;
    }
    // Wait for the close reply so the browser sees a clean close, not a reset.
    let _ = tokio::time::timeout(grace, async {
        while let Some(Ok(message)) = ws_rx.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
    true
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use futures_channel::mpsc;
    use tokio::io::{duplex, AsyncReadExt, DuplexStream, ReadHalf, WriteHalf};

    use super::*;

    /// The browser's ends of a channel-backed WebSocket, and the target's end of a duplex pipe.
    struct Harness {
        to_relay: mpsc::Sender<Result<Message, String>>,
        from_relay: mpsc::Receiver<Message>,
        target: DuplexStream,
    }

    type WsTx =
        futures_util::sink::SinkMapErr<mpsc::Sender<Message>, fn(mpsc::SendError) -> String>;

    struct RelaySide {
        ws_tx: WsTx,
        ws_rx: mpsc::Receiver<Result<Message, String>>,
        up_rd: ReadHalf<DuplexStream>,
        up_wr: WriteHalf<DuplexStream>,
    }

    /// `capacity` bounds the browser's channel (its unread messages) and the pipe.
    fn harness(capacity: usize, pipe: usize) -> (Harness, RelaySide) {
        let (to_relay, ws_rx) = mpsc::channel(capacity);
        let (ws_tx, from_relay) = mpsc::channel(capacity);
        let (relay_end, target) = duplex(pipe);
        let (rd, wr) = tokio::io::split(relay_end);
        let to_string: fn(mpsc::SendError) -> String = |e| e.to_string();
        (
            Harness {
                to_relay,
                from_relay,
                target,
            },
            RelaySide {
                ws_tx: ws_tx.sink_map_err(to_string),
                ws_rx,
                up_rd: rd,
                up_wr: wr,
            },
        )
    }

    fn config() -> RelayConfig {
        RelayConfig {
            read_chunk: 1024,
            idle_timeout: Duration::from_secs(30),
            close_grace: Duration::from_millis(500),
            ..RelayConfig::default()
        }
    }

    async fn run(
        mut side: RelaySide,
        config: RelayConfig,
        stats: Arc<SessionStats>,
        shutdown: CancellationToken,
    ) -> SessionReport {
        bridge(
            &mut side.ws_tx,
            &mut side.ws_rx,
            &mut side.up_rd,
            &mut side.up_wr,
            SessionContext {
                config: &config,
                stats: &stats,
                shutdown: &shutdown,
                taps: None,
            },
        )
        .await
    }

    fn stats() -> Arc<SessionStats> {
        Arc::new(SessionStats::new(Arc::new(Metrics::default())))
    }

    async fn within<T>(f: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(10), f)
            .await
            .expect("hang guard")
    }

    #[tokio::test]
    async fn bytes_cross_unchanged_and_target_eof_closes_with_1000() {
        let (mut h, side) = harness(8, 4096);
        let session = tokio::spawn(run(side, config(), stats(), CancellationToken::new()));
        h.to_relay
            .send(Ok(Message::Binary(Bytes::from_static(b"\x00\x01"))))
            .await
            .unwrap();
        h.to_relay
            .send(Ok(Message::Binary(Bytes::from_static(b"{}"))))
            .await
            .unwrap();
        let mut got = [0u8; 4];
        within(h.target.read_exact(&mut got)).await.unwrap();
        assert_eq!(&got, b"\x00\x01{}");

        h.target.write_all(b"reply").await.unwrap();
        let first = within(h.from_relay.next()).await.unwrap();
        assert_eq!(first, Message::Binary(Bytes::from_static(b"reply")));
        drop(h.target);
        let close = within(h.from_relay.next()).await.unwrap();
        assert_eq!(
            close,
            Message::Close(Some(CloseFrame {
                code: 1000,
                reason: "upstream closed".into()
            }))
        );
        h.to_relay.send(Ok(Message::Close(None))).await.unwrap();
        let report = within(session).await.unwrap();
        assert_eq!(report.ending, Ending::UpstreamClosed);
        assert_eq!((report.to_upstream, report.to_client), (4, 5));
    }

    #[tokio::test]
    async fn a_text_message_is_refused_with_1003() {
        let (mut h, side) = harness(8, 4096);
        let session = tokio::spawn(run(side, config(), stats(), CancellationToken::new()));
        h.to_relay
            .send(Ok(Message::Text("hello".into())))
            .await
            .unwrap();
        let close = within(h.from_relay.next()).await.unwrap();
        let Message::Close(Some(frame)) = close else {
            panic!("{close:?}")
        };
        assert_eq!(frame.code, 1003);
        assert_eq!(
            frame.reason.as_str(),
            "text messages are not accepted: send binary"
        );
        drop(h.to_relay);
        let report = within(session).await.unwrap();
        assert_eq!(report.ending, Ending::TextRefused);
        // Nothing reached the target.
        let mut buf = [0u8; 8];
        assert_eq!(within(h.target.read(&mut buf)).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn an_empty_message_shuts_down_the_target_write_half_and_the_reply_still_arrives() {
        let (mut h, side) = harness(8, 4096);
        let session = tokio::spawn(run(side, config(), stats(), CancellationToken::new()));
        h.to_relay
            .send(Ok(Message::Binary(Bytes::from_static(b"request"))))
            .await
            .unwrap();
        h.to_relay
            .send(Ok(Message::Binary(Bytes::new())))
            .await
            .unwrap();
        let mut request = Vec::new();
        within(h.target.read_to_end(&mut request)).await.unwrap();
        assert_eq!(request, b"request");
        h.target.write_all(b"the reply").await.unwrap();
        h.target.shutdown().await.unwrap();
        assert_eq!(
            within(h.from_relay.next()).await.unwrap(),
            Message::Binary(Bytes::from_static(b"the reply"))
        );
        let Message::Close(Some(frame)) = within(h.from_relay.next()).await.unwrap() else {
            panic!()
        };
        assert_eq!(frame.code, 1000);
        drop(h.to_relay);
        assert_eq!(
            within(session).await.unwrap().ending,
            Ending::UpstreamClosed
        );
    }

    #[tokio::test]
    async fn a_browser_that_stops_reading_stops_the_target_reads() {
        // The browser's channel holds 1 message; nobody reads it.
        let (h, side) = harness(1, 64 * 1024);
        let stats = stats();
        let config = RelayConfig {
            idle_timeout: Duration::from_millis(300),
            ..config()
        };
        let session = tokio::spawn(run(
            side,
            config.clone(),
            stats.clone(),
            CancellationToken::new(),
        ));
        let mut target = h.target;
        // The target offers 8 MiB; writes block once the relay stops reading.
        let writer = tokio::spawn(async move {
            let block = vec![7u8; 64 * 1024];
            let mut written = 0usize;
            for _ in 0..128 {
                if target.write_all(&block).await.is_err() {
                    break;
                }
                written += block.len();
            }
            written
        });
        let report = within(session).await.unwrap();
        assert_eq!(report.ending, Ending::Idle(config.idle_timeout));
        assert!(report.peak_buffered <= config.read_chunk, "{report:?}");
        // A couple of messages in the channel: the rest waits in the target.
        assert!(
            report.to_client <= 3 * config.read_chunk as u64,
            "{report:?}"
        );
        let written = within(writer).await.unwrap();
        assert!(
            written < 8 * 1024 * 1024,
            "the target could write everything: {written}"
        );
        assert_eq!(
            stats.buffered(),
            0,
            "held bytes are released when the session ends"
        );
        drop(h.from_relay);
    }

    #[tokio::test]
    async fn shutdown_closes_with_1001() {
        let (mut h, side) = harness(8, 4096);
        let shutdown = CancellationToken::new();
        let session = tokio::spawn(run(side, config(), stats(), shutdown.clone()));
        shutdown.cancel();
        let Message::Close(Some(frame)) = within(h.from_relay.next()).await.unwrap() else {
            panic!()
        };
        assert_eq!(
            (frame.code, frame.reason.as_str()),
            (1001, "relay shutting down")
        );
        h.to_relay.send(Ok(Message::Close(None))).await.unwrap();
        assert_eq!(within(session).await.unwrap().ending, Ending::Shutdown);
    }

    #[tokio::test]
    async fn a_browser_close_gives_the_target_eof_and_replies_to_the_close() {
        let (mut h, side) = harness(8, 4096);
        let session = tokio::spawn(run(side, config(), stats(), CancellationToken::new()));
        h.to_relay
            .send(Ok(Message::Binary(Bytes::from_static(b"bye"))))
            .await
            .unwrap();
        h.to_relay
            .send(Ok(Message::Close(Some(CloseFrame {
                code: 1000,
                reason: "done".into(),
            }))))
            .await
            .unwrap();
        let mut request = Vec::new();
        within(h.target.read_to_end(&mut request)).await.unwrap();
        assert_eq!(request, b"bye");
        h.target.write_all(b"late").await.unwrap();
        drop(h.target);
        let report = within(session).await.unwrap();
        assert_eq!(
            report.ending,
            Ending::ClientClosed(Some((1000, "done".into())))
        );
        assert_eq!(report.discarded, 4);
    }

    /// A browser socket whose writes are visible: each message queued, and
    /// each flush (one socket write), in order.
    #[derive(Clone, Default)]
    struct Wire(Arc<std::sync::Mutex<Vec<Option<Message>>>>);

    impl Wire {
        /// The messages of each write.
        fn writes(&self) -> Vec<Vec<Message>> {
            let events = self.0.lock().unwrap();
            events
                .split(Option::is_none)
                .filter(|write| !write.is_empty())
                .map(|write| write.iter().flatten().cloned().collect())
                .collect()
        }
    }

    impl Sink<Message> for Wire {
        type Error = String;
        fn poll_ready(
            self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Result<(), String>> {
            Poll::Ready(Ok(()))
        }
        fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), String> {
            self.0.lock().unwrap().push(Some(message));
            Ok(())
        }
        fn poll_flush(
            self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Result<(), String>> {
            self.0.lock().unwrap().push(None);
            Poll::Ready(Ok(()))
        }
        fn poll_close(
            self: Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> Poll<Result<(), String>> {
            self.poll_flush(cx)
        }
    }

    /// A target that sends `pieces`, each as one read, then EOF.
    struct Script(std::collections::VecDeque<Vec<u8>>);

    impl AsyncRead for Script {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            if let Some(piece) = self.0.pop_front() {
                buf.put_slice(&piece);
            }
            Poll::Ready(Ok(()))
        }
    }

    /// Runs a session whose target sends `pieces` and closes; the browser
    /// sends nothing and never answers the close.
    async fn writes_for(pieces: Vec<Vec<u8>>, config: RelayConfig) -> Vec<Vec<Message>> {
        let wire = Wire::default();
        let mut ws_tx = wire.clone();
        let mut ws_rx = futures_util::stream::pending::<Result<Message, String>>();
        let mut target = Script(pieces.into());
        let stats = stats();
        let report = within(bridge(
            &mut ws_tx,
            &mut ws_rx,
            &mut target,
            &mut tokio::io::sink(),
            SessionContext {
                config: &config,
                stats: &stats,
                shutdown: &CancellationToken::new(),
                taps: None,
            },
        ))
        .await;
        assert_eq!(report.ending, Ending::UpstreamClosed);
        wire.writes()
    }

    fn close_1000() -> Message {
        Message::Close(Some(CloseFrame {
            code: 1000,
            reason: "upstream closed".into(),
        }))
    }

    fn quick_close() -> RelayConfig {
        RelayConfig {
            close_grace: Duration::from_millis(20),
            ..config()
        }
    }

    #[tokio::test]
    async fn a_reply_and_the_targets_eof_that_arrive_together_share_one_write_with_the_close_frame()
    {
        let writes = writes_for(vec![b"the reply".to_vec()], quick_close()).await;
        assert_eq!(
            writes,
            vec![vec![
                Message::Binary(Bytes::from_static(b"the reply")),
                close_1000()
            ]]
        );
    }

    #[tokio::test]
    async fn bytes_already_read_are_written_before_waiting_for_more() {
        let (mut h, side) = harness(8, 4096);
        let wire = Wire::default();
        let RelaySide {
            mut ws_rx,
            mut up_rd,
            mut up_wr,
            ..
        } = side;
        let mut ws_tx = wire.clone();
        let config = quick_close();
        let stats = stats();
        let shutdown = CancellationToken::new();
        let session = bridge(
            &mut ws_tx,
            &mut ws_rx,
            &mut up_rd,
            &mut up_wr,
            SessionContext {
                config: &config,
                stats: &stats,
                shutdown: &shutdown,
                taps: None,
            },
        );
        let target = async {
            h.target.write_all(b"first").await.unwrap();
            // The target keeps its connection open: "first" must still go out.
            while wire.writes().is_empty() {
                tokio::task::yield_now().await;
            }
            h.target.write_all(b"second").await.unwrap();
            drop(h.target);
        };
        let (report, ()) = within(async { tokio::join!(session, target) }).await;
        drop(h.to_relay);
        assert_eq!(report.ending, Ending::UpstreamClosed);
        assert_eq!(
            wire.writes(),
            vec![
                vec![Message::Binary(Bytes::from_static(b"first"))],
                vec![Message::Binary(Bytes::from_static(b"second")), close_1000()],
            ]
        );
    }

    #[tokio::test]
    async fn a_burst_of_reads_is_written_in_bounded_writes_one_message_per_read() {
        let config = quick_close();
        let pieces: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 100]).collect();
        let writes = writes_for(pieces.clone(), config.clone()).await;
        assert!(
            writes.len() > 1 && writes.len() < pieces.len(),
            "{}",
            writes.len()
        );
        let mut messages = Vec::new();
        for write in &writes {
            let framed: usize = write
                .iter()
                .map(|m| match m {
                    Message::Binary(b) => frame_len(b.len()),
                    _ => frame_len(125),
                })
                .sum();
            assert!(framed <= ws_write_buffer(config.read_chunk), "{framed}");
            messages.extend(write.iter().cloned());
        }
        assert_eq!(messages.pop(), Some(close_1000()));
        let expected: Vec<Message> = pieces
            .into_iter()
            .map(|p| Message::Binary(Bytes::from(p)))
            .collect();
        assert_eq!(messages, expected);
    }

    #[tokio::test]
    async fn read_chunk_takes_at_most_max_bytes_at_their_exact_size_and_is_empty_at_eof() {
        let (mut writer, mut reader) = duplex(64);
        writer.write_all(b"0123456789").await.unwrap();
        let first = read_chunk(&mut reader, 4).await.unwrap();
        assert_eq!(&first[..], b"0123");
        let rest = read_chunk(&mut reader, 4096).await.unwrap();
        assert_eq!(&rest[..], b"456789");
        drop(writer);
        assert!(read_chunk(&mut reader, 4096).await.unwrap().is_empty());
    }

    #[test]
    fn close_reasons_fit_a_control_frame() {
        let long = Ending::UpstreamError("é".repeat(100));
        let (_, reason) = long.close_frame().unwrap();
        assert!(reason.len() <= 123);
        assert_eq!(
            Ending::Idle(Duration::from_millis(1500))
                .close_frame()
                .unwrap(),
            (1008, "idle timeout: no traffic for 1500ms".to_owned())
        );
    }

    #[test]
    fn a_capacity_error_is_a_1009() {
        let ending =
            Ending::client_error("Space limit exceeded: Message too long: 2000000 > 1048576");
        assert_eq!(
            ending.close_frame().unwrap(),
            (1009, "Message too long: 2000000 > 1048576".to_owned())
        );
    }
}
