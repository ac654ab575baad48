//! Transcripts on the page's side: the current session written as a
//! `protocol::capture::Transcript` (the "Export transcript" file and, made
//! from it by the protocol crate, the ".pcapng" download), and a transcript
//! replayed: turned back into the socket events that made the session, so
//! [`reduce`](super::reduce) draws it with the panels of a live one, one
//! event at a time, forward and back (the state's side of a replay, opening
//! and stepping, is `state`'s: this module knows no [`State`](super::State)).
//!
//! The page sees the browser↔relay leg; the transcript describes the
//! relay↔target leg. Each browser message is one relay write and each
//! received message one relay read, so the bytes and their order are the
//! same; times are the relay's, as the page shows them ([`super::clock`]).

use std::rc::Rc;

use protocol::capture::{Closed, Event, EventKind, Transcript};
use protocol::relay_api::{code, CloseReason, Observation, Observed};

use super::clock::relay_times;
use super::observe::Observe;
use super::session::{Party, Session, SessionAction, TimelineKind};

/// Observations a session keeps for its transcript; a flood makes
/// thousands a second, and the transcript says when some were left out.
pub const RECORD_KEEP: usize = 5000;

/// The replayed session's id: live socket events (other ids) change nothing.
pub const REPLAY_ID: u32 = u32::MAX;

/// Keeps `observation` for the transcript while there is room.
pub fn record(observe: &mut Observe, observation: &Observation) {
    if observe.recorded.len() < RECORD_KEEP {
        observe.recorded.push(observation.clone());
    }
}

fn micros(at_ms: f64) -> u64 {
    (at_ms.max(0.0) * 1000.0).round() as u64
}

/// The session as a transcript, on the relay's clock ([`super::clock`]): it
/// starts at the relay's accept, which the page places at its socket's
/// open (`session.started_at` is the page's clock, Unix milliseconds).
pub fn transcript(session: &Session, observe: &Observe) -> Transcript {
    let open_ms = session
        .timeline
        .iter()
        .find(|e| matches!(e.kind, TimelineKind::Open))
        .map_or(0.0, |e| e.at_ms);
    let mut t = Transcript::new(&session.target, micros(session.started_at + open_ms));
    t.client = observe.relay.local.clone();
    t.server = observe.relay.peer.clone();
    t.observations = observe.recorded.clone();
    let times = relay_times(session, observe);
    let mut sent = session.sent_chunks.iter();
    let mut received = session.chunks.iter();
    let mut browser_closed = None;
    for (e, at) in session.timeline.iter().zip(times) {
        let t_us = at.micros();
        let event = match &e.kind {
            TimelineKind::Open => Event::new(t_us, EventKind::Connect),
            TimelineKind::Send { .. } => match sent.next() {
                Some(chunk) => Event::bytes(t_us, EventKind::Sent, &chunk.bytes),
                None => continue,
            },
            TimelineKind::Receive { .. } => match received.next() {
                Some(chunk) => Event::bytes(t_us, EventKind::Received, &chunk.bytes),
                None => continue,
            },
            TimelineKind::HalfClose => Event::new(t_us, EventKind::ShutdownWrite),
            TimelineKind::Flood { len, .. } => Event {
                note: Some(format!("a flood of {len} bytes, not kept by the page")),
                ..Event::new(t_us, EventKind::Truncated)
            },
            TimelineKind::Close {
                by: Party::Browser, ..
            } => {
                browser_closed = Some(t_us);
                continue;
            }
            TimelineKind::Close { code, reason, .. } => {
                let end = match CloseReason::parse(*code, reason) {
                    CloseReason::UpstreamClosed => Some(EventKind::Eof),
                    CloseReason::UpstreamReset => Some(EventKind::Reset),
                    _ => None,
                };
                if let Some(kind) = end {
                    t.events.push(Event::new(t_us, kind));
                }
                t.closed = Some(Closed {
                    t_us,
                    code: *code,
                    reason: reason.clone(),
                    by_browser: browser_closed.is_some(),
                });
                Event::new(t_us, EventKind::Close)
            }
            TimelineKind::Connect { .. } | TimelineKind::Error { .. } => continue,
        };
        t.events.push(event);
    }
    if let (None, Some(t_us)) = (&t.closed, browser_closed) {
        t.events.push(Event::new(t_us, EventKind::Close));
        t.closed = Some(Closed {
            t_us,
            code: code::NORMAL,
            reason: String::new(),
            by_browser: true,
        });
    }
    if observe.recorded.len() >= RECORD_KEEP {
        // Full: later observations may have been left out.
        t.events.push(Event {
            note: Some(format!(
                "the page keeps the first {RECORD_KEEP} observations"
            )),
            ..Event::new(t.events.last().map_or(0, |e| e.t_us), EventKind::Truncated)
        });
    }
    t
}

/// The socket events that replay `t`, in time order; observations are
/// placed on the events' clock by `observed_from_us`.
pub fn actions(t: &Transcript) -> Vec<SessionAction> {
    let id = REPLAY_ID;
    let start = t.started_unix_us as f64 / 1000.0;
    let at = |t_us: u64| start + t_us as f64 / 1000.0;
    let mut timed: Vec<(u64, SessionAction)> = Vec::new();
    for e in &t.events {
        let action = match e.kind {
            EventKind::Connect => SessionAction::Opened { id, at: at(e.t_us) },
            EventKind::Sent => SessionAction::Sent {
                id,
                at: at(e.t_us),
                bytes: e.data.clone(),
            },
            EventKind::Received => SessionAction::Received {
                id,
                at: at(e.t_us),
                bytes: e.data.clone(),
            },
            EventKind::ShutdownWrite => SessionAction::HalfClosed { id, at: at(e.t_us) },
            _ => continue,
        };
        timed.push((e.t_us, action));
    }
    for o in &t.observations {
        let t_us = t.observed_from_us + o.t_us;
        timed.push((
            t_us,
            SessionAction::Observed {
                id,
                at: at(t_us),
                observation: o.clone(),
            },
        ));
    }
    if let Some(c) = &t.closed {
        if c.by_browser {
            timed.push((c.t_us, SessionAction::Closing { id, at: at(c.t_us) }));
        }
        timed.push((
            c.t_us,
            SessionAction::Closed {
                id,
                at: at(c.t_us),
                code: c.code,
                reason: c.reason.clone(),
                clean: true,
            },
        ));
    }
    let times: Vec<u64> = timed.iter().map(|(t_us, _)| *t_us).collect();
    let mut slots: Vec<Option<SessionAction>> = timed.into_iter().map(|(_, a)| Some(a)).collect();
    let mut out = vec![SessionAction::Connecting {
        id,
        target: t.target.clone(),
        at: start,
    }];
    out.extend(
        time_order(&times)
            .into_iter()
            .filter_map(|i| slots[i].take()),
    );
    out
}

/// The indices of `times` in time order, stable: events of one instant keep
/// the order they were written in. A bottom-up merge sort of its own,
/// because core's stable sort would add 3 kB to the page's wasm (issue 20).
fn time_order(times: &[u64]) -> Vec<usize> {
    let n = times.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut merged = Vec::with_capacity(n);
    let mut width = 1;
    while width < n {
        merged.clear();
        for lo in (0..n).step_by(2 * width) {
            let (mid, hi) = ((lo + width).min(n), (lo + 2 * width).min(n));
            let (mut i, mut j) = (lo, mid);
            while i < mid || j < hi {
                // `<=`: of two equal times, the left run's (earlier) first.
                if j == hi || (i < mid && times[order[i]] <= times[order[j]]) {
                    merged.push(order[i]);
                    i += 1;
                } else {
                    merged.push(order[j]);
                    j += 1;
                }
            }
        }
        std::mem::swap(&mut order, &mut merged);
        width *= 2;
    }
    order
}

/// A transcript being stepped through.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// The file's name.
    pub name: String,
    pub transcript: Rc<Transcript>,
    pub actions: Rc<Vec<SessionAction>>,
    /// How many of `actions` are shown (at least the first, the connect).
    pub at: usize,
}

impl Replay {
    /// Where the replay stands, as the page says it wherever a live
    /// session's state would show: "replay, step k of n".
    pub fn position(&self) -> String {
        format!("replay, step {} of {}", self.at, self.actions.len())
    }

    /// What the latest shown step was, in a few words.
    pub fn step_words(&self) -> String {
        match self.actions.get(self.at.wrapping_sub(1)) {
            Some(SessionAction::Connecting { target, .. }) => {
                format!("browser opens /ws?target={target}")
            }
            Some(SessionAction::Opened { .. }) => "the relay connected to the target".into(),
            Some(SessionAction::Sent { bytes, .. }) => format!("sent {} bytes", bytes.len()),
            Some(SessionAction::Received { bytes, .. }) => {
                format!("received {} bytes", bytes.len())
            }
            Some(SessionAction::HalfClosed { .. }) => "browser shut down its sending side".into(),
            Some(SessionAction::Observed { observation, .. }) => match &observation.event {
                Observed::Write { sent, .. } => format!("the relay's send() took {sent} bytes"),
                Observed::Read { len, .. } => format!("the relay's recv() got {len} bytes"),
                Observed::ServerRecv { len, .. } => format!("the server's recv() got {len} bytes"),
                Observed::ServerSend { sent, .. } => {
                    format!("the server's send() took {sent} bytes")
                }
                Observed::Socket(_) | Observed::ServerSocket(_) => {
                    "the kernel's queues, sampled".into()
                }
                _ => "an observation of the sockets".into(),
            },
            Some(SessionAction::Closing { .. }) => "browser closed".into(),
            Some(SessionAction::Closed { code, reason, .. }) => {
                format!("closed ({code} {reason})").replace(" )", ")")
            }
            _ => String::new(),
        }
    }
}

/// Opening and stepping through a transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum ReplayAction {
    /// A transcript file was read: its name and text.
    Open {
        name: String,
        text: String,
    },
    Back,
    Forward,
    /// Leaves the replay (the page is ready for a live session).
    Close,
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
