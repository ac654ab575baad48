//! The playground's whole state, its actions and the one reducer.
//!
//! Actions come in groups, one per part of the page; `reduce` hands each
//! group to the code for it, and a new frame is composed exactly when the
//! group says the composer changed.

use std::rc::Rc;

use protocol::capture::Transcript;
use protocol::relay_api::{code, CloseReason, Limits};
use yew::Reducible;

use super::compose::{self, compose, ComposeAction, Composed};
use super::composer::Composer;
use super::inbound::{Chunk, Inbound};
use super::observe::Observe;
use super::relay::{is_connect_failure, unreachable_reason, Targets};
use super::replay::{self, Replay, ReplayAction};
use super::send::{SendAction, SendOptions};
use super::session::{Conn, Party, Session, SessionAction, TimelineEvent, TimelineKind};
use super::steps::{encode_steps, EncodeStep};
use super::view::{Pane, View, ViewAction};

/// The playground's state. Big values sit behind `Rc` so the clone each
/// action makes stays cheap.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub composer: Composer,
    pub composed: Rc<Composed>,
    pub view: View,
    pub targets: Targets,
    pub target: String,
    pub send: SendOptions,
    pub conn: Conn,
    pub session: Rc<Session>,
    pub inbound: Rc<Inbound>,
    /// What the relay observed at the sockets of the current session.
    pub observe: Rc<Observe>,
    /// The relay's `GET /limits`, once it answered.
    pub limits: Option<Limits>,
    /// True when the inbound bytes came from "decode locally", not a server.
    pub local_decode: bool,
    /// An opened transcript being stepped through (shown instead of a live session).
    pub replay: Option<Rc<Replay>>,
}

impl Default for State {
    fn default() -> Self {
        State::with(Composer::default(), "app".into(), SendOptions::default())
    }
}

impl State {
    pub fn with(composer: Composer, target: String, send: SendOptions) -> State {
        State {
            composed: Rc::new(compose(&composer)),
            composer,
            view: View::default(),
            targets: Targets::Loading,
            target,
            send,
            conn: Conn::Idle,
            session: Rc::default(),
            inbound: Rc::default(),
            observe: Rc::default(),
            limits: None,
            local_decode: false,
            replay: None,
        }
    }

    pub fn steps(&self) -> Vec<EncodeStep> {
        encode_steps(&self.composed)
    }

    /// What the user should know about the session's end, if it ended.
    pub fn session_summary(&self) -> Option<String> {
        if self.local_decode {
            return None;
        }
        match &self.conn {
            Conn::Closed { code, reason, .. } => {
                let too_big = matches!(CloseReason::parse(*code, reason), CloseReason::TooBig(_));
                let reply = if too_big {
                    // The relay's WebSocket limit, not the target: the
                    // message never reached the server.
                    let limit = self.limits.map_or_else(
                        || "its limit".to_owned(),
                        |l| format!("its limit of {} bytes (GET /limits)", l.max_message_size),
                    );
                    format!(
                        "the relay refused a WebSocket message bigger than {limit} and closed; the server never saw it. Send it in segments (segment size) no bigger than the limit"
                    )
                } else if self.inbound.messages.is_empty() {
                    if self.inbound.bytes.is_empty() {
                        match &self.composed.verdict {
                            Some(v) if !v.is_one_frame() && self.session.sent > 0 => format!(
                                "the server closed the connection without a reply (what was sent is {v})"
                            ),
                            _ if !self.composed.duplicates.is_empty() && self.session.sent > 0 => {
                                let why: Vec<String> = self
                                    .composed
                                    .duplicates
                                    .iter()
                                    .map(ToString::to_string)
                                    .collect();
                                format!(
                                    "the server closed the connection without a reply, probably because {}",
                                    why.join("; ")
                                )
                            }
                            _ => "the server closed the connection without a reply".to_owned(),
                        }
                    } else {
                        format!(
                            "the server closed the connection: {}",
                            self.inbound.verdict(true)
                        )
                    }
                } else {
                    format!(
                        "{} received",
                        super::counted(
                            self.inbound.messages.len() as u64,
                            "reply frame",
                            "reply frames"
                        )
                    )
                };
                let reason = if reason.is_empty() {
                    String::new()
                } else {
                    format!(" {reason:?}")
                };
                Some(format!("{reply}; close code {code}{reason}"))
            }
            Conn::Failed(why) => Some(why.clone()),
            _ => None,
        }
    }
}

/// Everything that can happen to the state, by the part of the page it
/// concerns.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// An edit of the composer.
    Compose(ComposeAction),
    /// A link's message, target and send options (the URL hash changed).
    Load {
        composer: Box<Composer>,
        target: String,
        send: SendOptions,
    },
    /// Where and how to send.
    Send(SendAction),
    /// What the socket reports.
    Session(SessionAction),
    /// What is shown.
    View(ViewAction),
    /// Opening and stepping through a transcript.
    Replay(ReplayAction),
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut state = Rc::unwrap_or_clone(self);
        reduce(&mut state, action);
        Rc::new(state)
    }
}

/// The reducer proper, on a plain `&mut State`.
/// The close code a browser reports when the closing handshake did not
/// complete (RFC 6455 7.1.5: never sent on the wire).
const ABNORMAL: u16 = 1006;
/// What the status says for that 1006 after a Close the relay carried out.
pub const QUEUED_REPLY: &str =
    "the relay closed as you asked; the browser's own close frame was still queued behind bytes it had not sent";

pub fn reduce(state: &mut State, action: Action) {
    let recompose = matches!(action, Action::Compose(_) | Action::Load { .. });
    let new_message = matches!(
        action,
        Action::Load { .. } | Action::Compose(ComposeAction::Preset(_) | ComposeAction::SetMode(_))
    );
    match action {
        Action::Compose(action) => compose::apply(&mut state.composer, &state.composed, action),
        Action::Load {
            composer,
            target,
            send,
        } => {
            state.composer = *composer;
            state.target = target;
            state.send = SendOptions {
                max_message_size: state.send.max_message_size,
                ..send
            };
        }
        Action::Send(action) => reduce_send(state, action),
        Action::Session(action) => {
            // A live session ends any replay.
            if matches!(action, SessionAction::Connecting { .. }) {
                state.replay = None;
            }
            reduce_session(state, action)
        }
        Action::Replay(action) => reduce_replay(state, action),
        Action::View(action) => state.view.apply(action),
    }
    if recompose {
        state.composed = Rc::new(compose::recompose(&mut state.composer));
        if new_message {
            state.view.new_message();
        } else {
            state.view.recomposed();
        }
    }
}

fn reduce_send(state: &mut State, action: SendAction) {
    match action {
        SendAction::TargetsLoaded(result) => {
            state.targets = match result {
                Ok(list) => {
                    if !list.is_empty() && !list.iter().any(|t| t.name == state.target) {
                        state.target = list[0].name.clone();
                    }
                    Targets::Loaded(list)
                }
                Err(e) => Targets::Failed(e),
            }
        }
        SendAction::SelectTarget(t) if state.conn.is_live() && t != state.target => {
            state.view.notice = Some(format!(
                "still connected to {:?}: Close first to pick another target",
                state.target
            ));
        }
        SendAction::SelectTarget(t) => state.target = t,
        SendAction::SetSegment(n) => state.send.segment = n,
        SendAction::SetDelay(ms) => state.send.delay_ms = ms,
        SendAction::LimitsLoaded(limits) => {
            state.limits = limits;
            state.send.max_message_size = limits.map(|l| l.max_message_size);
        }
        SendAction::Started { segments } => {
            Rc::make_mut(&mut state.session).segments_due += segments as i64;
        }
        SendAction::DecodeLocally => {
            let segments = match state.send.cut(&state.composed.bytes) {
                Ok(segments) => segments,
                Err(refused) => {
                    state.view.notice = Some(refused.to_string());
                    return;
                }
            };
            let chunks: Vec<Chunk> = segments
                .into_iter()
                .enumerate()
                .map(|(i, bytes)| Chunk {
                    bytes: bytes.into(),
                    at_ms: i as f64 * f64::from(state.send.pause_ms()),
                })
                .collect();
            state.inbound = Rc::new(Inbound::from_chunks(&chunks));
            state.local_decode = true;
            state.view.forget(Pane::Incoming);
        }
    }
}

/// Opens a transcript, steps through it, or leaves it.
fn reduce_replay(state: &mut State, action: ReplayAction) {
    match action {
        ReplayAction::Open { name, text } => {
            let parsed = Transcript::from_json(&text);
            match parsed {
                Ok(t) => {
                    let actions = replay::actions(&t);
                    state.replay = Some(Rc::new(Replay {
                        name,
                        transcript: Rc::new(t),
                        actions: Rc::new(actions),
                        at: 1,
                    }));
                    show_replay(state);
                }
                Err(e) => state.view.notice = Some(format!("{name}: {e}")),
            }
        }
        ReplayAction::Back | ReplayAction::Forward => {
            let Some(replay) = &mut state.replay else {
                return;
            };
            let r = Rc::make_mut(replay);
            r.at = if action == ReplayAction::Back {
                r.at.saturating_sub(1).max(1)
            } else {
                (r.at + 1).min(r.actions.len())
            };
            show_replay(state);
        }
        ReplayAction::Close => {
            state.replay = None;
            clear_session(state);
        }
    }
}

fn clear_session(state: &mut State) {
    state.session = Rc::default();
    state.inbound = Rc::default();
    state.observe = Rc::default();
    state.conn = Conn::Idle;
    state.local_decode = false;
}

/// Redraws the session from the replay's first `at` events: the reducer is
/// a fold, so going back is folding fewer.
fn show_replay(state: &mut State) {
    let Some(replay) = state.replay.clone() else {
        return;
    };
    clear_session(state);
    for action in &replay.actions[..replay.at] {
        reduce_session(state, action.clone());
    }
}

pub(super) fn reduce_session(state: &mut State, action: SessionAction) {
    if let SessionAction::Batch(actions) = action {
        // Only the first action of a batch copies what the last render
        // still holds (`Rc::make_mut`); the rest change it in place.
        for action in actions {
            reduce_session(state, action);
        }
        return;
    }
    // Events of a socket that is no longer the current one change nothing.
    let id = action.id();
    let current = state.session.id == id && id != 0;
    match action {
        SessionAction::Connecting { id, target, at } => {
            state.conn = Conn::Connecting;
            state.local_decode = false;
            state.session = Rc::new(Session {
                id,
                target: target.clone(),
                started_at: at,
                timeline: vec![TimelineEvent {
                    at_ms: 0.0,
                    kind: TimelineKind::Connect { target },
                }],
                ..Session::default()
            });
            state.inbound = Rc::default();
            state.observe = Rc::default();
            state.view.forget(Pane::Incoming);
        }
        _ if !current => {}
        SessionAction::Observed {
            at, observation, ..
        } => {
            let at_ms = at - state.session.started_at;
            let observe = Rc::make_mut(&mut state.observe);
            replay::record(observe, &observation);
            observe.take(at_ms, observation);
        }
        SessionAction::Unreadable { error, .. } => {
            let observe = Rc::make_mut(&mut state.observe);
            observe.unreadable += 1;
            // One notice per session: a relay speaking another version would
            // otherwise bury the page in them.
            if observe.unreadable == 1 {
                state.view.notice = Some(format!(
                    "the relay sent an observation this page cannot read ({error}); further ones are counted in the Server panel"
                ));
            }
        }
        SessionAction::Flood { at, progress, .. } => {
            let s = Rc::make_mut(&mut state.session);
            let was_running = s.flood.is_some_and(|f| f.running());
            if was_running && !progress.running() {
                let offset = s.sent;
                s.sent += progress.offered;
                s.push(
                    at,
                    TimelineKind::Flood {
                        offset,
                        len: progress.offered,
                        messages: progress.messages,
                        end: progress.end,
                    },
                );
            }
            s.flood = Some(progress);
        }
        SessionAction::Opened { at, .. } => {
            let s = Rc::make_mut(&mut state.session);
            s.opened = true;
            s.push(at, TimelineKind::Open);
            state.conn = Conn::Open;
        }
        SessionAction::Sent { at, bytes, .. } => {
            let s = Rc::make_mut(&mut state.session);
            let offset = s.sent;
            let len = bytes.len();
            s.sent += len;
            s.segments_due -= 1;
            let at_ms = at - s.started_at;
            s.sent_chunks.push(Chunk {
                bytes: bytes.into(),
                at_ms,
            });
            s.push(at, TimelineKind::Send { offset, len });
        }
        SessionAction::Received { at, bytes, .. } => {
            let s = Rc::make_mut(&mut state.session);
            let offset: usize = s.chunks.iter().map(|c| c.bytes.len()).sum();
            let len = bytes.len();
            let at_ms = at - s.started_at;
            let chunk = Chunk {
                bytes: bytes.into(),
                at_ms,
            };
            if state.local_decode {
                // What was shown was "decode here"'s; from now on it is the server's.
                s.chunks.push(chunk);
                state.inbound = Rc::new(Inbound::from_chunks(&s.chunks));
                state.local_decode = false;
            } else {
                Rc::make_mut(&mut state.inbound).push(&chunk);
                s.chunks.push(chunk);
            }
            s.push(at, TimelineKind::Receive { offset, len });
        }
        SessionAction::HalfClosed { at, .. } => {
            Rc::make_mut(&mut state.session).push(at, TimelineKind::HalfClose);
        }
        SessionAction::Closing { at, .. } => {
            if state.conn == Conn::Open {
                state.conn = Conn::Closing;
            }
            Rc::make_mut(&mut state.session).push(
                at,
                TimelineKind::Close {
                    by: Party::Browser,
                    code: code::NORMAL,
                    reason: String::new(),
                },
            )
        }
        SessionAction::Closed {
            at,
            code,
            reason,
            clean,
            ..
        } => {
            let s = Rc::make_mut(&mut state.session);
            s.segments_due = 0;
            // Close asked the relay (POST /ws/close) and the relay did close
            // (its `close` event came): a 1006 then means the browser's own
            // reply never left, queued behind bytes it had not sent.
            let reason = if code == ABNORMAL
                && reason.is_empty()
                && s.closed_by_browser()
                && state.observe.relay.closed
            {
                QUEUED_REPLY.to_owned()
            } else {
                reason
            };
            if !s.closed_by_browser() || code != code::NORMAL {
                s.push(
                    at,
                    TimelineKind::Close {
                        by: Party::Relay,
                        code,
                        reason: reason.clone(),
                    },
                );
            }
            state.conn = if !s.opened {
                Conn::Failed(unreachable_reason(&state.targets, &s.target))
            } else if is_connect_failure(&CloseReason::parse(code, &reason)) {
                Conn::Failed(format!("target {:?} unreachable: {reason}", s.target))
            } else {
                Conn::Closed {
                    code,
                    reason,
                    clean,
                }
            };
        }
        // Unfolded above.
        SessionAction::Batch(_) => {}
    }
}
