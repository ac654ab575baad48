//! The accept loop and each HTTP connection until it upgrades, closes or
//! times out: hyper's HTTP/1 server with the relay's limits, in place of
//! `axum::serve` (which has none of them).
//!
//! - `--header-timeout`: hyper's header read timeout (a request's head must
//!   arrive within it, the wait for a keep-alive's next request included);
//! - `--http-idle-timeout`: no byte moving either way for this long closes
//!   the connection ([`Watched`] notes when bytes last moved);
//! - `--max-header-bytes`: hyper's read buffer limit (a larger head: 431);
//! - `--max-http-connections`: a semaphore taken at accept; without a permit
//!   the connection is closed at once. An upgraded connection gives its
//!   permit back (its session counts against `--max-sessions`);
//! - `--max-http-connections-per-ip`: the same per client address (not for
//!   a `--trusted-proxy`), so one address cannot take every permit;
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
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bridge::Inbound;
use crate::clients::PerClient;
use crate::config::RelayConfig;

const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

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
    let slots = Arc::new(Semaphore::new(config.max_http_connections));
    let per_client = PerClient::new(config.max_http_connections_per_ip);
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
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(
                "{peer}: closed at once (--max-http-connections {})",
                config.max_http_connections
            );
            drop(tcp);
            continue;
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
                    tracing::debug!(
                        "{peer}: closed at once (--max-http-connections-per-ip {})",
                        config.max_http_connections_per_ip
                    );
                    drop(tcp);
                    continue;
                }
            }
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
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!("{peer}: connection: {e}");
                    }
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
