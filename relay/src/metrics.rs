//! Relay-wide counters: sessions open and bytes held, plus the reports of
//! recently ended sessions. `GET /healthz` shows them; tests read them to
//! assert on memory bounds instead of timing.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::bridge::SessionReport;
use crate::budget::HeldBytes;

/// How many ended sessions [`Metrics::recent`] keeps.
const RECENT: usize = 64;

#[derive(Debug, Default)]
pub struct Metrics {
    active: AtomicUsize,
    total: AtomicU64,
    refused: AtomicU64,
    /// Shared with every session's [`SessionStats`](crate::bridge::SessionStats),
    /// which count into it (the bridge does not know this type).
    buffered: Arc<HeldBytes>,
    recent: Mutex<VecDeque<(u64, String, SessionReport)>>,
}

impl Metrics {
    /// Sessions open now.
    pub fn active_sessions(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }
    /// Sessions started since the relay started.
    pub fn total_sessions(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
    /// Requests to /ws refused before the upgrade (origin, target, limit).
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
    /// Bytes held by all sessions: read from one side, not yet written to the other.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered.get()
    }
    /// The total a new session's stats count their held bytes into.
    pub fn held_bytes(&self) -> Arc<HeldBytes> {
        self.buffered.clone()
    }
    /// Reports of the last ended sessions as (id, target, report), oldest first.
    pub fn recent(&self) -> Vec<(u64, String, SessionReport)> {
        self.recent
            .lock()
            .expect("metrics lock")
            .iter()
            .cloned()
            .collect()
    }

    pub(crate) fn session_started(&self) -> u64 {
        self.active.fetch_add(1, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed) + 1
    }
    pub(crate) fn session_ended(&self, id: u64, target: &str, report: &SessionReport) {
        self.active.fetch_sub(1, Ordering::Relaxed);
        let mut recent = self.recent.lock().expect("metrics lock");
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back((id, target.to_owned(), report.clone()));
    }
    pub(crate) fn refused_one(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }
}
