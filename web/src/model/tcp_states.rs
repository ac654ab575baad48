//! RFC 793's TCP state machine (states as `netstat`/`ss` name them), and
//! the path one socket took through it, read from the states the relay
//! sampled (`socket` / `server_socket` events, kept in
//! [`SocketRow::states`](super::SocketRow)).
//!
//! Samples miss states that last less than the time between two of them
//! (on loopback FIN_WAIT1 and LAST_ACK end inside the `close()` that began
//! them), so between two sampled states the path goes the shortest way the
//! machine allows, and says those states were passed, not seen.

use protocol::relay_api::TcpState;

/// One transition of RFC 793's diagram: from, to, and what causes it.
pub struct Transition {
    pub from: TcpState,
    pub to: TcpState,
    pub cause: &'static str,
}

const fn t(from: TcpState, to: TcpState, cause: &'static str) -> Transition {
    Transition { from, to, cause }
}

use TcpState::*;

/// The transitions a connection's socket can take (RFC 793, figure 6, with
/// FIN_WAIT1's FIN+ACK shortcut to TIME_WAIT, RFC 1122 4.2.2.20). `Close` is
/// CLOSED: where a socket starts (before `connect()`/`listen()`) and where
/// it ends (the kernel dropped it).
pub const TRANSITIONS: [Transition; 18] = [
    t(Close, Listen, "listen()"),
    t(Close, SynSent, "connect(): send SYN"),
    t(Listen, SynRecv, "rcv SYN, send SYN+ACK"),
    t(Listen, SynSent, "send SYN"),
    t(SynSent, SynRecv, "rcv SYN, send ACK"),
    t(SynSent, Established, "rcv SYN+ACK, send ACK"),
    t(SynRecv, Established, "rcv ACK of SYN"),
    t(SynRecv, FinWait1, "close(): send FIN"),
    t(Established, FinWait1, "close(): send FIN"),
    t(Established, CloseWait, "rcv FIN, send ACK"),
    t(FinWait1, FinWait2, "rcv ACK of FIN"),
    t(FinWait1, Closing, "rcv FIN, send ACK"),
    t(FinWait1, TimeWait, "rcv FIN+ACK, send ACK"),
    t(FinWait2, TimeWait, "rcv FIN, send ACK"),
    t(Closing, TimeWait, "rcv ACK of FIN"),
    t(TimeWait, Close, "2 MSL timeout (60 s on Linux)"),
    t(CloseWait, LastAck, "close(): send FIN"),
    t(LastAck, Close, "rcv ACK of FIN"),
];

/// One state on a socket's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub state: TcpState,
    /// The relay sampled it (at this `t_us`); `None`: passed between two
    /// samples, or before the first (the connection's opening).
    pub seen_at: Option<u64>,
}

/// States on the shortest way from `from` to `to` (both excluded), or
/// `None` if the machine has no way. CLOSED is never passed through: a
/// socket that reached it is gone.
fn between(from: TcpState, to: TcpState) -> Option<Vec<TcpState>> {
    let mut came_from: Vec<(TcpState, TcpState)> = Vec::new();
    let mut todo = vec![from];
    let mut next_up = 0;
    while let Some(&at) = todo.get(next_up) {
        next_up += 1;
        if at == Close && at != from {
            continue;
        }
        for next in TRANSITIONS.iter().filter(|e| e.from == at).map(|e| e.to) {
            if next == from || came_from.iter().any(|(s, _)| *s == next) {
                continue;
            }
            came_from.push((next, at));
            if next == to {
                let mut way = Vec::new();
                let mut back = at;
                while back != from {
                    way.push(back);
                    back = came_from.iter().find(|(s, _)| *s == back)?.1;
                }
                way.reverse();
                return Some(way);
            }
            todo.push(next);
        }
    }
    None
}

/// The path a socket took: from `start` (CLOSED for the side that called
/// `connect()`, LISTEN for an accepted socket) through each sampled state,
/// with the states between two samples filled in.
pub fn path(start: TcpState, seen: &[(u64, TcpState)]) -> Vec<Step> {
    let mut steps = vec![Step {
        state: start,
        seen_at: None,
    }];
    for &(t_us, state) in seen {
        let last = steps.last().expect("starts with one").state;
        if state == last {
            continue;
        }
        for passed in between(last, state).unwrap_or_default() {
            steps.push(Step {
                state: passed,
                seen_at: None,
            });
        }
        steps.push(Step {
            state,
            seen_at: Some(t_us),
        });
    }
    steps
}

/// The state's name in the diagram: RFC 793's CLOSED for Linux's CLOSE.
pub fn label(state: TcpState) -> &'static str {
    match state {
        Close => "CLOSED",
        other => other.name(),
    }
}

/// The path in words, as the diagram's caption reads it:
/// `CLOSED → SYN_SENT* → ESTABLISHED → …` (`*`: passed, not sampled).
pub fn path_words(steps: &[Step]) -> String {
    let mut words = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let starred = i > 0 && step.seen_at.is_none();
        words.push(format!(
            "{}{}",
            label(step.state),
            if starred { "*" } else { "" }
        ));
    }
    words.join(" → ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(steps: &[Step]) -> Vec<&'static str> {
        steps.iter().map(|s| label(s.state)).collect()
    }

    #[test]
    fn the_active_closer_passes_fin_wait1_between_samples_and_ends_in_time_wait() {
        let steps = path(
            Close,
            &[
                (10, Established),
                (20, Established),
                (30, FinWait2),
                (40, TimeWait),
            ],
        );
        assert_eq!(
            states(&steps),
            [
                "CLOSED",
                "SYN_SENT",
                "ESTABLISHED",
                "FIN_WAIT1",
                "FIN_WAIT2",
                "TIME_WAIT"
            ]
        );
        assert_eq!(steps[1].seen_at, None, "SYN_SENT was never sampled");
        assert_eq!(steps[2].seen_at, Some(10));
        assert_eq!(steps[3].seen_at, None);
        assert_eq!(
            path_words(&steps),
            "CLOSED → SYN_SENT* → ESTABLISHED → FIN_WAIT1* → FIN_WAIT2 → TIME_WAIT"
        );
    }

    #[test]
    fn the_passive_closer_goes_close_wait_last_ack_closed_from_listen() {
        let steps = path(Listen, &[(5, Established), (9, CloseWait), (12, Close)]);
        assert_eq!(
            states(&steps),
            [
                "LISTEN",
                "SYN_RECV",
                "ESTABLISHED",
                "CLOSE_WAIT",
                "LAST_ACK",
                "CLOSED"
            ]
        );
    }

    #[test]
    fn closed_is_never_passed_through_and_an_impossible_jump_has_no_filling() {
        // TIME_WAIT → ESTABLISHED would need a new connection: no way.
        let steps = path(Close, &[(1, Established), (2, TimeWait), (3, Established)]);
        assert_eq!(
            states(&steps),
            [
                "CLOSED",
                "SYN_SENT",
                "ESTABLISHED",
                "FIN_WAIT1",
                "TIME_WAIT",
                "ESTABLISHED"
            ]
        );
    }
}
