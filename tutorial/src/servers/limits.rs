//! The accept loop both servers share: a cap on concurrent connections
//! (excess connections wait in the listen backlog, not in our memory) and a
//! graceful stop (no more accepts, in-flight connections get a grace period,
//! then are aborted).

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
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

/// Default cap on one address's connections at once (`--max-connections-per-ip`).
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 64;

/// Connections open per peer address, so that one address cannot take
/// every slot of `--max-connections` (slow clients holding them forever).
#[derive(Debug)]
pub(crate) struct PerIp {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One counted connection; dropping it gives the slot back.
#[derive(Debug)]
pub(crate) struct IpSlot {
    per_ip: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    pub(crate) fn new(limit: usize) -> Arc<PerIp> {
        Arc::new(PerIp {
            limit: limit.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for `ip`, or `None` when it already has `limit` connections.
    pub(crate) fn try_take(self: &Arc<Self>, ip: IpAddr) -> Option<IpSlot> {
        let mut open = self.open.lock().expect("not poisoned");
        let n = open.entry(ip).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            per_ip: self.clone(),
            ip,
        })
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self.per_ip.open.lock().expect("not poisoned");
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

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
