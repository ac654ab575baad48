//! `/ws?watch=NAME`: the connections that arrive at an `--expose`d
//! target's own listener, streamed to whoever watches it.
//!
//! An [`Exposed`] target lives in the [`Hub`](super::Hub) under its
//! listener's address. When its server accepts a connection there, the hub
//! asks it ([`Exposed::accepted`]): with nobody watching, the answer is
//! `None` and the server's [`Watch`](tutorial::servers::observe::Watch)
//! stays off (nothing formatted, nothing held); otherwise the connection
//! gets the next `conn` id and a [`WatchedConn`] that copies each of its
//! events into every watcher's [`SessionObserver`], the same bounded queue
//! (merges, `lost`) an `observe=1` session has. A watcher that reads
//! slowly fills its own queue and no one else's; pushing never waits, so
//! the server never slows for it.
//!
//! A connection is streamed to the watchers present at its `accept()`,
//! from its `server_accept` on: a watcher never sees half a connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use protocol::relay_api::Observed;
use tutorial::servers::observe::ConnectionSink;

use super::{SessionObserver, DATA_PER_EVENT};

/// An embedded target's extra listener and its watchers.
pub struct Exposed {
    /// The target's name (`/ws?watch=NAME`).
    pub name: String,
    /// Where the learner's clients connect.
    pub address: SocketAddr,
    /// The last `conn` id given out.
    last_conn: AtomicU64,
    watchers: Mutex<Vec<Weak<SessionObserver>>>,
}

impl std::fmt::Debug for Exposed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Exposed({} at {})", self.name, self.address)
    }
}

impl Exposed {
    pub fn new(name: &str, address: SocketAddr) -> Arc<Exposed> {
        Arc::new(Exposed {
            name: name.to_owned(),
            address,
            last_conn: AtomicU64::new(0),
            watchers: Mutex::new(Vec::new()),
        })
    }

    /// Streams the connections accepted from now on into `observer` until
    /// it is dropped or ended.
    pub fn watch(&self, observer: &Arc<SessionObserver>) {
        let mut watchers = self.watchers.lock().expect("no panics under the lock");
        watchers.retain(|w| w.upgrade().is_some_and(|o| !o.is_ended()));
        watchers.push(Arc::downgrade(observer));
    }

    /// Watchers streaming now.
    pub fn watchers(&self) -> usize {
        let watchers = self.watchers.lock().expect("no panics under the lock");
        watchers
            .iter()
            .filter(|w| w.upgrade().is_some_and(|o| !o.is_ended()))
            .count()
    }

    /// The server accepted a connection here: watched if anyone watches.
    pub fn accepted(&self) -> Option<Arc<dyn ConnectionSink>> {
        let mut watchers = self.watchers.lock().expect("no panics under the lock");
        watchers.retain(|w| w.upgrade().is_some_and(|o| !o.is_ended()));
        let sample_every = watchers.first()?.upgrade()?.sample_every();
        let conn = self.last_conn.fetch_add(1, Ordering::Relaxed) + 1;
        Some(Arc::new(WatchedConn {
            conn,
            watchers: watchers.clone(),
            sample_every,
        }))
    }
}

/// One watched connection: its events, tagged with its id, to each watcher.
struct WatchedConn {
    conn: u64,
    watchers: Vec<Weak<SessionObserver>>,
    sample_every: Duration,
}

impl ConnectionSink for WatchedConn {
    fn observe(&self, event: Observed) {
        for watcher in &self.watchers {
            if let Some(observer) = watcher.upgrade() {
                observer.push_conn(Some(self.conn), event.clone());
            }
        }
    }

    fn sample_every(&self) -> Duration {
        self.sample_every
    }

    fn data_limit(&self) -> usize {
        DATA_PER_EVENT
    }
}
