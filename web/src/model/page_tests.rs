//! Issue 20 (items 3 and 5) and 21 (item 5) on the reducer's side: the
//! bytes are not dimmed on arrival, the content step names ensure_ascii,
//! and a batch of socket events leaves the state an event-by-event run does.

use protocol::app::request;
use protocol::encode;
use protocol::relay_api::{Observation, Observed};

use super::compose::ComposeAction;
use super::session::SessionAction;
use super::state::{reduce, Action, State};
use super::steps::encode_steps;
use super::view::{StepMove, ViewAction, LAST_STEP};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn a_new_message_shows_step_1_without_dimming_the_bytes_until_the_learner_steps() {
    let mut state = State::default();
    assert_eq!(state.view.step, 0);
    assert_eq!(state.view.focus_step(), None, "faded on arrival");
    reduce(&mut state, Action::View(ViewAction::Step(StepMove::Next)));
    assert_eq!(state.view.focus_step(), Some(1));
    reduce(&mut state, Action::Compose(ComposeAction::Preset("ring")));
    assert_eq!((state.view.step, state.view.focus_step()), (0, None));
    reduce(
        &mut state,
        Action::View(ViewAction::Step(StepMove::TogglePlay)),
    );
    assert_eq!(state.view.focus_step(), Some(0));
    reduce(
        &mut state,
        Action::View(ViewAction::Step(StepMove::To(LAST_STEP))),
    );
    assert_eq!(
        state.view.focus_step(),
        None,
        "the whole frame dims nothing"
    );
}

#[test]
fn the_content_step_names_ensure_ascii_false_as_the_tutorials_programs_write_json() {
    let state = State::default();
    let line = &encode_steps(&state.composed)[0].line;
    assert!(
        line.contains("json.dumps(obj, ensure_ascii=False)")
            && line.contains("as the tutorial's programs do"),
        "{line}"
    );
}

/// A session to echo: opened, the request sent, then the echo in 10-byte
/// chunks with an observation after each.
fn echo_events() -> Vec<SessionAction> {
    let frame = encode(&request("search", "morpheus")).unwrap().bytes;
    let mut events = vec![
        SessionAction::Connecting {
            id: 1,
            target: "echo".into(),
            at: 0.0,
        },
        SessionAction::Opened { id: 1, at: 1.0 },
        SessionAction::Sent {
            id: 1,
            at: 2.0,
            bytes: frame.clone(),
        },
    ];
    for (i, chunk) in frame.chunks(10).enumerate() {
        let at = 3.0 + i as f64;
        events.push(SessionAction::Observed {
            id: 1,
            at,
            observation: Observation::new(
                1000 * i as u64,
                Observed::Read {
                    len: chunk.len() as u64,
                    count: 1,
                },
            ),
        });
        events.push(SessionAction::Received {
            id: 1,
            at,
            bytes: chunk.to_vec(),
        });
    }
    events
}

#[test]
fn a_batch_of_socket_events_leaves_the_state_one_by_one_does() {
    let mut one_by_one = State::default();
    for event in echo_events() {
        reduce(&mut one_by_one, Action::Session(event));
    }
    let mut events = echo_events();
    let tail = events.split_off(3);
    let mut batched = State::default();
    for event in events {
        reduce(&mut batched, Action::Session(event));
    }
    reduce(&mut batched, Action::Session(SessionAction::Batch(tail)));
    assert_eq!(batched.inbound, one_by_one.inbound);
    assert_eq!(batched.session, one_by_one.session);
    assert_eq!(batched.observe, one_by_one.observe);
    assert_eq!(batched.inbound.messages.len(), 1);
    // A batch that ends with a late event of an older socket keeps its id.
    assert_eq!(SessionAction::Batch(echo_events()).id(), 1);
}
