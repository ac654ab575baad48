//! The accept loop and each HTTP connection until it upgrades, closes or
//! times out: hyper's HTTP/1 server with the relay's limits, in place of
//! `axum::serve` (which has none of them).
//!
//! - `--header-timeout`: hyper's header read timeout (a request's head must
//!   arrive within it, the wait for a keep-alive's next request included);
//! - `--http-idle-timeout`: no byte moving either way for this long closes
//!   the connection ([`Watched`] notes when bytes last moved);
//! - `--max-header-bytes`: hyper's read buffer limit (a larger head: 431);
//! - `--max-http-connections`: a place taken at accept, shared fairly
//!   between addresses ([`Pool`]: when all are taken, an address holding
//!   fewer takes the oldest place of the address holding the most). An
//!   upgraded connection gives its place back (its session counts against
//!   `--max-sessions`);
//! - `--max-http-connections-per-ip`: the same per client address (not for
//!   a `--trusted-proxy`), so one address cannot take every place;
//! - a connection over either is answered (429 per address, 503 for the
//!   relay) once its head is read, within [`REFUSAL_WAIT`] and
//!   [`REFUSAL_HEAD_BYTES`], at most [`REFUSING_AT_ONCE`] at a time (the
//!   rest are closed at once), so a client learns why;
//! - accept errors (EMFILE: out of file descriptors) back off, doubling from
//!   10 ms to 1 s, instead of spinning or ending the relay;
//! - shutdown: stop accepting, ask each connection to finish its request,
//!   and drop it after `--close-grace` whatever its client does.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use protocol::relay_api::UPGRADE_LIMITS;

use super::pool::Pool;
use crate::bridge::Inbound;
use crate::clients::PerClient;
use crate::config::RelayConfig;

const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// How long a refused connection's head is waited for before the answer.
pub const REFUSAL_WAIT: Duration = Duration::from_secs(1);
/// How much of a refused connection's head is read before the answer.
pub const REFUSAL_HEAD_BYTES: usize = 8 * 1024;
/// Refused connections answered at once; beyond, closed without a word.
pub const REFUSING_AT_ONCE: usize = 64;

/// Accepts until `stop` is cancelled, then waits for the HTTP connections
/// (each at most `--close-grace` once `stop` is cancelled).
pub(super) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    config: &RelayConfig,
    stop: CancellationToken,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_buf_size(config.max_header_bytes);
    let pool = Pool::new(config.max_http_connections);
    let per_client = PerClient::new(config.max_http_connections_per_ip);
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let connections = TaskTracker::new();
    let mut backoff = FIRST_BACKOFF;
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => {
                backoff = FIRST_BACKOFF;
                accepted
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                if backoff == FIRST_BACKOFF {
                    tracing::warn!(
                        "accept error: {e} (retrying, backing off up to {MAX_BACKOFF:?})"
                    );
                }
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        // A proxy's connections carry many clients: its own share is the whole.
        let proxied = config
            .trusted_proxies
            .iter()
            .any(|net| net.contains(peer.ip()));
        let client_slot = if proxied {
            None
        } else {
            match per_client.try_take(peer.ip()) {
                Some(slot) => Some(slot),
                None => {
                    let why = Refusal::PerAddress(config.max_http_connections_per_ip);
                    refuse(tcp, peer, why, &refusing, &connections, config);
                    continue;
                }
            }
        };
        let Some(permit) = pool.try_take(peer.ip()) else {
            let why = Refusal::Full(config.max_http_connections);
            refuse(tcp, peer, why, &refusing, &connections, config);
            continue;
        };
        // Small messages (a request, a close frame right after a reply) must
        // not wait for Nagle's algorithm to meet a delayed ACK.
        let _ = tcp.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let inbound = Arc::new(Inbound::default());
        let io = TokioIo::new(Watched {
            io: tcp,
            activity: activity.clone(),
            inbound: inbound.clone(),
        });
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(inbound.clone());
            tower_service::Service::call(&mut router.clone(), request)
        });
        let conn = builder.serve_connection(io, service).with_upgrades();
        let stop = stop.clone();
        let idle = config.http_idle_timeout;
        let grace = config.close_grace;
        connections.spawn(async move {
            // Both given back when the connection upgrades (or ends).
            let _permit = permit;
            let _client_slot = client_slot;
            tokio::pin!(conn);
            let evicted = _permit.evicted.clone();
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!("{peer}: connection: {e}");
                    }
                }
                _ = evicted.cancelled() => {
                    tracing::debug!("{peer}: closed: its place went to an address holding fewer (--max-http-connections)");
                }
                _ = activity.idle_for(idle) => {
                    tracing::debug!("{peer}: closed after {idle:?} without traffic (--http-idle-timeout)");
                }
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    if tokio::time::timeout(grace, conn).await.is_err() {
                        tracing::debug!("{peer}: dropped at shutdown after --close-grace");
                    }
                }
            }
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

/// Why a connection was refused at accept.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// `--max-http-connections-per-ip`.
    PerAddress(usize),
    /// `--max-http-connections`, and no address held more than its share.
    Full(usize),
}

impl Refusal {
    fn status(self) -> u16 {
        match self {
            Refusal::PerAddress(_) => UPGRADE_LIMITS[0].status,
            Refusal::Full(_) => UPGRADE_LIMITS[2].status,
        }
    }

    fn text(self) -> String {
        let [per_address, _, full, ..] = UPGRADE_LIMITS.map(|l| l.flag);
        match self {
            Refusal::PerAddress(n) => format!(
                "too many connections from your address ({per_address} {n}); close some or ask the relay's operator to raise it"
            ),
            Refusal::Full(n) => format!(
                "relay busy: all its connections are taken ({full} {n}); try again later or ask the relay's operator to raise it"
            ),
        }
    }
}

/// Answers a refused connection in a task of its own (within the
/// refusal budget), or closes it at once when [`REFUSING_AT_ONCE`] are
/// being answered.
fn refuse(
    tcp: TcpStream,
    peer: std::net::SocketAddr,
    why: Refusal,
    refusing: &Arc<Semaphore>,
    connections: &TaskTracker,
    config: &RelayConfig,
) {
    tracing::debug!("{peer}: refused {}: {}", why.status(), why.text());
    let Ok(permit) = refusing.clone().try_acquire_owned() else {
        return; // dropped: closed without a word
    };
    let budget = REFUSAL_HEAD_BYTES.min(config.max_header_bytes);
    connections.spawn(async move {
        let _permit = permit;
        answer(tcp, why, budget).await;
    });
}

/// Reads what comes of the head (so closing does not reset the answer
/// away), then writes the status and why, and closes.
async fn answer(mut tcp: TcpStream, why: Refusal, budget: usize) {
    let mut head = vec![0u8; budget];
    let mut read = 0;
    let _ = tokio::time::timeout(REFUSAL_WAIT, async {
        while read < budget && !head[..read].windows(4).any(|w| w == b"\r\n\r\n") {
            match tcp.read(&mut head[read..]).await {
                Ok(0) | Err(_) => return,
                Ok(n) => read += n,
            }
        }
    })
    .await;
    let status = axum::http::StatusCode::from_u16(why.status()).expect("a status");
    let body = why.text() + "\n";
    let response = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_WAIT, async {
        tcp.write_all(response.as_bytes()).await?;
        tcp.shutdown().await
    })
    .await;
}

/// Errors about one connection that went away before it was accepted:
/// nothing to wait for.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// When bytes last moved on a connection, in milliseconds since it started.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Returns once no bytes have moved for `timeout`.
    async fn idle_for(&self, timeout: Duration) {
        loop {
            let last = self.last_ms.load(Ordering::Relaxed);
            tokio::time::sleep_until(self.start + Duration::from_millis(last) + timeout).await;
            if self.last_ms.load(Ordering::Relaxed) == last {
                return;
            }
        }
    }
}

/// A TCP stream that notes in its [`Activity`] when bytes move, and
/// counts what it reads in its [`Inbound`] (once a session arms it).
struct Watched {
    io: TcpStream,
    activity: Arc<Activity>,
    inbound: Arc<Inbound>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            self.activity.touch();
            self.inbound.received(read);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
