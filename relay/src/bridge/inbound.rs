//! Bytes a browser has sent that no whole message has taken yet: the
//! partial message the WebSocket library collects (up to
//! `--max-message-size`), and what it read ahead.
//!
//! The library keeps them out of sight, so they are counted where they
//! enter: the connection's reads count into an [`Inbound`] once the
//! session arms it, and each whole message the bridge receives takes its
//! frame's bytes back out. Browsers send each message as one frame, for
//! which this is exact; a client that fragments its messages is counted a
//! few header bytes high per fragment, and never above what the library
//! can hold for one session (`cap`).
//!
//! The count is part of the relay-wide [`HeldBytes`] (`/healthz`
//! `buffered_bytes`), and a read that takes the total over
//! `--max-buffered-bytes` marks its session [`over budget`](Inbound::over_budget).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

use crate::budget::HeldBytes;

/// One connection's inbound count (unarmed until its session starts: the
/// HTTP request before it is bounded by `--max-header-bytes`).
#[derive(Debug, Default)]
pub struct Inbound {
    armed: OnceLock<Armed>,
}

#[derive(Debug)]
struct Armed {
    total: Arc<HeldBytes>,
    budget: usize,
    cap: usize,
    pending: AtomicUsize,
    over: CancellationToken,
}

impl Inbound {
    /// Starts counting into `total`: over `budget` there, the session is
    /// over budget. `cap`: the most one session can hold.
    pub fn arm(&self, total: Arc<HeldBytes>, budget: usize, cap: usize) {
        let _ = self.armed.set(Armed {
            total,
            budget,
            cap,
            pending: AtomicUsize::new(0),
            over: CancellationToken::new(),
        });
    }

    /// `n` bytes read from the browser's socket.
    pub fn received(&self, n: usize) {
        let Some(armed) = self.armed.get() else {
            return;
        };
        let mut added = 0;
        let _ = armed
            .pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |pending| {
                let next = (pending + n).min(armed.cap);
                added = next - pending;
                Some(next)
            });
        if armed.total.add(added) > armed.budget {
            armed.over.cancel();
        }
    }

    /// A whole message left the WebSocket library: `n` bytes of frame.
    pub(super) fn taken(&self, n: usize) {
        let Some(armed) = self.armed.get() else {
            return;
        };
        let mut removed = 0;
        let _ = armed
            .pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |pending| {
                removed = pending.min(n);
                Some(pending - removed)
            });
        armed.total.sub(removed);
    }

    /// Bytes counted now.
    pub fn pending(&self) -> usize {
        self.armed
            .get()
            .map_or(0, |armed| armed.pending.load(Ordering::Relaxed))
    }

    /// Resolves once a read of this session took the relay over its budget
    /// (never, unarmed).
    pub(super) async fn over_budget(&self) {
        match self.armed.get() {
            Some(armed) => armed.over.cancelled().await,
            None => std::future::pending().await,
        }
    }
}

impl Drop for Armed {
    fn drop(&mut self) {
        self.total.sub(*self.pending.get_mut());
    }
}

/// Bytes of a browser's (masked) frame carrying `payload` bytes.
pub(super) fn client_frame_len(payload: usize) -> usize {
    let length = match payload {
        0..=125 => 0,
        126..=65535 => 2,
        _ => 8,
    };
    2 + length + 4 + payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_count_until_a_message_takes_them_and_the_rest_goes_at_drop() {
        let total = Arc::new(HeldBytes::default());
        let inbound = Inbound::default();
        inbound.received(100);
        assert_eq!(total.get(), 0, "unarmed: the HTTP request is not counted");
        inbound.arm(total.clone(), 1000, 600);
        inbound.received(client_frame_len(300) + 50);
        assert_eq!(total.get(), client_frame_len(300) + 50);
        inbound.taken(client_frame_len(300));
        assert_eq!((inbound.pending(), total.get()), (50, 50));
        inbound.received(10_000);
        assert_eq!(
            inbound.pending(),
            600,
            "never above what one session can hold"
        );
        drop(inbound);
        assert_eq!(total.get(), 0);
    }

    #[tokio::test]
    async fn a_read_over_the_budget_marks_its_session() {
        let total = Arc::new(HeldBytes::default());
        let first = Inbound::default();
        first.arm(total.clone(), 100, 1000);
        first.received(90);
        let second = Inbound::default();
        second.arm(total.clone(), 100, 1000);
        second.received(20);
        second.over_budget().await;
        assert!(first.armed.get().is_some_and(|a| !a.over.is_cancelled()));
    }
}
