//! The wire format of the Real Python socket tutorial's application, once,
//! without I/O: the servers, the relay and the browser playground all drive
//! this crate, natively and compiled to wasm32.
//!
//! A frame is a 2-byte big-endian length, a UTF-8 JSON header with
//! `byteorder`, `content-type`, `content-encoding` and `content-length`, then
//! `content-length` bytes of content.
//!
//! Where things are:
//! - [`model`]: [`Message`], [`Header`], [`Content`] and the text encodings.
//! - [`encode`](mod@encode): message → bytes, with the [`Layout`] of what was written.
//! - [`decode`](mod@decode): the incremental [`Decoder`] (prefix → header → content).
//! - [`layout`]: the byte map ([`Span`]s) the hex view and the tests read.
//! - [`json`]: JSON read and written exactly as Python's `json` module does.
//! - [`app`]: the tutorial's search service: requests, replies, outcomes.
//! - [`display`]: Python `repr` forms and hex-dump rows.
//! - [`relay_api`]: the typed relay↔page contract (targets, limits, close reasons).
//! - `codec` (feature `codec`): a `tokio_util` codec over the same decoder.

pub mod app;
#[cfg(feature = "codec")]
pub mod codec;
pub mod decode;
pub mod display;
pub mod encode;
pub mod json;
pub mod layout;
pub mod model;
pub mod relay_api;

pub use decode::{DecodeError, Decoded, Decoder, DecoderConfig, Event, Need, Part};
pub use encode::{encode, encode_into, encode_raw, Frame};
pub use json::{Json, Number, Object};
pub use layout::{Layout, Span, SpanKind};
pub use model::{Content, EncodeError, Header, Message, TextEncoding};

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
