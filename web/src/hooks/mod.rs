//! Hooks that hold the playground's side effects; they report what happens
//! as [`crate::model::SessionAction`]s.

mod use_websocket;

pub use use_websocket::{use_websocket, FloodPlan, SendPlan, SocketHandle};
