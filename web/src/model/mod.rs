//! Everything the page shows, as plain data, and the one reducer that
//! changes it. No DOM, no socket, no clock: the hooks and the app root
//! dispatch [`Action`]s with the time they happened, so native and browser
//! tests drive [`reduce`] directly.
//!
//! Modules, leaves first (each uses only those above it; tests aside):
//! - [`words`]: counted nouns ("1 byte", "2 bytes").
//! - [`composer`]: what the user typed ([`Composer`], [`Mode`], [`Field`]).
//! - [`presets`]: the tutorial's exchanges and malformed frames, as composers.
//! - [`inbound`]: a decoder run over received chunks ([`Inbound`], [`Verdict`]).
//! - [`compose`]: composer → bytes + layout ([`Composed`]); compose actions.
//! - [`steps`]: the encode steps, read from the encoder's layout.
//! - [`send`]: segment size and delay, the one segment-limit check.
//! - [`relay`]: the relay↔page contract on the page's side (targets, closes).
//! - [`session`]: the connection, its timeline and the socket's events.
//! - [`observe`]: what the relay observed at the TCP sockets (`observe=1`).
//! - [`tcp_states`]: RFC 793's state machine and the path a socket took.
//! - [`calls`]: the server's socket calls in words (`recv(4096) → 10 B`).
//! - [`view`]: encode step, hover and selection, notices.
//! - [`clock`]: the relay's clock for the page's own events (one clock).
//! - [`replay`]: the session as a transcript (export, .pcapng) and a
//!   transcript turned back into socket events.
//! - [`explain`]: sentences for what puzzles a newcomer, from the bytes shown.
//! - [`state`]: [`State`], [`Action`] (grouped as above) and [`reduce`],
//!   which also opens and steps through a replay.
//! - [`lessons`]: the twelve lessons (texts, setups, progress);
//!   [`lesson_checks`]: their checks, pure functions over the above.

pub mod calls;
pub mod clock;
pub mod compose;
pub mod composer;
pub mod explain;
pub mod inbound;
pub mod lesson_checks;
pub mod lessons;
pub mod observe;
pub mod presets;
pub mod relay;
pub mod replay;
pub mod send;
pub mod session;
pub mod state;
pub mod steps;
pub mod tcp_states;
pub mod view;
pub mod words;

#[cfg(test)]
mod lessons_tests;
#[cfg(test)]
mod page_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod truths_tests;

pub use compose::{compose, ComposeAction, Composed};
pub use composer::{Attached, Composer, Field, Mode};
pub use inbound::{
    content_shown, outcome_line, request_line, Chunk, ChunkRecord, Inbound, Verdict,
};
pub use observe::{decoder_words, group_digits, Observe, SocketRow};
pub use relay::Targets;
pub use replay::{Replay, ReplayAction};
pub use send::{FloodEnd, FloodProgress, SendAction, SendOptions, FLOOD_LIMIT, MAX_SEGMENTS};
pub use session::{
    transcript_json, Conn, Party, Session, SessionAction, TimelineEvent, TimelineKind,
};
pub use state::{reduce, Action, State};
pub use steps::{encode_steps, inbound_offence, offence, EncodeStep, Offence};
pub use view::{Pane, StepMove, View, ViewAction, LAST_STEP};
pub use words::counted;
