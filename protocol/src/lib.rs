//! The wire format of the Real Python socket tutorial's application, once,
//! without I/O: the servers, the relay and the browser playground all drive
//! this crate, natively and compiled to wasm32.
//!
//! # Frame
//!
//! A frame is a 2-byte big-endian length, a UTF-8 JSON header with
//! `byteorder`, `content-type`, `content-encoding` and `content-length`, then
//! `content-length` bytes of content. The tutorial's client searching for
//! `morpheus` (on its big-endian VM) sends these 143 bytes:
//!
//! ```text
//! 0                2                                               102                                         143
//! +--- len: u16 ---+-------------- header: 100 bytes --------------+------------ content: 41 bytes ------------+
//! | \x00\x64       | {"byteorder": "big", …, "content-length": 41} | {"action": "search", "value": "morpheus"} |
//! +----------------+-----------------------------------------------+-------------------------------------------+
//! ```
//!
//! The header in full is `{"byteorder": "big", "content-type": "text/json",
//! "content-encoding": "utf-8", "content-length": 41}`. Two length fields
//! are needed because JSON has no length of its own: the prefix says where
//! the header ends, the header says where the content ends.
//!
//! # Encoding and decoding
//!
//! The decoder is sans I/O: push whatever bytes arrived, poll for what they
//! complete. Half a frame is not an error, just nothing yet.
//!
//! ```
//! use protocol::app::request;
//! use protocol::{encode, Decoder, Event};
//!
//! let message = request("search", "morpheus").with_byteorder("big");
//! let frame = encode(&message)?;
//! assert_eq!(frame.bytes.len(), 2 + 100 + 41);
//! assert_eq!(frame.bytes[..2], [0x00, 0x64]);
//!
//! let mut decoder = Decoder::default();
//! let (first, rest) = frame.bytes.split_at(60);
//! decoder.push(first);
//! // The prefix is in; the header is not, so polling stops there.
//! assert!(matches!(decoder.poll()?, Some(Event::Prefix { header_len: 100, .. })));
//! assert_eq!(decoder.poll()?, None);
//! assert_eq!(decoder.need().unwrap().to_string(), "JSON header: 58 of 100 bytes");
//!
//! decoder.push(rest);
//! assert!(matches!(decoder.poll()?, Some(Event::Header { content_length: 41, .. })));
//! let Some(Event::Message(decoded)) = decoder.poll()? else {
//!     panic!("the second chunk completes the message");
//! };
//! assert_eq!(decoded.message, message);
//! assert_eq!(decoded.frame_len, 143);
//! decoder.finish()?; // nothing left over: the stream may end here
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where things are
//!
//! - [`model`]: [`Message`], [`Header`], [`Content`] and the text encodings.
//! - [`encode`](mod@encode): message → bytes, with the [`Layout`] of what was written.
//! - [`decode`](mod@decode): the incremental [`Decoder`] (prefix → header → content).
//! - [`layout`]: the byte map ([`Span`]s) the hex view and the tests read.
//! - [`json`]: JSON read and written exactly as Python's `json` module does.
//! - [`app`]: the tutorial's search service: requests, replies, outcomes.
//! - [`python`]: Python `repr` forms of bytes, strings, floats and decoded JSON.
//! - [`hexdump`]: hex-dump rows, copy formats, and typed hex read back.
//! - [`framing`]: the HOWTO's four ways to find a message's end (fixed
//!   length, delimiter, length prefix, until EOF), sans I/O, for the framing lab.
//! - [`relay_api`]: the typed relay↔page contract (paths, targets, limits, close reasons).
//! - [`capture`]: a session as a replayable transcript and as a pcapng for Wireshark.
//! - `codec` (feature `codec`): a `tokio_util` codec over the same decoder.
#![warn(missing_docs)]

pub mod app;
pub mod base64;
pub mod capture;
#[cfg(feature = "codec")]
pub mod codec;
pub mod decode;
pub mod encode;
pub mod framing;
pub mod hexdump;
pub mod json;
pub mod layout;
pub mod model;
pub mod python;
pub mod relay_api;

pub use decode::{DecodeError, Decoded, Decoder, DecoderConfig, Event, Need, Part};
pub use encode::{encode, encode_into, encode_raw, Frame};
pub use json::{Json, Number, Object};
pub use layout::{Layout, Span, SpanKind};
pub use model::{Content, EncodeError, Header, Message, TextEncoding};

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
