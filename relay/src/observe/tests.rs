//! The observation queue's bounds and merges, the hub's pairing, and what a
//! recorded session's observer records and queues.

use std::sync::Arc;
use std::time::Instant;

use protocol::relay_api::{Observed, SocketInfo, TcpState};
use tutorial::servers::observe::ServerHook;

use super::queue::{Budget, Queue, WINDOW_US};
use super::{Hub, SessionObserver};
use crate::config::RelayConfig;

fn budget(capacity: usize, burst: u32) -> Budget {
    Budget {
        capacity,
        burst,
        sample_every_us: 100_000,
        data_bytes: 1024,
        data_per_event: 256,
    }
}

fn write(len: u64) -> Observed {
    Observed::Write {
        len,
        sent: len,
        count: 1,
    }
}

fn socket(send_q: u64) -> Observed {
    Observed::Socket(SocketInfo {
        state: TcpState::Established,
        recv_q: 0,
        send_q,
        rtt_us: None,
        unacked: None,
        retransmits: None,
    })
}

fn drain(queue: &mut Queue) -> Vec<Observed> {
    std::iter::from_fn(|| queue.pop())
        .map(|o| o.event)
        .collect()
}

#[test]
fn byte_events_beyond_the_burst_merge_with_a_count_and_totals() {
    let mut queue = Queue::new(budget(100, 3));
    for i in 0..10 {
        queue.push(i, write(10));
    }
    let events = drain(&mut queue);
    assert_eq!(
        events,
        vec![
            write(10),
            write(10),
            Observed::Write {
                len: 80,
                sent: 80,
                count: 8
            }
        ]
    );
    // A new window passes events one by one again.
    queue.push(WINDOW_US * 5, write(1));
    queue.push(WINDOW_US * 5 + 1, write(1));
    assert_eq!(drain(&mut queue).len(), 2);
}

#[test]
fn merging_never_crosses_another_kind_of_event() {
    let mut queue = Queue::new(budget(100, 0));
    queue.push(1, write(1));
    queue.push(2, Observed::ShutdownWrite);
    queue.push(3, write(1));
    queue.push(4, write(1));
    let events = drain(&mut queue);
    assert_eq!(events.len(), 3, "{events:?}");
}

#[test]
fn a_full_queue_merges_or_counts_and_never_grows() {
    let mut queue = Queue::new(budget(4, 1000));
    queue.push(0, write(1));
    for t in 1..1000 {
        queue.push(t, Observed::Eof);
        queue.push(t, write(1));
        assert!(queue.len() <= 4);
    }
    let events = drain(&mut queue);
    let lost: u64 = events
        .iter()
        .map(|e| match e {
            Observed::Lost { events } => *events,
            _ => 0,
        })
        .sum();
    assert_eq!(
        events.len(),
        5,
        "four kept, then one lost event: {events:?}"
    );
    assert!(lost > 1000, "{lost}");
    assert!(queue.is_empty());
}

#[test]
fn only_the_newest_sample_of_a_socket_waits_and_repeats_are_dropped() {
    let mut queue = Queue::new(budget(100, 100));
    assert!(queue.push(0, socket(5)));
    assert!(queue.push(10, socket(7)));
    assert!(!queue.push(20, socket(7)), "same as the last one");
    assert_eq!(drain(&mut queue), vec![socket(7)]);
    // Bytes still stuck: the same sample goes out again once due.
    assert!(!queue.push(50_000, socket(7)));
    assert!(queue.push(200_000, socket(7)));
}

#[test]
fn a_change_of_tcp_state_is_queued_behind_the_last_never_merged_into_it() {
    let in_state = |state, send_q| {
        Observed::Socket(SocketInfo {
            state,
            ..match socket(send_q) {
                Observed::Socket(info) => info,
                _ => unreachable!(),
            }
        })
    };
    let mut queue = Queue::new(budget(100, 100));
    queue.push(0, in_state(TcpState::Established, 5));
    queue.push(1, in_state(TcpState::FinWait1, 5));
    queue.push(2, in_state(TcpState::FinWait2, 0));
    queue.push(3, in_state(TcpState::TimeWait, 0));
    queue.push(4, in_state(TcpState::TimeWait, 0));
    assert_eq!(
        drain(&mut queue),
        vec![
            in_state(TcpState::Established, 5),
            in_state(TcpState::FinWait1, 5),
            in_state(TcpState::FinWait2, 0),
            in_state(TcpState::TimeWait, 0),
        ]
    );
}

#[test]
fn log_lines_beyond_the_burst_are_counted_as_lost() {
    let mut queue = Queue::new(budget(100, 2));
    for t in 0..5 {
        queue.push(
            t,
            Observed::ServerLog {
                level: protocol::relay_api::LogLevel::Info,
                line: "Echoing".into(),
            },
        );
    }
    let events = drain(&mut queue);
    assert_eq!(events.len(), 3);
    assert_eq!(events[2], Observed::Lost { events: 3 });
}

#[test]
fn the_hub_gives_a_connection_to_the_session_expecting_it_once() {
    let hub = Arc::new(Hub::default());
    let observer = SessionObserver::new(Instant::now(), &RelayConfig::default());
    let relay = "127.0.0.1:50000".parse().unwrap();
    let server = "127.0.0.1:40000".parse().unwrap();
    let other = "127.0.0.1:50001".parse().unwrap();
    let expected = hub.expect(relay, server, &observer);
    assert!(hub.accepted(server, other).is_none(), "not this session's");
    assert!(hub.accepted(server, relay).is_some());
    assert!(hub.accepted(server, relay).is_none(), "claimed once");
    drop(expected);
    assert_eq!(hub.waiting(), 0);
    // An unclaimed registration goes with its session.
    let expected = hub.expect(relay, server, &observer);
    assert_eq!(hub.waiting(), 1);
    drop(expected);
    assert_eq!(hub.waiting(), 0);
}

fn bytes_event(sent: u64) -> Observed {
    Observed::Write {
        len: 10,
        sent,
        count: 1,
    }
}

#[tokio::test]
async fn a_recorded_session_the_browser_did_not_ask_to_observe_queues_nothing_for_it() {
    let (record, dir) =
        crate::record::tests::recorder(1 << 20, crate::record::Recordings::unbounded());
    let started = Instant::now();
    let record = Arc::new(record);
    record.connected(None, "127.0.0.1:9".parse().unwrap(), 1); // files only with a TCP leg
    let config = RelayConfig::default();
    let observer = SessionObserver::with_sinks(started, &config, false, Some(record.clone()));
    observer.push(Observed::Eof);
    observer.push(bytes_event(10));
    assert!(!observer.pending());
    assert!(observer.drain(&mut (1 << 20)).is_empty());
    let recorded: Vec<Observed> = crate::record::tests::saved(&record, &dir)
        .await
        .observations
        .into_iter()
        .map(|o| o.event)
        .collect();
    assert_eq!(recorded, [Observed::Eof, bytes_event(10)]);
}

#[tokio::test]
async fn the_recording_takes_each_byte_event_the_browsers_queue_merges() {
    let (record, dir) =
        crate::record::tests::recorder(1 << 20, crate::record::Recordings::unbounded());
    let started = Instant::now();
    let record = Arc::new(record);
    record.connected(None, "127.0.0.1:9".parse().unwrap(), 1); // files only with a TCP leg
    let config = RelayConfig {
        observe_burst: 1,
        ..RelayConfig::default()
    };
    let observer = SessionObserver::with_sinks(started, &config, true, Some(record.clone()));
    for sent in 1..=3 {
        observer.push(bytes_event(sent));
    }
    let sent = observer.drain(&mut (1 << 20));
    let recorded = crate::record::tests::saved(&record, &dir)
        .await
        .observations;
    assert_eq!(recorded.len(), 3, "{recorded:?}");
    assert!(sent.len() < 3, "merged for the browser: {sent:?}");
    assert!(recorded.windows(2).all(|w| w[0].t_us <= w[1].t_us));
}

fn recv(data: &[u8]) -> Observed {
    Observed::ServerRecv {
        len: data.len() as u64,
        count: 1,
        decoder: None,
        asked: None,
        blocked_us: None,
        error: None,
        data: Some(data.to_vec()),
    }
}

#[test]
fn a_watch_streams_connections_merge_each_within_itself() {
    // Burst 0: every byte event tries to merge.
    let mut queue = Queue::new(budget(100, 0));
    queue.push_conn(1, Some(1), recv(b"ab"));
    queue.push_conn(2, Some(2), recv(b"xy"));
    queue.push_conn(3, Some(2), recv(b"z"));
    queue.push_conn(4, Some(1), recv(b"c"));
    let events: Vec<_> = std::iter::from_fn(|| queue.pop())
        .map(|o| (o.conn, o.event))
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(events[0], (Some(1), recv(b"ab")));
    let merged = Observed::ServerRecv {
        len: 3,
        count: 2,
        decoder: None,
        asked: None,
        blocked_us: None,
        error: None,
        data: Some(b"xyz".to_vec()),
    };
    assert_eq!(events[1], (Some(2), merged));
    assert_eq!(
        events[2],
        (Some(1), recv(b"c")),
        "conn 1 never merges into conn 2"
    );
}

#[test]
fn each_watched_connection_has_its_own_socket_sample() {
    let mut queue = Queue::new(budget(100, 100));
    let sample = |q| match socket(q) {
        Observed::Socket(info) => Observed::ServerSocket(info),
        _ => unreachable!(),
    };
    queue.push_conn(0, Some(1), sample(1));
    queue.push_conn(1, Some(2), sample(2));
    queue.push_conn(2, Some(1), sample(3));
    let events: Vec<_> = std::iter::from_fn(|| queue.pop())
        .map(|o| (o.conn, o.event))
        .collect();
    assert_eq!(events, [(Some(1), sample(3)), (Some(2), sample(2))]);
}

#[test]
fn received_bytes_are_held_up_to_the_budget_then_go_without_their_data() {
    // 1024 bytes in all, 256 per event (see `budget`).
    let mut queue = Queue::new(budget(100, 100));
    for t in 0..5 {
        queue.push_conn(t, Some(1), recv(&[7; 250]));
    }
    let kept: Vec<bool> = std::iter::from_fn(|| queue.pop())
        .map(|o| matches!(o.event, Observed::ServerRecv { data: Some(_), .. }))
        .collect();
    assert_eq!(kept, [true, true, true, true, false]);
    // Drained, the budget is free again; a merge past 256 bytes drops them.
    let mut queue = Queue::new(budget(100, 0));
    queue.push_conn(0, Some(1), recv(&[7; 200]));
    queue.push_conn(1, Some(1), recv(&[7; 100]));
    match queue.pop().unwrap().event {
        Observed::ServerRecv {
            len, count, data, ..
        } => assert_eq!((len, count, data), (300, 2, None)),
        other => panic!("{other:?}"),
    }
    queue.push_conn(2, Some(1), recv(&[7; 250]));
    assert!(matches!(
        queue.pop().unwrap().event,
        Observed::ServerRecv { data: Some(_), .. }
    ));
}
