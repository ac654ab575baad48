//! The one accept loop of the tokio servers (app, echo, blackhole,
//! framing), generic over what a server does with one connection
//! ([`Handler`]). The loop owns every bound a server shares ([`Limits`]):
//!
//! - `max_connections` at once; over it the kernel's listen backlog holds
//!   the waiting connections, not our memory;
//! - `max_connections_per_ip`: a share of those per client address, so one
//!   address cannot take every slot (slow clients holding them for ever);
//!   over it a connection is closed as soon as it is accepted, with a
//!   logged reason. A connection the hook says is relayed (the relay's own
//!   session, [`ServerHook::is_relayed`](super::observe::ServerHook::is_relayed))
//!   is bounded by the relay per browser address instead;
//! - a graceful stop: no more accepts, in-flight connections get
//!   `grace_period`, then are aborted;
//! - the log ([`LogLines`]): the `Accepted connection from …` and
//!   `Closing connection to …` lines are the loop's, so every server
//!   writes them alike.
//!
//! The event-loop server (`event_loop`, mio, one thread) cannot run this
//! loop; it keeps the same per-address rule with [`PerIp`].

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protocol::relay_api::LogLevel;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use super::lines::{LogLines, ServerLog};
use super::net::PyAddr;
use super::observe::{Hook, Watch};

/// Default connection cap of every server (`--max-connections`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default time in-flight connections get after shutdown (`--grace-period`).
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(5);
/// Default cap on one address's connections at once (`--max-connections-per-ip`).
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 64;

/// What every server's accept loop bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Connections one client address may have open at once; more are
    /// closed as soon as they are accepted (logged).
    pub max_connections_per_ip: usize,
    /// After shutdown, how long in-flight connections may take to finish.
    pub grace_period: Duration,
    /// How much the server logs.
    pub log: LogLines,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            grace_period: DEFAULT_GRACE_PERIOD,
            log: LogLines::Every,
        }
    }
}

/// What a connection handler watches to know when to stop.
#[derive(Clone)]
pub struct Stop {
    /// The server is shutting down: finish what is in flight, start nothing new.
    pub shutdown: CancellationToken,
    /// The grace period is over: drop the connection now.
    pub abort: CancellationToken,
}

/// How long a relayed connection may stay quiet as far as the server can
/// tell: the relay's own `--idle-timeout` ends a quiet session first, and
/// counts what the server cannot see (a message still arriving at the
/// relay), so the server's idle timeout must not cut it; this only bounds
/// a connection the relay somehow left open.
pub const RELAYED_IDLE: Duration = Duration::from_secs(24 * 3600);

/// One accepted connection, as the loop hands it to a [`Handler`].
pub struct Conn {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub stop: Stop,
    /// Its observation (when the hook claimed it) and its log lines.
    pub watch: Watch,
    /// A relay's session ([`ServerHook::is_relayed`](super::observe::ServerHook::is_relayed)).
    pub relayed: bool,
}

impl Conn {
    /// The idle timeout for this connection: the server's own for a
    /// direct client, [`RELAYED_IDLE`] (at least) for a relayed one.
    pub fn idle_timeout(&self, own: Duration) -> Duration {
        idle_timeout(self.relayed, own)
    }
}

/// [`Conn::idle_timeout`], for servers without a [`Conn`] (the event loop).
pub fn idle_timeout(relayed: bool, own: Duration) -> Duration {
    if relayed {
        own.max(RELAYED_IDLE)
    } else {
        own
    }
}

/// How a connection ended, for its closing lines.
#[derive(Debug)]
pub enum Ending {
    /// As the conversation meant to (the client closed, the reply went out).
    Done,
    /// Closed by the server, for a reason the closing line gives.
    Closed(&'static str),
    /// An error, logged as a warning before the closing line.
    Failed(String),
}

/// What one server does with one connection.
pub trait Handler: Send + Sync + 'static {
    /// Serves `conn` until its conversation ends. The loop has logged the
    /// accept; it logs the ending, samples the socket and closes it.
    fn handle<'a>(&'a self, conn: &'a mut Conn) -> impl Future<Output = Ending> + Send + 'a;
}

/// Accepts connections on `listener` until `shutdown`, running `handler`
/// for each within `limits`, telling `hook` what the connections it claims
/// do. Returns once every connection has finished, aborting those still
/// running `grace_period` after the shutdown.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    limits: Limits,
    handler: H,
    hook: Option<Hook>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let handler = Arc::new(handler);
    let log = ServerLog::new(limits.log);
    let per_ip = PerIp::new(limits.max_connections_per_ip);
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
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
        let slot = per_ip.take(hook.as_ref(), &stream, peer);
        let mut watch = Watch::accepted(hook.as_ref(), &stream, peer, &log);
        let Some(slot) = slot else {
            refuse(&stream, peer, per_ip.limit(), &mut watch);
            continue;
        };
        watch.log(
            LogLevel::Info,
            format_args!("Accepted connection from {}", PyAddr(peer)),
        );
        let mut conn = Conn {
            stream,
            peer,
            stop: stop.clone(),
            watch,
            relayed: slot.is_relayed(),
        };
        let handler = handler.clone();
        tracker.spawn(async move {
            let ending = handler.handle(&mut conn).await;
            close(conn, ending);
            drop((slot, permit));
        });
    }
    // Closing the listener now makes new connection attempts fail fast
    // instead of waiting in a backlog nobody will read.
    drop(listener);
    tracker.close();
    if !tracker.is_empty() {
        info!(
            "Shutting down: waiting up to {:?} for {} connection(s)",
            limits.grace_period,
            tracker.len()
        );
    }
    if tokio::time::timeout(limits.grace_period, tracker.wait())
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

/// The tutorial's closing lines, a last sample, and the close.
fn close(conn: Conn, ending: Ending) {
    let Conn {
        stream,
        peer,
        mut watch,
        ..
    } = conn;
    let peer = PyAddr(peer);
    match ending {
        Ending::Done => watch.log(LogLevel::Info, format_args!("Closing connection to {peer}")),
        Ending::Closed(why) => watch.log(
            LogLevel::Info,
            format_args!("Closing connection to {peer} ({why})"),
        ),
        Ending::Failed(e) => {
            watch.log(LogLevel::Warning, format_args!("Error for {peer}: {e}"));
            watch.log(LogLevel::Info, format_args!("Closing connection to {peer}"));
        }
    }
    watch.sample(&stream);
    watch.close();
    drop(stream);
}

/// Closes a connection over `--max-connections-per-ip` at once, saying why.
fn refuse(stream: &TcpStream, peer: SocketAddr, limit: usize, watch: &mut Watch) {
    watch.log(
        LogLevel::Warning,
        format_args!(
            "Refusing connection from {}: {limit} connections from its address already (--max-connections-per-ip)",
            PyAddr(peer)
        ),
    );
    watch.sample(stream);
    std::mem::replace(watch, Watch::off()).close();
}

/// Connections open per client address, so that one address cannot take
/// every slot of `--max-connections`.
#[derive(Debug)]
pub struct PerIp {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's part of its address's share; dropping it gives the
/// part back. Relayed connections hold none.
#[derive(Debug)]
pub struct IpSlot(Option<(Arc<PerIp>, IpAddr)>);

impl IpSlot {
    /// Whether the connection is relayed (it holds no part of a share).
    pub fn is_relayed(&self) -> bool {
        self.0.is_none()
    }
}

impl PerIp {
    /// A share of `limit` connections per address (at least 1).
    pub fn new(limit: usize) -> Arc<PerIp> {
        Arc::new(PerIp {
            limit: limit.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A part of `peer`'s share for the connection `local` ← `peer`, or
    /// `None` when its address already has `limit` connections. A relayed
    /// connection (the hook says) takes none and is always let in.
    pub fn take_for(
        self: &Arc<Self>,
        hook: Option<&Hook>,
        local: Option<SocketAddr>,
        peer: SocketAddr,
    ) -> Option<IpSlot> {
        let relayed = match (hook, local) {
            (Some(hook), Some(local)) => hook.0.is_relayed(local, peer),
            _ => false,
        };
        if relayed {
            return Some(IpSlot(None));
        }
        let ip = peer.ip();
        let mut open = self.open.lock().expect("not poisoned");
        let n = open.entry(ip).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(IpSlot(Some((self.clone(), ip))))
    }

    fn take(
        self: &Arc<Self>,
        hook: Option<&Hook>,
        stream: &TcpStream,
        peer: SocketAddr,
    ) -> Option<IpSlot> {
        self.take_for(hook, stream.local_addr().ok(), peer)
    }

    /// Connections one address may have.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let Some((per_ip, ip)) = self.0.take() else {
            return;
        };
        let mut open = per_ip.open.lock().expect("not poisoned");
        if let Some(n) = open.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&ip);
            }
        }
    }
}
