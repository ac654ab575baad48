//! The WebSocket's two halves as the bridge takes them, named once: axum's
//! split socket in the relay, channels in the unit tests.

use std::fmt;

use axum::extract::ws::Message;
use futures_util::{Sink, Stream};

/// The browser's sending half as the bridge takes it: a sink of axum
/// messages whose errors can be logged (axum's `SplitSink`; a channel in
/// the unit tests). One name for the bounds every function of the bridge
/// repeats.
pub trait ToBrowser: Sink<Message, Error: fmt::Display> + Unpin + Send {}

impl<T> ToBrowser for T where T: Sink<Message, Error: fmt::Display> + Unpin + Send {}

/// The browser's receiving half as the bridge takes it: a stream of axum
/// messages, or errors that can be logged.
pub trait FromBrowser:
    Stream<Item = Result<Message, <Self as FromBrowser>::Failure>> + Unpin + Send
{
    /// What a failed read says.
    type Failure: fmt::Display;
}

impl<S, E> FromBrowser for S
where
    S: Stream<Item = Result<Message, E>> + Unpin + Send,
    E: fmt::Display,
{
    type Failure = E;
}
