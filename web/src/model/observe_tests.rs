use protocol::relay_api::{DecoderState, Observation, Observed, SocketInfo, TcpState};
use protocol::{Need, Part};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;

fn obs(t_us: u64, event: Observed) -> Observation {
    Observation::new(t_us, event)
}

fn socket(recv_q: u64, send_q: u64) -> SocketInfo {
    SocketInfo {
        state: TcpState::Established,
        recv_q,
        send_q,
        rtt_us: None,
        unacked: None,
        retransmits: None,
    }
}

#[test]
fn decoder_states_are_said_in_the_protocol_crates_words() {
    let need = Need {
        part: Part::Content,
        have: 20,
        need: 41,
    };
    assert_eq!(
        decoder_words(&DecoderState::Waiting(need)),
        "content: 20 of 41 bytes"
    );
    assert_eq!(
        decoder_words(&DecoderState::Failed {
            error: "content is not valid JSON".into()
        }),
        "stopped: content is not valid JSON"
    );
    // Two frames in one recv(): the first whole, 139 bytes of the second.
    assert_eq!(
        decoder_words(&DecoderState::CompleteWithNext { next: 139 }),
        "a whole request, then 139 bytes of the next"
    );
    assert_eq!(group_digits(16 << 20), "16,777,216");
    assert_eq!(group_digits(999), "999");
}

#[test]
fn addresses_come_from_connect_and_accept_queues_from_the_latest_report() {
    let mut o = Observe::default();
    let events = [
        Observed::Observing {
            target: "app".into(),
            server: true,
        },
        Observed::Connect {
            local: "127.0.0.1:50112".into(),
            peer: "127.0.0.1:40331".into(),
            connect_us: 96,
        },
        Observed::ServerAccept {
            local: "127.0.0.1:40331".into(),
            peer: "127.0.0.1:50112".into(),
        },
        Observed::Socket(socket(0, 10)),
        Observed::ServerSocket(socket(408300, 0)),
        Observed::Socket(socket(0, 269868)),
    ];
    for (i, e) in events.into_iter().enumerate() {
        o.take(i as f64, obs(i as u64, e));
    }
    assert!(o.sees_server());
    assert_eq!(o.relay.local.as_deref(), Some("127.0.0.1:50112"));
    assert_eq!(o.server.local.as_deref(), Some("127.0.0.1:40331"));
    assert_eq!(o.relay.info.unwrap().send_q, 269868);
    assert_eq!(o.server.info.unwrap().recv_q, 408300);
    assert_eq!(o.relay.proto(), "tcp");
    // Kernel reports are for the table, not the diagram.
    assert_eq!(o.lane.len(), 2);
}

#[test]
fn long_runs_keep_exact_totals_and_bounded_lists() {
    let mut o = Observe::default();
    for i in 0..(RECV_KEEP as u64 + 50) {
        o.take(
            i as f64,
            obs(
                i,
                Observed::ServerRecv {
                    len: 10,
                    count: 2,
                    decoder: None,
                    asked: None,
                    blocked_us: None,
                    error: None,
                    data: None,
                },
            ),
        );
        o.take(
            i as f64,
            obs(
                i,
                Observed::Write {
                    len: 100,
                    sent: if i % 2 == 0 { 100 } else { 60 },
                    count: 1,
                },
            ),
        );
    }
    o.take(1e6, obs(1, Observed::Eof));
    let n = RECV_KEEP as u64 + 50;
    assert_eq!(o.recvs.len(), RECV_KEEP);
    assert_eq!(o.recv_calls, 2 * n);
    assert_eq!(o.recv_bytes, 10 * n);
    assert_eq!(o.recvs_dropped(), 2 * 50);
    assert_eq!(o.writes.offered, 100 * n);
    assert_eq!(o.writes.sent, 100 * n - 40 * (n / 2));
    assert_eq!(o.writes.short, n / 2);
    // The diagram keeps its first calls and how the connection ended.
    assert_eq!(o.lane.len(), LANE_KEEP + 1);
    assert_eq!(o.lane_hidden, 2 * n - LANE_KEEP as u64);
    assert_eq!(o.lane.last().unwrap().event, Observed::Eof);
}

#[test]
fn an_unreadable_message_is_one_notice_and_a_count() {
    use crate::model::{reduce, Action, SessionAction, State};
    let mut state = State::default();
    reduce(
        &mut state,
        Action::Session(SessionAction::Connecting {
            id: 1,
            target: "app".into(),
            at: 0.0,
        }),
    );
    for i in 0..3 {
        let error = Observation::from_json(r#"{"kind":"teleport"}"#)
            .unwrap_err()
            .to_string();
        reduce(
            &mut state,
            Action::Session(SessionAction::Unreadable { id: 1, error }),
        );
        if i == 0 {
            let notice = state.view.notice.take().unwrap();
            assert!(notice.contains("cannot read"), "{notice}");
        }
    }
    assert_eq!(state.observe.unreadable, 3);
    assert_eq!(state.view.notice, None);
    // A new session starts from nothing observed.
    reduce(
        &mut state,
        Action::Session(SessionAction::Connecting {
            id: 2,
            target: "app".into(),
            at: 1.0,
        }),
    );
    assert_eq!(*state.observe, Observe::default());
}
