//! A live session exported as a transcript, reopened and stepped through:
//! the same bytes, decoder states and sockets; and the pcapng made from it.

use protocol::app::request;
use protocol::capture::{pcapng, EventKind, Transcript};
use protocol::encode;
use protocol::relay_api::{code, CloseReason, Observation};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;
use crate::model::{reduce, Action, ChunkRecord, State};

fn observation(json: &str) -> Observation {
    Observation::from_json(json).unwrap()
}

/// The morpheus search as the page lives it: the request in two messages,
/// the reply in two reads, observations between, the relay's close.
fn live() -> State {
    let frame = encode(&request("search", "morpheus")).unwrap().bytes;
    let reply = encode(&protocol::app::respond(&request("search", "morpheus")).unwrap())
        .unwrap()
        .bytes;
    let id = 3;
    let t0 = 1_795_000_000_000.0;
    let closed = CloseReason::UpstreamClosed;
    let actions = [
        SessionAction::Connecting {
            id,
            target: "app".into(),
            at: t0,
        },
        SessionAction::Opened { id, at: t0 + 2.0 },
        SessionAction::Observed {
            id,
            at: t0 + 2.5,
            observation: observation(
                r#"{"t_us":400,"kind":"connect","local":"127.0.0.1:50112","peer":"127.0.0.1:65432","connect_us":96}"#,
            ),
        },
        SessionAction::Sent {
            id,
            at: t0 + 3.0,
            bytes: frame[..60].to_vec(),
        },
        SessionAction::Observed {
            id,
            at: t0 + 3.5,
            observation: observation(
                r#"{"t_us":1950,"kind":"server_recv","len":60,"decoder":{"state":"waiting","part":"header","have":58,"need":103}}"#,
            ),
        },
        SessionAction::Sent {
            id,
            at: t0 + 4.0,
            bytes: frame[60..].to_vec(),
        },
        SessionAction::Received {
            id,
            at: t0 + 5.0,
            bytes: reply[..20].to_vec(),
        },
        SessionAction::Received {
            id,
            at: t0 + 5.5,
            bytes: reply[20..].to_vec(),
        },
        SessionAction::Closed {
            id,
            at: t0 + 6.0,
            code: closed.code(),
            reason: closed.text(),
            clean: true,
        },
    ];
    let mut state = State::default();
    for a in actions {
        reduce(&mut state, Action::Session(a));
    }
    state
}

fn reopen(t: &Transcript) -> State {
    let mut state = State::default();
    reduce(
        &mut state,
        Action::Replay(ReplayAction::Open {
            name: "wirelab-app.json".into(),
            text: t.to_json(),
        }),
    );
    state
}

#[test]
fn a_sessions_transcript_has_its_bytes_addresses_and_close() {
    let state = live();
    let t = transcript(&state.session, &state.observe);
    // On the relay's clock: from its accept, which the page places at its
    // socket's open, 2 ms after it asked.
    assert_eq!(t.started_unix_us, 1_795_000_000_002_000);
    assert_eq!(t.client.as_deref(), Some("127.0.0.1:50112"));
    assert_eq!(t.server.as_deref(), Some("127.0.0.1:65432"));
    assert_eq!(
        t.stream(true),
        encode(&request("search", "morpheus")).unwrap().bytes
    );
    assert_eq!(t.stream(false), &*state.inbound.bytes.get());
    let kinds: Vec<EventKind> = t.events.iter().map(|e| e.kind).collect();
    use EventKind::*;
    assert_eq!(kinds, [Connect, Sent, Sent, Received, Received, Eof, Close]);
    assert_eq!(t.observations.len(), 2);
    let closed = t.closed.unwrap();
    assert_eq!((closed.code, closed.by_browser), (code::NORMAL, false));
}

#[test]
fn a_reopened_transcript_stepped_to_its_end_shows_the_live_sessions_state() {
    let live = live();
    let t = transcript(&live.session, &live.observe);
    let mut state = reopen(&t);
    let replay = state.replay.clone().unwrap();
    assert_eq!(replay.at, 1);
    assert!(state.session.chunks.is_empty());
    for _ in 1..replay.actions.len() {
        reduce(&mut state, Action::Replay(ReplayAction::Forward));
    }
    assert_eq!(state.replay.as_ref().unwrap().at, replay.actions.len());
    assert_eq!(state.inbound.bytes, live.inbound.bytes);
    // The decoder's state after each chunk, as the Decode panel lists it
    // (times are the page's and rounded to microseconds in the file).
    let states = |s: &State| -> Vec<_> {
        s.inbound
            .chunks
            .iter()
            .map(|c| ChunkRecord {
                at_ms: 0.0,
                ..c.clone()
            })
            .collect()
    };
    assert_eq!(states(&state), states(&live));
    assert_eq!(state.inbound.chunks.len(), 2);
    assert_eq!(state.inbound.messages, live.inbound.messages);
    assert_eq!(state.observe.recvs, live.observe.recvs);
    assert_eq!(state.observe.relay, live.observe.relay);
    assert_eq!(state.conn, live.conn);
    assert_eq!(state.session.sent_chunks.len(), 2);
    // Exported again, the replayed session is the same transcript.
    let again = transcript(&state.session, &state.observe);
    assert_eq!(pcapng(&again), pcapng(&t));
}

#[test]
fn back_shows_the_session_one_event_earlier_and_stops_at_the_first() {
    let live = live();
    let t = transcript(&live.session, &live.observe);
    let mut state = reopen(&t);
    let n = state.replay.as_ref().unwrap().actions.len();
    for _ in 0..n {
        reduce(&mut state, Action::Replay(ReplayAction::Forward));
    }
    let full = state.inbound.bytes.len();
    reduce(&mut state, Action::Replay(ReplayAction::Back));
    reduce(&mut state, Action::Replay(ReplayAction::Back));
    assert!(state.inbound.bytes.len() < full, "the last read is undone");
    for _ in 0..n + 3 {
        reduce(&mut state, Action::Replay(ReplayAction::Back));
    }
    assert_eq!(state.replay.as_ref().unwrap().at, 1);
    assert!(state.inbound.bytes.is_empty());
    assert_eq!(
        state.replay.as_ref().unwrap().step_words(),
        "browser opens /ws?target=app"
    );
}

#[test]
fn a_live_connect_or_leave_ends_the_replay_and_a_bad_file_is_a_notice() {
    let live = live();
    let mut state = reopen(&transcript(&live.session, &live.observe));
    reduce(&mut state, Action::Replay(ReplayAction::Close));
    assert!(state.replay.is_none() && state.session.timeline.is_empty());
    let mut state = reopen(&transcript(&live.session, &live.observe));
    reduce(
        &mut state,
        Action::Session(SessionAction::Connecting {
            id: 1,
            target: "echo".into(),
            at: 1.0,
        }),
    );
    assert!(state.replay.is_none());
    reduce(
        &mut state,
        Action::Replay(ReplayAction::Open {
            name: "notes.json".into(),
            text: r#"{"version":1}"#.into(),
        }),
    );
    assert!(state.replay.is_none());
    assert!(state
        .view
        .notice
        .as_deref()
        .unwrap()
        .starts_with("notes.json: transcript version 1; this wirelab reads version 2"));
}

#[test]
fn time_order_is_a_stable_sort_by_time() {
    // Times with many ties, in runs and out of order, of every length up to 40.
    let mut seed = 7u64;
    for n in 0..40 {
        let times: Vec<u64> = (0..n)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (seed >> 60) % 5
            })
            .collect();
        let mut expected: Vec<usize> = (0..n).collect();
        expected.sort_by_key(|i| times[*i]);
        assert_eq!(time_order(&times), expected, "{times:?}");
    }
}
