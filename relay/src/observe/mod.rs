//! Observation (`/ws?target=NAME&observe=1`): what the relay's socket to the
//! target did and, for the servers the relay runs itself, what the server's
//! side of that connection did, sent to the browser as text messages
//! (`protocol::relay_api::Observation`, one JSON object each).
//!
//! With `--record` every session is observed: each event goes to the
//! session's recording as it is pushed, and to the browser's queue only if
//! the browser asked for `observe=1`.
//!
//! - [`SessionObserver`]: one session's bounded queue ([`queue`]) and clock;
//!   the bridge pushes the relay-side events, the embedded server pushes
//!   the `server_*` ones through its [`ConnectionSink`] face, and the
//!   bridge's downstream pump drains it between binary messages.
//! - [`Hub`]: pairs a session with the embedded server's connection. The
//!   relay binds its socket before connecting, so it knows its own address
//!   (the server's peer address) and registers it before the server can
//!   `accept()`; the server claims the registration at accept. An accept
//!   nobody registered (a session without `observe=1`, another client) finds
//!   nothing and holds nothing; a registration nobody claims is removed when
//!   its session ends. So the hub holds at most one entry per session.
//!   It also knows every session's connection to an embedded server,
//!   observed or not ([`Hub::relaying`]), so the server does not count it
//!   in its per-address share (`ServerHook::is_relayed`): the relay bounds
//!   sessions by the browser's address itself.
//!   It also holds the `--expose`d listeners ([`watch::Exposed`]): an
//!   accept there is a learner's own client, streamed to `/ws?watch=NAME`.

pub mod queue;
#[cfg(test)]
mod tests;
pub mod watch;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use protocol::relay_api::{Observation, Observed};
use tokio::sync::Notify;
use tutorial::servers::observe::{ConnectionSink, ServerHook};

use crate::activity::Activity;
use crate::config::RelayConfig;
use crate::record::Recorder;
use queue::{Budget, Queue};
use watch::Exposed;

/// Text bytes (frames included) a session queues for the browser between
/// two flushes: what observation adds to the WebSocket write buffer.
pub const TEXT_PER_FLUSH: usize = 8 * 1024;
/// Upper bound of one event's JSON (its texts are cut to
/// `tutorial::servers::observe::MAX_TEXT` bytes, at most 6 bytes each escaped).
pub const MAX_EVENT_TEXT: usize = 4 * 1024;
/// Most bytes of one `recv()` a watch stream carries in its `server_recv`
/// (`data`); a bigger read, or merged reads past it, go without theirs.
pub const DATA_PER_EVENT: usize = 16 * 1024;
/// Upper bound of one watch-stream event's JSON: [`MAX_EVENT_TEXT`] and
/// [`DATA_PER_EVENT`] bytes in base64.
pub const MAX_WATCH_EVENT_TEXT: usize = MAX_EVENT_TEXT + DATA_PER_EVENT.div_ceil(3) * 4;

/// One observed session.
pub struct SessionObserver {
    started: Instant,
    /// Also orders the recording: events are stamped and recorded under it.
    queue: Mutex<Queue>,
    /// The browser asked for `observe=1`: events are queued for it.
    to_browser: bool,
    /// `--record`: every event as pushed, before the queue merges any.
    record: Option<Arc<Recorder>>,
    ready: Notify,
    sample_every: Duration,
    /// The session is over: later events (a server still holding its
    /// connection) are dropped.
    ended: AtomicBool,
    /// The relay's socket did something (a byte event, a connect, an EOF…)
    /// since its last sample: the next flush samples it first.
    unsampled: AtomicBool,
    server_closed: AtomicBool,
    server_close: Notify,
    /// The relay has closed: sockets are followed through sock_diag only.
    following: AtomicBool,
    /// Whether the target's socket is on this machine (sock_diag finds it):
    /// [`UNKNOWN`], [`LOCAL`] or [`REMOTE`].
    target_local: AtomicU8,
    /// The session's idle clock: the embedded server's idle timeout sees
    /// the browser's bytes through it before the relay writes them.
    activity: OnceLock<Arc<Activity>>,
}

const UNKNOWN: u8 = 0;
const LOCAL: u8 = 1;
const REMOTE: u8 = 2;

impl SessionObserver {
    /// A session that started at `started`, with `config`'s budget,
    /// observed for its browser.
    pub fn new(started: Instant, config: &RelayConfig) -> Arc<SessionObserver> {
        SessionObserver::with_sinks(started, config, true, None)
    }

    /// A session observed for its browser (`to_browser`), its recording,
    /// or both.
    pub fn with_sinks(
        started: Instant,
        config: &RelayConfig,
        to_browser: bool,
        record: Option<Arc<Recorder>>,
    ) -> Arc<SessionObserver> {
        let sample_every = config.observe_sample;
        Arc::new(SessionObserver {
            started,
            queue: Mutex::new(Queue::new(Budget {
                capacity: config.observe_queue,
                burst: config.observe_burst,
                sample_every_us: sample_every.as_micros() as u64,
                data_bytes: config.watch_data_bytes,
                data_per_event: DATA_PER_EVENT,
            })),
            to_browser,
            record,
            ready: Notify::new(),
            sample_every,
            ended: AtomicBool::new(false),
            unsampled: AtomicBool::new(false),
            server_closed: AtomicBool::new(false),
            server_close: Notify::new(),
            following: AtomicBool::new(false),
            target_local: AtomicU8::new(UNKNOWN),
            activity: OnceLock::new(),
        })
    }

    /// Shares the session's idle clock with the embedded server.
    pub fn watch_activity(&self, activity: Arc<Activity>) {
        let _ = self.activity.set(activity);
    }

    /// Stamps and queues one event.
    pub fn push(&self, event: Observed) {
        self.push_conn(None, event)
    }

    /// Stamps and queues one event of connection `conn` (a watch stream's;
    /// a session's own events have none).
    pub fn push_conn(&self, conn: Option<u64>, event: Observed) {
        if self.ended.load(Ordering::Relaxed) {
            return;
        }
        let mut queue = self.queue.lock().expect("no panics under the lock");
        // Stamped under the lock: the relay's and the server's events come
        // from different tasks and must not be queued out of time order.
        let t_us = self.started.elapsed().as_micros() as u64;
        let woke = match (&self.record, self.to_browser) {
            (None, _) => queue.push_conn(t_us, conn, event),
            (Some(record), false) => {
                record.observed(&Observation { t_us, event, conn });
                false
            }
            (Some(record), true) => {
                let observation = Observation { t_us, event, conn };
                record.observed(&observation);
                queue.push_conn(t_us, conn, observation.event)
            }
        };
        drop(queue);
        if woke {
            self.ready.notify_one();
        }
    }

    /// Notes that the relay's socket changed since its last sample.
    pub fn mark_unsampled(&self) {
        self.unsampled.store(true, Ordering::Relaxed);
    }

    /// Whether the relay's socket changed since the last call (or the
    /// last [`mark_unsampled`](Self::mark_unsampled)); clears the mark.
    pub fn take_unsampled(&self) -> bool {
        self.unsampled.swap(false, Ordering::Relaxed)
    }

    /// Resolves once something was queued since the last call.
    pub async fn ready(&self) {
        self.ready.notified().await
    }

    /// Pops events as JSON while `budget` (text bytes, frames included)
    /// lasts; returns them in order.
    pub fn drain(&self, budget: &mut usize) -> Vec<String> {
        let mut out = Vec::new();
        if *budget == 0 {
            return out;
        }
        let mut queue = self.queue.lock().expect("no panics under the lock");
        while *budget > 0 {
            let Some(event) = queue.pop() else { break };
            let json = text(&event);
            *budget = budget.saturating_sub(json.len() + 4);
            out.push(json);
        }
        out
    }

    /// Whether anything waits to be sent.
    pub fn pending(&self) -> bool {
        !self
            .queue
            .lock()
            .expect("no panics under the lock")
            .is_empty()
    }

    /// Waits (at most `limit`) for the embedded server's `server_close`.
    pub async fn server_closed_within(&self, limit: Duration) {
        let closed = self.server_close.notified();
        if self.server_closed.load(Ordering::Acquire) {
            return;
        }
        let _ = tokio::time::timeout(limit, closed).await;
    }

    /// The session is over: forget what is queued, drop what comes later.
    pub fn end(&self) {
        self.ended.store(true, Ordering::Relaxed);
        self.queue.lock().expect("no panics under the lock").clear();
    }

    /// Whether [`end`](Self::end) was called.
    pub fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Relaxed)
    }

    pub fn sample_every(&self) -> Duration {
        self.sample_every
    }

    /// From now on the relay's socket is closed or closing, and sampled
    /// through sock_diag only (a descriptor shows TIME_WAIT as CLOSE).
    pub fn start_following(&self) {
        self.following.store(true, Ordering::Relaxed);
    }

    pub fn following(&self) -> bool {
        self.following.load(Ordering::Relaxed)
    }

    /// Whether the target's socket may be found through sock_diag: until
    /// a lookup for a target off loopback finds nothing (the target lives on
    /// another machine, and looking again is wasted).
    pub fn target_may_be_local(&self) -> bool {
        self.target_local.load(Ordering::Relaxed) != REMOTE
    }

    /// What a lookup of the target's socket found.
    pub fn target_found(&self, found: bool, target: SocketAddr) {
        let now = if found {
            LOCAL
        } else if target.ip().is_loopback() {
            return;
        } else {
            REMOTE
        };
        let _ =
            self.target_local
                .compare_exchange(UNKNOWN, now, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Whether a lookup ever found the target's socket.
    pub fn target_is_local(&self) -> bool {
        self.target_local.load(Ordering::Relaxed) == LOCAL
    }
}

fn text(event: &Observation) -> String {
    event.to_json()
}

impl ConnectionSink for SessionObserver {
    fn observe(&self, event: Observed) {
        let closing = matches!(event, Observed::ServerClose);
        self.push(event);
        if closing {
            self.server_closed.store(true, Ordering::Release);
            self.server_close.notify_waiters();
        }
    }

    fn sample_every(&self) -> Duration {
        self.sample_every
    }

    fn client_quiet_for(&self) -> Option<Duration> {
        self.activity.get().map(|a| a.quiet_for())
    }
}

/// Pairs sessions with the embedded servers' connections, by address.
#[derive(Default)]
pub struct Hub {
    /// (relay's address, server's address) → the session expecting it.
    expected: Mutex<HashMap<(SocketAddr, SocketAddr), Weak<SessionObserver>>>,
    /// (relay's address, server's address) of every session's connection
    /// to an embedded server, while the session lasts.
    relayed: Mutex<HashMap<(SocketAddr, SocketAddr), usize>>,
    /// `--expose`: the embedded servers' extra listeners (a few, set at start).
    exposed: Mutex<Vec<Arc<Exposed>>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hub")
    }
}

impl Hub {
    /// Registers `observer` for the connection from `local` to `server`
    /// until the returned guard drops.
    pub fn expect(
        self: &Arc<Self>,
        local: SocketAddr,
        server: SocketAddr,
        observer: &Arc<SessionObserver>,
    ) -> Expected {
        self.expected
            .lock()
            .expect("no panics under the lock")
            .insert((local, server), Arc::downgrade(observer));
        Expected {
            hub: self.clone(),
            key: (local, server),
            observer: Arc::downgrade(observer),
        }
    }

    /// Notes the session's connection from `local` to `server` as the
    /// relay's own until the returned guard drops.
    pub fn relaying(self: &Arc<Self>, local: SocketAddr, server: SocketAddr) -> Relaying {
        *self
            .relayed
            .lock()
            .expect("no panics under the lock")
            .entry((local, server))
            .or_insert(0) += 1;
        Relaying {
            hub: self.clone(),
            key: (local, server),
        }
    }

    /// Registers an `--expose`d listener: connections its server accepts
    /// are streamed to its watchers.
    pub fn expose(&self, exposed: Arc<Exposed>) {
        self.exposed
            .lock()
            .expect("no panics under the lock")
            .push(exposed);
    }

    /// The exposed listener of target `name`, if it has one.
    pub fn exposed(&self, name: &str) -> Option<Arc<Exposed>> {
        let exposed = self.exposed.lock().expect("no panics under the lock");
        exposed.iter().find(|e| e.name == name).cloned()
    }

    /// Sessions waiting for their server's accept.
    pub fn waiting(&self) -> usize {
        self.expected
            .lock()
            .expect("no panics under the lock")
            .len()
    }
}

impl ServerHook for Hub {
    fn accepted(&self, local: SocketAddr, peer: SocketAddr) -> Option<Arc<dyn ConnectionSink>> {
        {
            let mut expected = self.expected.lock().expect("no panics under the lock");
            if let Some(observer) = expected.remove(&(peer, local)) {
                return observer.upgrade().map(|o| o as Arc<dyn ConnectionSink>);
            }
        }
        // Not a session's connection: a learner's client at an exposed listener?
        let exposed = self.exposed.lock().expect("no panics under the lock");
        let at = exposed.iter().find(|e| e.address == local)?.clone();
        drop(exposed);
        at.accepted()
    }

    fn is_relayed(&self, local: SocketAddr, peer: SocketAddr) -> bool {
        self.relayed
            .lock()
            .expect("no panics under the lock")
            .contains_key(&(peer, local))
    }
}

/// A session's connection noted as the relay's own ([`Hub::relaying`]),
/// forgotten on drop.
pub struct Relaying {
    hub: Arc<Hub>,
    key: (SocketAddr, SocketAddr),
}

impl Drop for Relaying {
    fn drop(&mut self) {
        let mut relayed = self.hub.relayed.lock().expect("no panics under the lock");
        if let Some(n) = relayed.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                relayed.remove(&self.key);
            }
        }
    }
}

/// A session's registration in the [`Hub`], removed on drop.
pub struct Expected {
    hub: Arc<Hub>,
    key: (SocketAddr, SocketAddr),
    observer: Weak<SessionObserver>,
}

impl Drop for Expected {
    fn drop(&mut self) {
        let mut expected = self.hub.expected.lock().expect("no panics under the lock");
        // Once this session's socket is closed its port may serve a newer
        // session's registration under the same key: that one stays.
        if expected
            .get(&self.key)
            .is_some_and(|w| Weak::ptr_eq(w, &self.observer))
        {
            expected.remove(&self.key);
        }
    }
}
