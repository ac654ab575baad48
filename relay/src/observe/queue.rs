//! One session's observations waiting for the browser: a queue that merges
//! rather than grows.
//!
//! - Byte events (`write`, `read`, `server_recv`, `server_send`) come one per
//!   system call until more than `burst` events arrive within one 10 ms
//!   window, or the queue is full; then each merges into the last queued
//!   event of its kind (its `count` grows, `len` and `sent` add up), as long
//!   as no other kind of event (a connect, an EOF, a request…) came between.
//! - Socket samples: one per socket and TCP state is queued at most (a
//!   change of state is never merged away); a newer sample in the same
//!   state replaces the queued one in place (keeping its `t_us`, so that times
//!   in the stream never run backwards; a merged byte event keeps its first). A sample equal to the last one is
//!   dropped unless a queue is non-empty and `sample_every` has passed (the
//!   page then sees that bytes are still stuck).
//! - Log lines beyond the burst, and anything that finds the queue full
//!   and nothing to merge into, are counted; the count goes out as one
//!   `lost` event once the queue has drained.
//!
//! - A watch stream (`/ws?watch=NAME`) carries several connections' events,
//!   each tagged with its `conn`: merges stay within one connection, and
//!   each connection's socket has a sample slot of its own (freed at its
//!   `server_close`).
//!
//! - The bytes `server_recv` events carry (`data`, watch streams only) count
//!   against `data_bytes`; an event that would pass it, or a merge that
//!   would pass `data_per_event`, goes on without its bytes (`data` absent:
//!   the page says they were not kept).
//!
//! So a session holds at most `capacity` events and `data_bytes` received
//! bytes, whatever a target or a browser does.

use std::collections::{HashMap, VecDeque};

use protocol::relay_api::{Observation, Observed, SocketInfo};

/// Length of the window in which `burst` byte events pass unmerged.
pub const WINDOW_US: u64 = 10_000;

/// How much a session's queue may hold and pass unmerged.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Most events queued.
    pub capacity: usize,
    /// Byte events (and log lines) per [`WINDOW_US`] sent one by one.
    pub burst: u32,
    /// Microseconds after which an unchanged sample of a socket with bytes
    /// queued is sent again.
    pub sample_every_us: u64,
    /// Most received bytes (`server_recv`'s `data`) held at once.
    pub data_bytes: usize,
    /// Most received bytes one (merged) event carries.
    pub data_per_event: usize,
}

#[derive(Debug, Default)]
struct SocketSlot {
    at: Option<u64>,
    last: Option<(SocketInfo, u64)>,
}

/// The queue; the caller stamps events and holds the lock.
#[derive(Debug)]
pub struct Queue {
    budget: Budget,
    events: VecDeque<Observation>,
    /// Sequence number of `events[0]`; positions below are gone.
    head: u64,
    /// Per socket (relay's or server's, of which connection): where its
    /// queued sample is, and the last sample accepted and when.
    sockets: HashMap<(usize, Option<u64>), SocketSlot>,
    /// Where the event each byte kind may merge into is.
    merge_at: [Option<u64>; 4],
    window: u64,
    in_window: u32,
    lost: u64,
    /// Bytes of `data` the queued events hold.
    held_data: usize,
    /// The `lost` event's time: its last loss, or the last event sent
    /// before it if later (times never run backwards).
    lost_at: u64,
}

enum Class {
    Bytes(usize),
    Socket(usize, SocketInfo),
    Log,
    Other,
}

fn class(event: &Observed) -> Class {
    match event {
        Observed::Write { .. } => Class::Bytes(0),
        Observed::Read { .. } => Class::Bytes(1),
        // A failed call is a fact of its own (EAGAIN, ECONNRESET): never
        // merged into a count.
        Observed::ServerRecv { error: Some(_), .. }
        | Observed::ServerSend { error: Some(_), .. } => Class::Other,
        Observed::ServerRecv { .. } => Class::Bytes(2),
        Observed::ServerSend { .. } => Class::Bytes(3),
        Observed::Socket(info) => Class::Socket(0, *info),
        Observed::ServerSocket(info) => Class::Socket(1, *info),
        Observed::ServerLog { .. } => Class::Log,
        _ => Class::Other,
    }
}

impl Queue {
    pub fn new(budget: Budget) -> Queue {
        Queue {
            budget,
            events: VecDeque::new(),
            head: 0,
            sockets: HashMap::new(),
            merge_at: [None; 4],
            window: 0,
            in_window: 0,
            lost: 0,
            held_data: 0,
            lost_at: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.lost == 0
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    fn full(&self) -> bool {
        self.events.len() >= self.budget.capacity
    }

    fn queued(&mut self, at: Option<u64>) -> Option<&mut Observation> {
        let at = at?.checked_sub(self.head)?;
        self.events.get_mut(usize::try_from(at).ok()?)
    }

    fn append(&mut self, t_us: u64, conn: Option<u64>, mut event: Observed) -> u64 {
        let len = data_len(&event);
        if len > 0 {
            if self.held_data + len > self.budget.data_bytes {
                drop_data(&mut event);
            } else {
                self.held_data += len;
            }
        }
        let seq = self.head + self.events.len() as u64;
        self.events.push_back(Observation { t_us, event, conn });
        seq
    }

    fn lose(&mut self, t_us: u64) {
        self.lost += 1;
        self.lost_at = self.lost_at.max(t_us);
    }

    /// Over the burst for this window (counting this event)?
    fn over_burst(&mut self, t_us: u64) -> bool {
        let window = t_us / WINDOW_US;
        if window != self.window {
            self.window = window;
            self.in_window = 0;
        }
        self.in_window = self.in_window.saturating_add(1);
        self.in_window > self.budget.burst
    }

    /// Takes one event observed at `t_us`; false if it changed nothing
    /// (a repeated sample) so nobody needs waking.
    pub fn push(&mut self, t_us: u64, event: Observed) -> bool {
        self.push_conn(t_us, None, event)
    }

    /// [`push`](Self::push) for an event of connection `conn`.
    pub fn push_conn(&mut self, t_us: u64, conn: Option<u64>, event: Observed) -> bool {
        match class(&event) {
            Class::Bytes(kind) => {
                let over = self.over_burst(t_us);
                if over || self.full() {
                    let budget = self.budget;
                    let held = self.held_data;
                    if let Some(queued) = self.queued(self.merge_at[kind]) {
                        if queued.conn == conn {
                            let before = data_len(&queued.event);
                            merge(&mut queued.event, event);
                            let after = data_len(&queued.event);
                            let mut held = held - before + after;
                            if after > budget.data_per_event || held > budget.data_bytes {
                                drop_data(&mut queued.event);
                                held -= after;
                            }
                            self.held_data = held;
                            return true;
                        }
                    }
                    if self.full() {
                        self.lose(t_us);
                        return true;
                    }
                }
                let seq = self.append(t_us, conn, event);
                self.merge_at[kind] = Some(seq);
            }
            Class::Socket(which, info) => {
                let budget = self.budget;
                let slot = self.sockets.entry((which, conn)).or_default();
                if let Some((last, at)) = slot.last {
                    let stuck = info.recv_q > 0 || info.send_q > 0;
                    let due = t_us.saturating_sub(at) >= budget.sample_every_us;
                    if last == info && !(stuck && due) {
                        return false;
                    }
                }
                slot.last = Some((info, t_us));
                let state = |e: &Observed| match e {
                    Observed::Socket(i) | Observed::ServerSocket(i) => Some(i.state),
                    _ => None,
                };
                // A new TCP state is never merged away: the page draws the
                // path each socket took (FIN_WAIT2 before TIME_WAIT).
                let at = slot.at;
                let same_state = self
                    .queued(at)
                    .is_some_and(|q| state(&q.event) == Some(info.state));
                if let Some(queued) = self.queued(at).filter(|_| same_state) {
                    // The slot keeps its time: the stream's t_us never runs backwards.
                    queued.event = event;
                } else if self.full() {
                    self.lose(t_us);
                } else {
                    let seq = self.append(t_us, conn, event);
                    if let Some(slot) = self.sockets.get_mut(&(which, conn)) {
                        slot.at = Some(seq);
                    }
                }
            }
            Class::Log => {
                if self.over_burst(t_us) || self.full() {
                    self.lose(t_us);
                } else {
                    self.append(t_us, conn, event);
                }
            }
            Class::Other => {
                // Merging never reaches across a connect, an EOF or a request:
                // the order of what happened stays readable.
                self.merge_at = [None; 4];
                if conn.is_some() && matches!(event, Observed::ServerClose) {
                    // A watched connection's last event: its slots go with it.
                    self.sockets.retain(|(_, c), _| *c != conn);
                }
                if self.full() {
                    self.lose(t_us);
                } else {
                    self.append(t_us, conn, event);
                }
            }
        }
        true
    }

    /// The oldest event; after the last one, the `lost` count if any.
    pub fn pop(&mut self) -> Option<Observation> {
        if let Some(event) = self.events.pop_front() {
            self.head += 1;
            self.held_data -= data_len(&event.event);
            self.lost_at = self.lost_at.max(event.t_us);
            return Some(event);
        }
        if self.lost == 0 {
            return None;
        }
        let events = std::mem::take(&mut self.lost);
        Some(Observation {
            t_us: self.lost_at,
            event: Observed::Lost { events },
            conn: None,
        })
    }

    /// Forgets everything queued (the session is over).
    pub fn clear(&mut self) {
        self.head += self.events.len() as u64;
        self.events = VecDeque::new();
        self.lost = 0;
        self.held_data = 0;
    }
}

/// Bytes of received data `event` holds.
fn data_len(event: &Observed) -> usize {
    match event {
        Observed::ServerRecv {
            data: Some(data), ..
        } => data.len(),
        _ => 0,
    }
}

/// Sends `event` on without its received bytes.
fn drop_data(event: &mut Observed) {
    if let Observed::ServerRecv { data, .. } = event {
        *data = None;
    }
}

/// Adds `newer` (of the same kind) into `into`.
fn merge(into: &mut Observed, newer: Observed) {
    use Observed::*;
    match (into, newer) {
        (
            Write { len, sent, count },
            Write {
                len: l, sent: s, ..
            },
        ) => {
            *len += l;
            *sent += s;
            *count = count.saturating_add(1);
        }
        (
            ServerSend {
                len,
                sent,
                count,
                blocked_us,
                ..
            },
            ServerSend {
                len: l,
                sent: s,
                blocked_us: b,
                ..
            },
        ) => {
            *len += l;
            *sent += s;
            *count = count.saturating_add(1);
            *blocked_us = add(*blocked_us, b);
        }
        (Read { len, count }, Read { len: l, .. }) => {
            *len += l;
            *count = count.saturating_add(1);
        }
        (
            ServerRecv {
                len,
                count,
                decoder,
                asked,
                blocked_us,
                data,
                ..
            },
            ServerRecv {
                len: l,
                decoder: d,
                asked: a,
                blocked_us: b,
                data: more,
                ..
            },
        ) => {
            *len += l;
            *count = count.saturating_add(1);
            // The state after the last chunk is the state after them all.
            *decoder = d;
            *asked = add(*asked, a);
            *blocked_us = add(*blocked_us, b);
            // The bytes of all the calls, or none: a part would not be
            // what they got.
            match (data.as_mut(), more) {
                (Some(data), Some(more)) => data.extend_from_slice(&more),
                _ => *data = None,
            }
        }
        _ => unreachable!("merge_at only points at events of the same kind"),
    }
}

/// Totals of an optional figure: known only if known for every call.
fn add(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    Some(a?.saturating_add(b?))
}
