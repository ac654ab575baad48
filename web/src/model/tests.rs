//! The reducer driven through whole scenarios, and the presets through
//! the composer.

use protocol::app;

use super::compose::{compose, ComposeAction};
use super::composer::{Field, Mode};
use super::inbound::{outcome_line, Chunk, Inbound, Verdict};
use super::presets::{self, Group, ALL};
use super::send::SendAction;
use super::session::{transcript_json, Conn, SessionAction};
use super::state::{reduce, Action, State};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn run(state: &mut State, actions: impl IntoIterator<Item = Action>) {
    for a in actions {
        reduce(state, a);
    }
}

#[test]
fn the_default_message_is_the_tutorials_morpheus_request() {
    let state = State::default();
    let bytes = &state.composed.bytes;
    assert_eq!(&bytes[..2], b"\x00d");
    assert_eq!(bytes.len(), 143);
    assert_eq!(
        protocol::python::python_bytes_repr(bytes),
        r#"b'\x00d{"byteorder": "big", "content-type": "text/json", "content-encoding": "utf-8", "content-length": 41}{"action": "search", "value": "morpheus"}'"#
    );
}

#[test]
fn encode_steps_count_content_header_and_prefix_bytes() {
    let steps = State::default().steps();
    assert_eq!(steps.len(), 4);
    assert_eq!(steps[0].range.len(), 41);
    assert!(steps[0].line.starts_with("content is 41 bytes"));
    assert!(steps[1].line.contains("header is 100 bytes"));
    assert!(steps[1]
        .line
        .contains("content-length = 41, the content's byte count"));
    assert!(steps[2].line.contains("header is 100 bytes → 0x00 0x64"));
    assert!(steps[3].line.contains("2 + 100 + 41 = 143 bytes"));
}

#[test]
fn editing_a_field_recomposes_and_forgets_the_preset() {
    let mut state = State::default();
    run(
        &mut state,
        [Action::Compose(ComposeAction::Set(
            Field::Value,
            "ring".into(),
        ))],
    );
    assert_eq!(state.composer.preset, None);
    assert_eq!(
        state
            .composed
            .message
            .as_ref()
            .unwrap()
            .header
            .content_length,
        37
    );
    run(&mut state, [Action::Compose(ComposeAction::Preset("ring"))]);
    assert_eq!(state.composer.preset, Some("ring"));
}

#[test]
fn extra_headers_must_be_a_json_object() {
    let mut state = State::default();
    run(
        &mut state,
        [Action::Compose(ComposeAction::Set(
            Field::ExtraHeaders,
            "[1]".into(),
        ))],
    );
    assert!(state
        .composed
        .error
        .as_deref()
        .unwrap()
        .contains("JSON object"));
    run(
        &mut state,
        [Action::Compose(ComposeAction::Set(
            Field::ExtraHeaders,
            r#"{"x-trace": 7}"#.into(),
        ))],
    );
    assert!(String::from_utf8_lossy(&state.composed.bytes).contains(r#""x-trace": 7}"#));
}

#[test]
fn hand_made_bytes_get_the_decoders_verdict() {
    let mut state = State::default();
    run(
        &mut state,
        [Action::Compose(ComposeAction::SetMode(Mode::Hex))],
    );
    assert_eq!(state.composed.verdict, Some(Verdict::Frames(1)));
    assert_eq!(
        state.composed.verdict.as_ref().unwrap().to_string(),
        "a valid frame"
    );
    run(
        &mut state,
        [Action::Compose(ComposeAction::Set(
            Field::Hex,
            "00 00".into(),
        ))],
    );
    assert!(state
        .composed
        .verdict
        .as_ref()
        .unwrap()
        .to_string()
        .contains("zero-length"));
    run(
        &mut state,
        [Action::Compose(ComposeAction::Set(
            Field::Hex,
            "00 64 7b".into(),
        ))],
    );
    assert!(state
        .composed
        .verdict
        .as_ref()
        .unwrap()
        .to_string()
        .starts_with("truncated"));
}

#[test]
fn chunks_are_decoded_as_they_arrive() {
    let frame = State::default().composed.bytes.clone();
    let chunks: Vec<Chunk> = [&frame[..1], &frame[1..40], &frame[40..]]
        .iter()
        .map(|b| Chunk {
            bytes: (*b).into(),
            at_ms: 0.0,
        })
        .collect();
    let inbound = Inbound::from_chunks(&chunks);
    assert_eq!(inbound.chunks[0].state, "have 1 of 2 header-length bytes");
    assert_eq!(inbound.chunks[1].state, "JSON header: 38 of 100 bytes");
    assert_eq!(
        inbound.chunks[2].completed.last().unwrap(),
        "content complete: a 143-byte message"
    );
    assert_eq!(inbound.messages.len(), 1);
    assert_eq!(inbound.verdict(true), Verdict::Frames(1));
    assert_eq!(inbound.verdict(true).to_string(), "a valid frame");
}

fn session(actions: impl IntoIterator<Item = SessionAction>) -> Vec<Action> {
    actions.into_iter().map(Action::Session).collect()
}

fn closed(id: u32, code: u16, reason: &str, clean: bool) -> SessionAction {
    SessionAction::Closed {
        id,
        at: 5.0,
        code,
        reason: reason.into(),
        clean,
    }
}

#[test]
fn a_session_records_its_timeline_and_ignores_stale_sockets() {
    let mut state = State::default();
    let reply = protocol::encode(&app::respond(&app::request("search", "ring")).unwrap())
        .unwrap()
        .bytes;
    run(
        &mut state,
        session([
            SessionAction::Connecting {
                id: 1,
                target: "app".into(),
                at: 1000.0,
            },
            SessionAction::Opened { id: 1, at: 1010.0 },
            SessionAction::Sent {
                id: 1,
                at: 1011.0,
                bytes: vec![0; 139],
            },
            SessionAction::Received {
                id: 9,
                at: 1012.0,
                bytes: vec![1, 2, 3],
            },
            SessionAction::Received {
                id: 1,
                at: 1020.0,
                bytes: reply[..5].to_vec(),
            },
            SessionAction::Received {
                id: 1,
                at: 1021.0,
                bytes: reply[5..].to_vec(),
            },
            SessionAction::Closed {
                id: 1,
                at: 1022.0,
                code: 1000,
                reason: "upstream closed".into(),
                clean: true,
            },
        ]),
    );
    assert_eq!(state.session.timeline.len(), 6);
    assert_eq!(state.session.timeline[4].at_ms, 21.0);
    assert_eq!(
        outcome_line(&state.inbound.messages[0].message),
        "Got result: In the caves beneath the Misty Mountains. 💍"
    );
    assert_eq!(
        state.session_summary().unwrap(),
        "1 reply frame received; close code 1000 \"upstream closed\""
    );
    let exported = transcript_json(&state.session);
    assert!(
        exported.contains(r#"{"at_ms": 20.0, "event": "recv", "offset": 0, "len": 5}"#),
        "{exported}"
    );
}

#[test]
fn an_unreachable_relay_or_target_says_which() {
    let mut state = State::default();
    run(
        &mut state,
        [Action::Send(SendAction::TargetsLoaded(Err(
            "GET /targets failed: TypeError".into(),
        )))],
    );
    run(
        &mut state,
        session([
            SessionAction::Connecting {
                id: 2,
                target: "app".into(),
                at: 0.0,
            },
            closed(2, 1006, "", false),
        ]),
    );
    assert_eq!(
        state.conn,
        Conn::Failed("relay unreachable: GET /targets failed: TypeError".into())
    );
    run(
        &mut state,
        session([
            SessionAction::Connecting {
                id: 3,
                target: "down".into(),
                at: 0.0,
            },
            SessionAction::Opened { id: 3, at: 1.0 },
            closed(3, 1011, "connection refused: 127.0.0.1:9", true),
        ]),
    );
    assert_eq!(
        state.conn.label(),
        "failed: target \"down\" unreachable: connection refused: 127.0.0.1:9"
    );
    // A reset after the request is the server hanging up, not an unreachable target.
    run(
        &mut state,
        session([
            SessionAction::Connecting {
                id: 4,
                target: "app".into(),
                at: 0.0,
            },
            SessionAction::Opened { id: 4, at: 1.0 },
            closed(4, 1011, "connection reset", true),
        ]),
    );
    assert_eq!(
        state.session_summary().unwrap(),
        "the server closed the connection without a reply; close code 1011 \"connection reset\""
    );
}

#[test]
fn decoding_here_cuts_the_frame_into_the_send_segments() {
    let mut state = State::default();
    run(
        &mut state,
        [
            Action::Send(SendAction::SetSegment(10)),
            Action::Send(SendAction::DecodeLocally),
        ],
    );
    assert!(state.local_decode);
    assert_eq!(state.inbound.chunks.len(), 15);
    assert_eq!(*state.inbound.bytes.get(), state.composed.bytes[..]);
    run(
        &mut state,
        [
            Action::Send(SendAction::SetSegment(0)),
            Action::Compose(ComposeAction::Set(Field::Value, "x".repeat(3000))),
            Action::Send(SendAction::SetSegment(1)),
            Action::Send(SendAction::DecodeLocally),
        ],
    );
    assert_eq!(
        state.inbound.chunks.len(),
        15,
        "the refused cut decodes nothing"
    );
    assert!(state
        .view
        .notice
        .as_deref()
        .unwrap()
        .ends_with("is more than 2000: raise the segment size"));
}

#[test]
fn tutorial_presets_are_valid_and_malformed_ones_are_not() {
    for preset in ALL {
        let composed = compose(&preset.composer());
        assert!(composed.error.is_none(), "{}", preset.id);
        let valid = composed.message.is_some()
            && composed.verdict.as_ref().is_none_or(Verdict::is_one_frame);
        assert_eq!(
            valid,
            preset.group == Group::Tutorial,
            "{}: {:?}",
            preset.id,
            composed.verdict
        );
    }
}

#[test]
fn tutorial_presets_answer_as_the_tutorial_says() {
    for preset in ALL.iter().filter(|p| p.group == Group::Tutorial) {
        let message = compose(&preset.composer()).message.unwrap();
        let reply = protocol::app::respond(&message).unwrap();
        assert_eq!(
            protocol::app::Outcome::of(&reply).to_string(),
            preset.expect,
            "{}",
            preset.id
        );
    }
}

#[test]
fn malformed_presets_fail_for_their_stated_reason() {
    let verdict = |id: &str| {
        compose(&presets::find(id).unwrap().composer())
            .verdict
            .unwrap()
            .to_string()
    };
    assert!(verdict("missing-header").contains("missing required header \"content-type\""));
    assert!(verdict("length-small").contains("content is not valid JSON"));
    assert!(verdict("length-large").contains("content: 41 of 99 bytes"));
    assert!(verdict("not-json").contains("header is not valid JSON"));
    assert!(verdict("truncated").contains("JSON header: 58 of 100 bytes"));
    assert!(verdict("zero-header").contains("zero-length"));
}

#[test]
fn a_1006_after_a_close_the_relay_carried_out_says_why_and_a_bare_1006_does_not() {
    let observed = |json: &str| SessionAction::Observed {
        id: 1,
        at: 1030.0,
        observation: protocol::relay_api::Observation::from_json(json).unwrap(),
    };
    let opening = [
        SessionAction::Connecting {
            id: 1,
            target: "blackhole".into(),
            at: 1000.0,
        },
        SessionAction::Opened { id: 1, at: 1010.0 },
        SessionAction::Closing { id: 1, at: 1020.0 },
    ];
    let mut state = State::default();
    run(
        &mut state,
        session(opening.clone().into_iter().chain([
            observed(r#"{"t_us":20000,"kind":"close"}"#),
            closed(1, 1006, "", false),
        ])),
    );
    assert_eq!(
        state.conn.label(),
        format!("closed (1006 {})", super::state::QUEUED_REPLY)
    );
    // Without the relay's `close`, nothing says the relay did anything.
    let mut state = State::default();
    run(
        &mut state,
        session(opening.into_iter().chain([closed(1, 1006, "", false)])),
    );
    assert_eq!(state.conn.label(), "closed (1006)");
}
