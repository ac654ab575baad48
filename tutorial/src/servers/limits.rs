//! The accept loop both servers share: a cap on concurrent connections
//! (excess connections wait in the listen backlog, not in our memory) and a
//! graceful stop (no more accepts, in-flight connections get a grace period,
//! then are aborted).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

/// Default connection cap of every server (`--max-connections`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default time in-flight connections get after shutdown (`--grace-period`).
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(5);

/// What a connection handler watches to know when to stop.
#[derive(Clone)]
pub(crate) struct Stop {
    /// The server is shutting down: finish what is in flight, start nothing new.
    pub shutdown: CancellationToken,
    /// The grace period is over: drop the connection now.
    pub abort: CancellationToken,
}

/// Accepts connections until `shutdown`, running `handle` for each, at most
/// `max_connections` at a time. Returns once every handler has finished,
/// aborting those still running `grace_period` after the shutdown.
pub(crate) async fn accept_loop<F, Fut>(
    listener: TcpListener,
    max_connections: usize,
    grace_period: Duration,
    shutdown: CancellationToken,
    handle: F,
) -> io::Result<()>
where
    F: Fn(TcpStream, SocketAddr, Stop) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(max_connections.max(1)));
    let tracker = TaskTracker::new();
    let stop = Stop {
        shutdown: shutdown.clone(),
        abort: CancellationToken::new(),
    };
    loop {
        // Take a slot before accepting, so that over the cap the kernel's
        // backlog holds the waiting connections.
        let permit = match permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    warn!("accept failed: {e}");
                    // Out of file descriptors and the like: back off instead
                    // of spinning on an error that will repeat at once.
                    if e.kind() != io::ErrorKind::ConnectionAborted {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
        };
        let connection = handle(stream, peer, stop.clone());
        tracker.spawn(async move {
            connection.await;
            drop(permit);
        });
    }
    // Closing the listener now makes new connection attempts fail fast
    // instead of waiting in a backlog nobody will read.
    drop(listener);
    tracker.close();
    if !tracker.is_empty() {
        info!(
            "Shutting down: waiting up to {:?} for {} connection(s)",
            grace_period,
            tracker.len()
        );
    }
    if tokio::time::timeout(grace_period, tracker.wait())
        .await
        .is_err()
    {
        warn!(
            "Grace period over: aborting {} connection(s)",
            tracker.len()
        );
        stop.abort.cancel();
        tracker.wait().await;
    }
    Ok(())
}
