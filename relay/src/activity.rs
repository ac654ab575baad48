//! When a session last moved a byte ([`Activity`]): the bridge's idle clock,
//! shared with an embedded server through the session's observer so that
//! bytes still arriving at the relay count for the server too. A leaf: the
//! bridge and the observers both take it from here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// When a session last moved a byte, either way, a partial message's
/// bytes included.
#[derive(Debug)]
pub struct Activity {
    started: Instant,
    /// Milliseconds since `started` of the last byte moved.
    last_ms: AtomicU64,
}

impl Activity {
    /// A clock that saw a byte move now.
    pub fn new() -> Self {
        Activity {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    /// A byte moved now.
    pub(crate) fn touch(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    /// How long since the last byte moved.
    pub fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }
}

impl Default for Activity {
    fn default() -> Self {
        Self::new()
    }
}
