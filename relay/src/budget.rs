//! The relay-wide memory budget: the bytes every session holds together
//! ([`HeldBytes`], `/healthz` `buffered_bytes`, bounded by
//! `--max-buffered-bytes`). A leaf: the bridge's sessions and the
//! recordings both count in it, and it uses neither.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes held by every session together.
#[derive(Debug, Default)]
pub struct HeldBytes(AtomicUsize);

impl HeldBytes {
    /// Bytes held now.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts `n` more; returns the new total.
    pub(crate) fn add(&self, n: usize) -> usize {
        self.0.fetch_add(n, Ordering::Relaxed) + n
    }

    pub(crate) fn sub(&self, n: usize) {
        self.0.fetch_sub(n, Ordering::Relaxed);
    }
}
