//! Hooks that hold the playground's side effects; they report what happens
//! as [`crate::state::Action`]s.

mod use_websocket;

pub use use_websocket::{use_websocket, SendPlan, SocketHandle};
