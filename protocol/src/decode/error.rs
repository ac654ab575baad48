//! Why a stream of bytes is not a valid message.

use super::event::Need;
use crate::json::JsonError;

/// Why a stream of bytes is not a valid message. Each is final for the
/// connection: with the frame boundary lost, nothing after it can be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The prefix says the header is empty; no header means no content length.
    #[error("zero-length JSON header: the 2-byte length prefix is 0")]
    ZeroLengthHeader,
    /// The header bytes are not UTF-8 text.
    #[error("JSON header is not valid UTF-8 (valid up to header byte {valid_up_to})")]
    HeaderNotUtf8 {
        /// How many header bytes are valid UTF-8 before the first bad one.
        valid_up_to: usize,
    },
    /// The header is text but not JSON.
    // Offsets say what they count: a reader of the whole frame would
    // otherwise take "at byte 20" for a frame offset.
    #[error("JSON header is not valid JSON: {} at byte {} of the header", .0.reason, .0.offset)]
    HeaderNotJson(JsonError),
    /// The header is JSON but not an object, so it has no keys to read.
    #[error("JSON header is not a JSON object but {found}")]
    HeaderNotObject {
        /// Python's name for the type it is instead.
        found: &'static str,
    },
    /// One of the four required keys is absent (the first, in the server's order).
    #[error("missing required header \"{0}\"")]
    MissingHeader(&'static str),
    /// A required key holds the wrong type of value.
    #[error("header \"{name}\" must be {expected}, found {found}")]
    InvalidHeaderField {
        /// The key.
        name: &'static str,
        /// What it must hold, in words.
        expected: &'static str,
        /// What it holds, as JSON.
        found: String,
    },
    /// `content-length` is not a non-negative integer.
    #[error("content-length must be a non-negative integer, found {found}")]
    InvalidContentLength {
        /// The value found, as JSON.
        found: String,
    },
    /// `content-length` is above [`DecoderConfig::max_content_length`](super::DecoderConfig::max_content_length),
    /// refused before any memory is reserved for it.
    #[error("content-length {length} is above the limit of {limit} bytes")]
    ContentTooLarge {
        /// The length asked for, as its digits (it may not fit a `u64`).
        length: String,
        /// The limit in force.
        limit: u64,
    },
    /// JSON content in a text encoding this crate does not know.
    #[error("unknown content-encoding {0:?} for text content")]
    UnknownEncoding(String),
    /// Text content whose bytes are not valid in its declared encoding.
    #[error("content is not valid {encoding}: {reason}")]
    ContentEncoding {
        /// The encoding's canonical name.
        encoding: &'static str,
        /// Where and why decoding failed.
        reason: String,
    },
    /// `text/json` content that does not parse.
    #[error("content is not valid JSON: {} at byte {} of the content", .0.reason, .0.offset)]
    ContentNotJson(JsonError),
    /// The stream ended part-way through a frame.
    #[error("stream ended inside a message ({0})")]
    Truncated(Need),
}
