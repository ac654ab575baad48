//! Finished captures kept for the page (`GET /capture/<id>`), each under
//! an unguessable id the session's own WebSocket announced
//! (`relay_api::Observed::Capture`): knowing it is what lets a page fetch
//! a capture, as owning the session is what let it see the bytes.
//!
//! Bounded: a capture is kept `--capture-keep` (10 minutes by default)
//! after its session; what all kept captures hold counts in the relay's
//! held bytes, and the oldest go first where they would take more than
//! half of `--max-buffered-bytes` (the sessions keep the rest).

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Captured;
use crate::budget::HeldBytes;

/// Captures kept for download.
#[derive(Debug)]
pub struct Store {
    keep: Duration,
    held: Arc<HeldBytes>,
    max_held: usize,
    /// Oldest first: (id, when kept, the file).
    entries: Mutex<VecDeque<Entry>>,
    /// Ids of captures still running (at most one per session): a request
    /// for one waits for it a moment ([`Store::wait`]).
    pending: Mutex<HashSet<String>>,
}

type Entry = (String, Instant, Arc<Captured>);

impl Store {
    /// A store keeping captures for `keep`, within half of `max_held`.
    pub fn new(keep: Duration, held: Arc<HeldBytes>, max_held: usize) -> Store {
        Store {
            keep,
            held,
            max_held,
            entries: Mutex::new(VecDeque::new()),
            pending: Mutex::new(HashSet::new()),
        }
    }

    /// An id nobody can guess: 128 random bits, in hex.
    pub fn new_id() -> String {
        let mut bytes = [0u8; 16];
        // SAFETY: getrandom(2) writes at most `len` bytes into a live buffer.
        let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
        if got != bytes.len() as isize {
            // Never on Linux ≥ 3.17 with a seeded pool; an id from the
            // clock and the address of a local would be guessable.
            panic!("getrandom failed: {}", std::io::Error::last_os_error());
        }
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A capture under `id` is running; [`put`](Self::put) or
    /// [`abandon`](Self::abandon) follows.
    pub fn expect(&self, id: &str) {
        self.pending_ids().insert(id.to_owned());
    }

    /// The capture under `id` will not come.
    pub fn abandon(&self, id: &str) {
        self.pending_ids().remove(id);
    }

    fn pending_ids(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.pending.lock().expect("no panics under the lock")
    }

    /// Keeps `captured` under `id` (a zero `--capture-keep` keeps nothing).
    pub fn put(&self, id: String, captured: Arc<Captured>) {
        self.abandon(&id);
        if self.keep.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("no panics under the lock");
        Self::expire(&mut entries, self.keep);
        entries.push_back((id, Instant::now(), captured));
        while self.held.get() > self.max_held / 2 && entries.len() > 1 {
            entries.pop_front();
        }
    }

    /// The capture kept under `id`, if it still is.
    pub fn get(&self, id: &str) -> Option<Arc<Captured>> {
        let mut entries = self.entries.lock().expect("no panics under the lock");
        Self::expire(&mut entries, self.keep);
        entries
            .iter()
            .find(|(key, ..)| key == id)
            .map(|(_, _, c)| c.clone())
    }

    /// [`get`](Self::get), waiting up to `wait` for a capture still
    /// running (its session has just ended; the last segments come in
    /// within `super::FINISH_WAIT`).
    pub async fn wait(&self, id: &str, wait: Duration) -> Option<Arc<Captured>> {
        let until = Instant::now() + wait;
        loop {
            if let Some(found) = self.get(id) {
                return Some(found);
            }
            if !self.pending_ids().contains(id) || Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many captures are kept.
    pub fn len(&self) -> usize {
        self.entries.lock().expect("no panics under the lock").len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn expire(entries: &mut VecDeque<Entry>, keep: Duration) {
        while entries
            .front()
            .is_some_and(|(_, at, ..)| at.elapsed() > keep)
        {
            entries.pop_front();
        }
    }
}
