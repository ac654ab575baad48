//! Byte accounting: what one session moved and holds ([`SessionStats`]),
//! counted also in what all sessions hold together ([`HeldBytes`], the
//! leaf module `budget`, which `/healthz` shows through the relay's metrics).
//!
//! "Held" means taken from one side and not yet written to the other: the
//! memory bound the bridge promises is a bound on these counters, so tests
//! assert on them instead of on timing.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::inbound::{client_frame_len, Inbound};
use crate::activity::Activity;
use crate::budget::HeldBytes;

/// Counters of one session, readable while it runs.
#[derive(Debug)]
pub struct SessionStats {
    total: Arc<HeldBytes>,
    started: Instant,
    pub(super) to_upstream: AtomicU64,
    pub(super) to_client: AtomicU64,
    /// Bytes the relay holds for this session.
    buffered: AtomicUsize,
    peak_buffered: AtomicUsize,
    /// Target bytes read after the browser closed (they cannot be delivered).
    pub(super) discarded: AtomicU64,
    /// When the last byte moved (shared with the embedded server's idle
    /// clock, through the session's observer).
    activity: Arc<Activity>,
    /// What the browser sent that no whole message has taken yet.
    inbound: Option<Arc<Inbound>>,
    /// Bytes the `--tap`s keep between reads, per [`TapSide`].
    taps: [AtomicUsize; 2],
}

/// Which of a session's two taps.
#[derive(Debug, Clone, Copy)]
pub(super) enum TapSide {
    /// Browser → target.
    Up = 0,
    /// Target → browser.
    Down = 1,
}

impl SessionStats {
    /// A session whose held bytes also count in `total`.
    pub fn new(total: Arc<HeldBytes>) -> Self {
        SessionStats {
            total,
            started: Instant::now(),
            to_upstream: AtomicU64::new(0),
            to_client: AtomicU64::new(0),
            buffered: AtomicUsize::new(0),
            peak_buffered: AtomicUsize::new(0),
            discarded: AtomicU64::new(0),
            activity: Arc::new(Activity::new()),
            inbound: None,
            taps: [AtomicUsize::new(0), AtomicUsize::new(0)],
        }
    }

    /// Also watches the browser's partial messages, counted by its connection.
    pub fn with_inbound(mut self, inbound: Arc<Inbound>) -> Self {
        self.inbound = Some(inbound);
        self
    }

    /// A whole message of `payload` bytes arrived from the browser.
    pub(super) fn message_taken(&self, payload: usize) {
        if let Some(inbound) = &self.inbound {
            inbound.taken(client_frame_len(payload));
        }
    }

    /// Resolves once the session's reads took the relay over its budget.
    pub(super) async fn over_budget(&self) {
        match &self.inbound {
            Some(inbound) => inbound.over_budget().await,
            None => std::future::pending().await,
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
    /// When the session started: observation's `t_us` counts from here.
    pub fn started(&self) -> Instant {
        self.started
    }
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub(super) fn touch(&self) {
        self.activity.touch();
    }

    pub(super) fn quiet_for(&self) -> Duration {
        self.activity.quiet_for()
    }

    /// The session's idle clock, for whoever else must see its bytes move
    /// (an embedded server's own idle timeout).
    pub fn activity(&self) -> Arc<Activity> {
        self.activity.clone()
    }

    /// The tap on `side` now keeps `n` bytes (counted as held until the
    /// next call, or the session's end).
    pub(super) fn tap_keeps(&self, side: TapSide, n: usize) {
        let before = self.taps[side as usize].swap(n, Ordering::Relaxed);
        if n >= before {
            let grown = n - before;
            let now = self.buffered.fetch_add(grown, Ordering::Relaxed) + grown;
            self.peak_buffered.fetch_max(now, Ordering::Relaxed);
            self.total.add(grown);
        } else {
            self.buffered.fetch_sub(before - n, Ordering::Relaxed);
            self.total.sub(before - n);
        }
    }

    /// Counts `n` bytes as held until the guard drops (also when a pending
    /// write is abandoned because the session ends).
    pub(super) fn hold(&self, n: usize) -> Held<'_> {
        let mut held = Held { stats: self, n: 0 };
        held.grow(n);
        held
    }
}

/// Bytes counted as held by one session, released on drop.
pub(super) struct Held<'a> {
    stats: &'a SessionStats,
    pub(super) n: usize,
}

impl Held<'_> {
    pub(super) fn grow(&mut self, n: usize) {
        let now = self.stats.buffered.fetch_add(n, Ordering::Relaxed) + n;
        self.stats.peak_buffered.fetch_max(now, Ordering::Relaxed);
        self.stats.total.add(n);
        self.n += n;
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.stats.buffered.fetch_sub(self.n, Ordering::Relaxed);
        self.stats.total.sub(self.n);
    }
}

impl Drop for SessionStats {
    fn drop(&mut self) {
        let taps: usize = self.taps.iter().map(|t| t.load(Ordering::Relaxed)).sum();
        self.total.sub(taps);
    }
}
