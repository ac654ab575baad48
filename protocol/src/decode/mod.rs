//! Bytes → messages, incrementally: length prefix → JSON header → content.
//!
//! The [`Decoder`] takes whatever chunks arrive (one byte at a time works)
//! and reports each stage as it completes. Not having enough bytes yet is
//! not an error: [`Decoder::poll`] returns `Ok(None)` and [`Decoder::need`]
//! says what is missing. Bytes after a complete message stay buffered for
//! the next one. An error is final for the stream: the decoder keeps
//! returning it, since nothing after a broken frame can be trusted.
//!
//! - `machine`: the [`Decoder`] state machine and its [`DecoderConfig`].
//! - `event`: what it reports ([`Event`], [`Decoded`], [`Need`], [`Part`]).
//! - `header`: header validation, the required keys and the length limit.
//! - `content`: content interpretation by content type and encoding.
//! - `error`: [`DecodeError`], every way a frame can be wrong.

mod content;
mod error;
mod event;
mod header;
mod machine;

#[cfg(test)]
mod tests;

pub use error::DecodeError;
pub use event::{Decoded, Event, Need, Part};
pub use machine::{Decoder, DecoderConfig, DEFAULT_MAX_CONTENT_LENGTH};
