//! The lab's reducer fed two connections' observation streams, interleaved
//! as the relay delivers them.

use protocol::relay_api::{LogLevel, Observation, Observed, Readiness};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;

fn observed(lab: &mut Lab, conn: usize, event: Observed) {
    lab.reduce(ManyAction::Conn {
        run: 1,
        conn,
        event: ConnEvent::Observed(Observation::new(0, event)),
    });
}

fn ready(iteration: u64, ready: u32, io: Readiness) -> Observed {
    Observed::ServerReady {
        iteration,
        ready,
        io,
    }
}

#[test]
fn two_streams_merge_into_the_servers_iterations() {
    let mut lab = Lab::default();
    lab.reduce(ManyAction::Start { run: 1, count: 2 });
    observed(&mut lab, 2, ready(1, 1, Readiness::Accept));
    observed(
        &mut lab,
        2,
        Observed::ServerAccept {
            local: "127.0.0.1:1".into(),
            peer: "127.0.0.1:50002".into(),
        },
    );
    observed(&mut lab, 1, ready(2, 2, Readiness::Accept));
    observed(&mut lab, 2, ready(2, 2, Readiness::ReadWrite));
    observed(
        &mut lab,
        2,
        Observed::ServerRecv {
            len: 22,
            count: 1,
            decoder: None,
            asked: None,
            blocked_us: None,
            error: None,
            data: None,
        },
    );
    observed(
        &mut lab,
        2,
        Observed::ServerLog {
            level: LogLevel::Info,
            line: "Echoing b'Message 1 from client.' to ('127.0.0.1', 50002)".into(),
        },
    );
    observed(
        &mut lab,
        2,
        Observed::ServerSend {
            len: 22,
            sent: 22,
            count: 1,
            blocked_us: None,
            error: None,
        },
    );
    // Another run's late event changes nothing.
    lab.reduce(ManyAction::Conn {
        run: 0,
        conn: 1,
        event: ConnEvent::Closed(1000),
    });

    assert_eq!(lab.conns[0].status, Status::Connecting);
    let keys: Vec<u64> = lab.iterations.iter().map(|(n, _)| *n).collect();
    assert_eq!(keys, [1, 2]);
    let second = &lab.iterations[1].1;
    assert_eq!(second.ready, 2);
    assert_eq!(second.entries.len(), 2);
    assert_eq!(second.entries[0].conn, 1);
    assert_eq!(second.entries[1].io, Readiness::ReadWrite);
    let words: Vec<String> = second.entries[1]
        .calls
        .iter()
        .map(|c| call_words(c, 2))
        .collect();
    assert_eq!(
        words,
        [
            "recv(1024) → 22 bytes",
            "Echoing b'Message 1 from client.' to ('127.0.0.1', 50002)",
            "send() → all 22 bytes"
        ]
    );
    assert_eq!(lane_words(&second.entries[1]), "recv 22 B · send 22 B");
    assert_eq!(call_words(&Call::Accept, 1), "accept() → connection 1");
}

#[test]
fn a_connection_is_echoed_only_when_every_byte_came_back() {
    let mut lab = Lab::default();
    lab.reduce(ManyAction::Start { run: 1, count: 9 });
    assert_eq!(lab.conns.len(), MAX_CONNECTIONS);
    let conn = |event| ManyAction::Conn {
        run: 1,
        conn: 1,
        event,
    };
    lab.reduce(conn(ConnEvent::Sent(MESSAGES[0].as_bytes().to_vec())));
    lab.reduce(conn(ConnEvent::Sent(MESSAGES[1].as_bytes().to_vec())));
    lab.reduce(conn(ConnEvent::Received(MESSAGES[0].as_bytes().to_vec())));
    assert!(!lab.conns[0].echoed());
    lab.reduce(conn(ConnEvent::Received(MESSAGES[1].as_bytes().to_vec())));
    assert!(lab.conns[0].echoed());
    assert!(!lab.conns[1].echoed(), "nothing sent is not an echo");
}

#[test]
fn an_iteration_with_nothing_to_send_says_so() {
    let entry = Entry {
        conn: 1,
        io: Readiness::Write,
        calls: Vec::new(),
    };
    assert_eq!(lane_words(&entry), "writable, nothing to send");
    assert_eq!(
        call_words(&Call::Send { len: 44, sent: 10 }, 1),
        "send() → 10 of 44 bytes"
    );
}

#[test]
fn a_stream_behind_the_others_lands_in_its_iteration() {
    let mut lab = Lab::default();
    lab.reduce(ManyAction::Start { run: 1, count: 2 });
    observed(&mut lab, 1, ready(5, 2, Readiness::Read));
    observed(&mut lab, 2, ready(3, 1, Readiness::Write));
    observed(&mut lab, 2, ready(5, 2, Readiness::Write));
    let keys: Vec<u64> = lab.iterations.iter().map(|(n, _)| *n).collect();
    assert_eq!(keys, [3, 5]);
    assert_eq!(lab.iterations[1].1.entries.len(), 2);
}

#[test]
fn old_iterations_are_dropped_past_the_bound() {
    let mut lab = Lab::default();
    lab.reduce(ManyAction::Start { run: 1, count: 2 });
    for i in 1..=(ITERATION_KEEP as u64 + 5) {
        observed(&mut lab, 1, ready(i, 1, Readiness::Write));
    }
    assert_eq!(lab.iterations.len(), ITERATION_KEEP);
    assert_eq!(lab.iterations[0].0, 6);
}
