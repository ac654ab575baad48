//! The reducer's side of issue 12: what the page may say and let the user
//! do, driven through actions as the hooks and panels send them.

use protocol::relay_api::{code, Limits};

use super::compose::ComposeAction;
use super::composer::{Field, Mode};
use super::send::SendAction;
use super::session::{Conn, SessionAction};
use super::state::{reduce, Action, State};
use super::view::{StepMove, ViewAction, LAST_STEP};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn run(state: &mut State, actions: impl IntoIterator<Item = Action>) {
    for a in actions {
        reduce(state, a);
    }
}

fn session(action: SessionAction) -> Action {
    Action::Session(action)
}

/// A state with session 1 open to `app`.
fn connected() -> State {
    let mut state = State::default();
    run(
        &mut state,
        [
            session(SessionAction::Connecting {
                id: 1,
                target: "app".into(),
                at: 0.0,
            }),
            session(SessionAction::Opened { id: 1, at: 1.0 }),
        ],
    );
    state
}

fn sent(len: usize) -> Action {
    session(SessionAction::Sent {
        id: 1,
        at: 2.0,
        bytes: vec![0; len],
    })
}

#[test]
fn a_target_picked_while_connected_is_refused_with_a_notice() {
    let mut state = connected();
    reduce(
        &mut state,
        Action::Send(SendAction::SelectTarget("echo".into())),
    );
    assert_eq!(state.target, "app");
    assert!(state
        .view
        .notice
        .as_deref()
        .unwrap()
        .contains("Close first"));
}

#[test]
fn send_stays_busy_until_every_segment_went_out_whatever_the_report_order() {
    let mut state = connected();
    // The first segment's report may come before the send's start.
    run(
        &mut state,
        [sent(10), Action::Send(SendAction::Started { segments: 3 })],
    );
    assert!(state.session.sending());
    reduce(&mut state, sent(10));
    assert!(state.session.sending());
    reduce(&mut state, sent(3));
    assert!(!state.session.sending());
    // A close mid-send ends it too.
    run(
        &mut state,
        [
            Action::Send(SendAction::Started { segments: 5 }),
            session(SessionAction::Closed {
                id: 1,
                at: 3.0,
                code: code::NORMAL,
                reason: String::new(),
                clean: true,
            }),
        ],
    );
    assert!(!state.session.sending());
}

#[test]
fn close_1009_blames_the_relays_limit_not_the_server() {
    let mut state = connected();
    run(
        &mut state,
        [
            Action::Send(SendAction::LimitsLoaded(Some(Limits {
                max_message_size: 1 << 20,
            }))),
            session(SessionAction::Closed {
                id: 1,
                at: 3.0,
                code: code::TOO_BIG,
                reason: "Message too long: 2000000 > 1048576".into(),
                clean: true,
            }),
        ],
    );
    assert!(matches!(state.conn, Conn::Closed { .. }));
    let summary = state.session_summary().unwrap();
    assert!(
        summary.starts_with(
            "the relay refused a WebSocket message bigger than its limit of 1048576 bytes (GET /limits)"
        ),
        "{summary}"
    );
    assert!(!summary.contains("the server closed"), "{summary}");
}

#[test]
fn a_new_message_opens_at_step_1_and_an_edit_shows_the_whole_frame() {
    let mut state = State::default();
    assert_eq!(state.view.step, 0);
    run(
        &mut state,
        [
            Action::View(ViewAction::Step(StepMove::To(LAST_STEP))),
            Action::Compose(ComposeAction::Preset("ring")),
        ],
    );
    assert_eq!(state.view.step, 0);
    reduce(
        &mut state,
        Action::Compose(ComposeAction::Set(Field::Value, "neo".into())),
    );
    assert_eq!(state.view.step, LAST_STEP);
}

#[test]
fn custom_content_starts_from_the_message_on_screen() {
    let mut state = State::default();
    let before = state.composed.bytes.clone();
    run(
        &mut state,
        [
            Action::Compose(ComposeAction::Preset("dog")),
            Action::Compose(ComposeAction::SetMode(Mode::Custom)),
        ],
    );
    assert_eq!(
        state.composer.content,
        r#"{"action": "search", "value": "🐶"}"#
    );
    // The same message, now editable as content.
    let mut dog = State::default();
    reduce(&mut dog, Action::Compose(ComposeAction::Preset("dog")));
    assert_eq!(state.composed.bytes, dog.composed.bytes);
    assert_ne!(state.composed.bytes, before);
}

#[test]
fn an_extra_key_repeating_a_required_one_is_named_with_the_value_python_keeps() {
    let mut state = State::default();
    reduce(
        &mut state,
        Action::Compose(ComposeAction::Set(
            Field::ExtraHeaders,
            r#"{"content-length": 5, "x-trace": 7}"#.into(),
        )),
    );
    let duplicates: Vec<String> = state
        .composed
        .duplicates
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        duplicates,
        ["the header holds \"content-length\" twice (41 then 5); Python's json keeps the last, so a Python server reads 5"]
    );
    // The header step does not call 41 the content-length without the 5.
    let header = &state.steps()[1].line;
    assert!(
        header.ends_with(&format!("; but {}", duplicates[0])),
        "{header}"
    );
}

#[test]
fn a_live_reply_replaces_the_local_decode_and_its_caption() {
    let mut state = connected();
    reduce(&mut state, Action::Send(SendAction::DecodeLocally));
    assert!(state.local_decode);
    assert_eq!(state.session_summary(), None);
    reduce(
        &mut state,
        session(SessionAction::Received {
            id: 1,
            at: 5.0,
            bytes: vec![0, 1],
        }),
    );
    assert!(!state.local_decode);
}
