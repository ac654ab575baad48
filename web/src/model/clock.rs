//! One clock: every time the page shows is the relay's (`t_us`, counted
//! from the relay's accept of the session's WebSocket), so the diagram,
//! the Server panel and the transcript agree with each other, with the
//! relay's `--record` files, and with a replay of the session.
//!
//! The page's own events (a message sent, a chunk received) happen on the
//! page's clock, which runs late by however long the page took to learn of
//! them. Each is placed at the relay's observation of the same system
//! call: the k-th chunk received is the relay's k-th `recv()` (each binary
//! message is one relay read, and its `read` observation comes before it);
//! the k-th message sent is the `send()` that starts the k-th message;
//! the half-close is the relay's `shutdown()`, the relay's close its
//! `close()`. An event without such an observation (an unobserved
//! session, a browser's own close, a flood) is placed by the page's clock
//! counted from the WebSocket's open (when the relay accepted it, as near
//! as the page can see), and marked as such ([`At::exact`] false).

use protocol::relay_api::Observed;

use super::observe::Observe;
use super::session::{Party, Session, TimelineKind};

/// Where the diagram, the transcript table and the Server panel say their
/// times come from.
pub const CLOCK_NOTE: &str = "times: the relay's clock, ms since it accepted this session's WebSocket; ≈ marks a time the relay did not observe (the page's clock, counted from the WebSocket's open)";

/// A time on the relay's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct At {
    /// Milliseconds since the relay accepted the session.
    pub ms: f64,
    /// The relay observed it (else: the page's clock, aligned at the open).
    pub exact: bool,
}

/// `x` to one decimal (`12.3`) or to whole units (`12`), ties to even as
/// `{:.1}` rounds them, spelled without core's float formatter, which would
/// cost the page's wasm several kB (issue 20).
pub fn fixed(x: f64, one_decimal: bool) -> String {
    let n = (x * if one_decimal { 10.0 } else { 1.0 }).round_ties_even();
    let sign = if n < 0.0 { "-" } else { "" };
    let n = n.abs() as u64;
    if one_decimal {
        format!("{sign}{}.{}", n / 10, n % 10)
    } else {
        format!("{sign}{n}")
    }
}

impl At {
    /// `12.3 ms`, or `≈12 ms` when not observed by the relay.
    pub fn label(self) -> String {
        if self.exact {
            format!("{} ms", fixed(self.ms, true))
        } else {
            format!("≈{} ms", fixed(self.ms, false))
        }
    }

    /// Microseconds, for a transcript.
    pub fn micros(self) -> u64 {
        (self.ms.max(0.0) * 1000.0).round() as u64
    }
}

/// The relay's observed system calls, in order, that the page's events
/// pair with.
#[derive(Debug, Default)]
struct Calls {
    /// One entry per `recv()` that returned bytes.
    reads: Vec<u64>,
    /// The `send()` that began each message.
    messages: Vec<u64>,
    shutdown: Option<u64>,
    close: Option<u64>,
}

fn calls(observe: &Observe) -> Calls {
    let mut c = Calls::default();
    // Bytes of the current message the kernel has yet to take.
    let mut rest = 0u64;
    for o in &observe.recorded {
        match &o.event {
            Observed::Read { count, .. } => {
                c.reads.extend(std::iter::repeat_n(o.t_us, *count as usize));
            }
            Observed::Write { len, sent, .. } => {
                if rest == 0 {
                    c.messages.push(o.t_us);
                    rest = *len;
                }
                rest = rest.saturating_sub(*sent);
            }
            Observed::ShutdownWrite => c.shutdown = c.shutdown.or(Some(o.t_us)),
            Observed::Close => c.close = c.close.or(Some(o.t_us)),
            _ => {}
        }
    }
    c
}

/// The relay-clock time of each of `session`'s timeline events, in order.
pub fn relay_times(session: &Session, observe: &Observe) -> Vec<At> {
    let open_ms = session
        .timeline
        .iter()
        .find(|e| matches!(e.kind, TimelineKind::Open))
        .map_or(0.0, |e| e.at_ms);
    let observed = observe.active();
    let c = calls(observe);
    let (mut reads, mut messages) = (c.reads.iter(), c.messages.iter());
    let exact = |t_us: u64| At {
        ms: t_us as f64 / 1000.0,
        exact: true,
    };
    session
        .timeline
        .iter()
        .map(|e| {
            let paired = match &e.kind {
                // The relay's clock starts at its accept of the WebSocket.
                TimelineKind::Connect { .. } | TimelineKind::Open if observed => Some(0),
                TimelineKind::Send { .. } if observed => messages.next().copied(),
                TimelineKind::Receive { .. } if observed => reads.next().copied(),
                TimelineKind::HalfClose => c.shutdown,
                TimelineKind::Close {
                    by: Party::Relay, ..
                } => c.close,
                _ => None,
            };
            paired.map_or(
                At {
                    ms: (e.at_ms - open_ms).max(0.0),
                    exact: false,
                },
                exact,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use protocol::relay_api::Observation;

    use super::*;
    use crate::model::replay::{actions, transcript};
    use crate::model::session::SessionAction;
    use crate::model::state::{reduce_session, State};

    fn observed(at: f64, t_us: u64, event: Observed) -> SessionAction {
        SessionAction::Observed {
            id: 1,
            at,
            observation: Observation::new(t_us, event),
        }
    }

    /// The page learned late of everything: a relay that did its work in
    /// 19.4 ms while the page's clock saw 84 ms.
    fn late_session() -> State {
        let mut state = State::default();
        let script = vec![
            SessionAction::Connecting {
                id: 1,
                target: "app".into(),
                at: 1000.0,
            },
            observed(
                1010.0,
                0,
                Observed::Observing {
                    target: "app".into(),
                    server: true,
                },
            ),
            SessionAction::Opened { id: 1, at: 1012.0 },
            SessionAction::Sent {
                id: 1,
                at: 1020.0,
                bytes: vec![1; 10],
            },
            observed(
                1060.0,
                1_900,
                Observed::Write {
                    len: 10,
                    sent: 6,
                    count: 1,
                },
            ),
            observed(
                1060.0,
                2_100,
                Observed::Write {
                    len: 4,
                    sent: 4,
                    count: 1,
                },
            ),
            observed(
                1061.0,
                19_400,
                Observed::ServerSend {
                    len: 3,
                    sent: 3,
                    count: 1,
                    blocked_us: None,
                    error: None,
                },
            ),
            observed(1084.0, 19_550, Observed::Read { len: 3, count: 1 }),
            SessionAction::Received {
                id: 1,
                at: 1084.0,
                bytes: vec![2; 3],
            },
            observed(1090.0, 19_700, Observed::Eof),
            observed(1090.0, 19_800, Observed::Close),
            SessionAction::Closed {
                id: 1,
                at: 1095.0,
                code: 1000,
                reason: "target closed the connection".into(),
                clean: true,
            },
        ];
        for action in script {
            reduce_session(&mut state, action);
        }
        state
    }

    #[test]
    fn the_pages_events_take_the_relays_times_of_the_same_calls() {
        let state = late_session();
        let times = relay_times(&state.session, &state.observe);
        let labels: Vec<String> = times.iter().map(|t| t.label()).collect();
        // connect, open, send, receive, close
        assert_eq!(labels, ["0.0 ms", "0.0 ms", "1.9 ms", "19.6 ms", "19.8 ms"]);
        assert!(times.iter().all(|t| t.exact));
    }

    #[test]
    fn an_unobserved_event_is_placed_by_the_pages_clock_from_the_open_and_says_so() {
        let mut state = late_session();
        reduce_session(&mut state, SessionAction::Closing { id: 1, at: 1092.0 });
        let times = relay_times(&state.session, &state.observe);
        let last = times.last().unwrap();
        assert!(!last.exact);
        assert_eq!(last.label(), "≈80 ms");
    }

    #[test]
    fn a_session_and_its_replay_show_the_same_times() {
        let live = late_session();
        let t = transcript(&live.session, &live.observe);
        assert_eq!(t.observed_from_us, 0, "one clock: the relay's");
        let mut replayed = State::default();
        for action in actions(&t) {
            reduce_session(&mut replayed, action);
        }
        let live_times = relay_times(&live.session, &live.observe);
        let replay_times = relay_times(&replayed.session, &replayed.observe);
        let labels = |ts: &[At]| ts.iter().map(|t| t.label()).collect::<Vec<_>>();
        assert_eq!(labels(&replay_times), labels(&live_times));
    }

    #[test]
    fn fixed_spells_times_as_core_s_formatter_did_but_at_exact_ties() {
        for t_us in 0..300_000u64 {
            let ms = t_us as f64 / 1000.0;
            let (ours, core) = (fixed(ms, true), format!("{ms:.1}"));
            // 1.15 ms is stored a hair below 1.15: core said 1.1, we say 1.2;
            // both are as near to the true time, 1150 µs.
            assert!(
                ours == core || t_us % 100 == 50,
                "{t_us} µs: {ours} vs {core}"
            );
            let (ours, core) = (fixed(ms, false), format!("{ms:.0}"));
            assert!(
                ours == core || t_us % 1000 == 500,
                "{t_us} µs: {ours} vs {core}"
            );
        }
        assert_eq!(fixed(2.25, true), "2.2", "an exact tie goes to even");
        assert_eq!(fixed(2.5, false), "2");
        assert_eq!(fixed(1234.56, true), "1234.6");
    }
}
