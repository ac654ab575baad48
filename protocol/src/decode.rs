//! Bytes → messages, incrementally: length prefix → JSON header → content.
//!
//! The [`Decoder`] takes whatever chunks arrive (one byte at a time works)
//! and reports each stage as it completes. Not having enough bytes yet is
//! not an error: [`Decoder::poll`] returns `Ok(None)` and [`Decoder::need`]
//! says what is missing. Bytes after a complete message stay buffered for
//! the next one. An error is final for the stream: the decoder keeps
//! returning it, since nothing after a broken frame can be trusted.

use std::borrow::Cow;
use std::fmt;
use std::mem;
use std::ops::Range;

use bytes::{Buf, BytesMut};

use crate::encode::PREFIX_LEN;
use crate::json::{Json, JsonError, MemberValue, Number, ObjectBuilder, Parser};
use crate::layout::{Layout, Recorder, Span, SpanKind};
use crate::model::{intern, Content, Header, HeaderText, Message, TextEncoding, JSON_CONTENT_TYPE};

/// Default for [`DecoderConfig::max_content_length`]: 16 MiB.
pub const DEFAULT_MAX_CONTENT_LENGTH: u64 = 16 * 1024 * 1024;

/// Limits and options of a [`Decoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Largest `content-length` accepted. Checked as soon as the header is
    /// read, before any buffer is sized for the content.
    pub max_content_length: u64,
    /// Record the byte map of each message (the UI and tests want it;
    /// servers turn it off and skip the work).
    pub layout: bool,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            max_content_length: DEFAULT_MAX_CONTENT_LENGTH,
            layout: true,
        }
    }
}

/// The part of a frame being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    LengthPrefix,
    Header,
    Content,
}

/// What the decoder is waiting for: `have` of `need` bytes of `part`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub part: Part,
    pub have: usize,
    pub need: usize,
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Need { part, have, need } = *self;
        match part {
            Part::LengthPrefix => write!(f, "have {have} of {need} header-length bytes"),
            Part::Header => write!(f, "JSON header: {have} of {need} bytes"),
            Part::Content => write!(f, "content: {have} of {need} bytes"),
        }
    }
}

/// A stage of a frame, completed.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The 2-byte length prefix is in: the JSON header is `header_len` bytes.
    Prefix { frame_start: u64, header_len: u16 },
    /// The JSON header is in and valid ([`Decoder::header`] shows it).
    Header {
        frame_start: u64,
        /// Byte range of the header within the frame.
        range: Range<usize>,
        content_length: u64,
    },
    /// A whole message is in.
    Message(Decoded),
}

/// A complete message and where it was in the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub message: Message,
    /// The frame's byte map (empty when [`DecoderConfig::layout`] is off).
    pub layout: Layout,
    /// Stream offset of the frame's first byte.
    pub frame_start: u64,
    /// Length of the whole frame in bytes.
    pub frame_len: usize,
}

/// Why a stream of bytes is not a valid message. Each is final for the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("zero-length JSON header: the 2-byte length prefix is 0")]
    ZeroLengthHeader,
    #[error("JSON header is not valid UTF-8 (valid up to header byte {valid_up_to})")]
    HeaderNotUtf8 { valid_up_to: usize },
    #[error("JSON header is not valid JSON: {0}")]
    HeaderNotJson(JsonError),
    #[error("JSON header is not a JSON object but {found}")]
    HeaderNotObject { found: &'static str },
    #[error("missing required header \"{0}\"")]
    MissingHeader(&'static str),
    #[error("header \"{name}\" must be {expected}, found {found}")]
    InvalidHeaderField {
        name: &'static str,
        expected: &'static str,
        found: String,
    },
    #[error("content-length must be a non-negative integer, found {found}")]
    InvalidContentLength { found: String },
    #[error("content-length {length} is above the limit of {limit} bytes")]
    ContentTooLarge { length: String, limit: u64 },
    #[error("unknown content-encoding {0:?} for text content")]
    UnknownEncoding(String),
    #[error("content is not valid {encoding}: {reason}")]
    ContentEncoding {
        encoding: &'static str,
        reason: String,
    },
    #[error("content is not valid JSON: {0}")]
    ContentNotJson(JsonError),
    #[error("stream ended inside a message ({0})")]
    Truncated(Need),
}

/// Header fields found so far while the header object is read.
#[derive(Default)]
struct HeaderFields {
    byteorder: Option<HeaderText>,
    content_type: Option<HeaderText>,
    content_encoding: Option<HeaderText>,
    content_length: Option<Json>,
    extra: ObjectBuilder,
}

enum State {
    Prefix,
    Header {
        header_len: usize,
    },
    Content {
        header_len: usize,
        header: Header,
        spans: Vec<Span>,
    },
    Failed(DecodeError),
}

/// The incremental decoder. It owns a buffer for [`push`](Self::push) and
/// [`poll`](Self::poll); [`decode_from`](Self::decode_from) runs the same
/// machine over a caller's buffer (the tokio codec's).
pub struct Decoder {
    config: DecoderConfig,
    buf: BytesMut,
    /// Stream offset of the first byte of the frame being read.
    frame_start: u64,
    state: State,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DecoderConfig::default())
    }
}

impl Decoder {
    pub fn new(config: DecoderConfig) -> Self {
        Decoder {
            config,
            buf: BytesMut::new(),
            frame_start: 0,
            state: State::Prefix,
        }
    }

    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// Adds received bytes to the buffer.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Advances by one stage if the buffered bytes allow it.
    pub fn poll(&mut self) -> Result<Option<Event>, DecodeError> {
        let mut buf = mem::take(&mut self.buf);
        let result = self.decode_from(&mut buf);
        self.buf = buf;
        result
    }

    /// Like [`poll`](Self::poll), over bytes buffered by the caller; consumed
    /// bytes are removed from `buf`.
    pub fn decode_from(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, DecodeError> {
        let result = self.step(buf);
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result
    }

    /// What the next stage still needs, given `buffered` bytes on hand
    /// (`None` once the decoder has failed).
    pub fn need_with(&self, buffered: usize) -> Option<Need> {
        let (part, need) = match &self.state {
            State::Prefix => (Part::LengthPrefix, PREFIX_LEN),
            State::Header { header_len } => (Part::Header, *header_len),
            State::Content { header, .. } => (Part::Content, header.content_length as usize),
            State::Failed(_) => return None,
        };
        Some(Need {
            part,
            have: buffered.min(need),
            need,
        })
    }

    /// What the next stage still needs from the own buffer.
    pub fn need(&self) -> Option<Need> {
        self.need_with(self.buf.len())
    }

    /// Bytes received and not yet consumed by a completed stage.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// The header of the message being read, once it is in.
    pub fn header(&self) -> Option<&Header> {
        match &self.state {
            State::Content { header, .. } => Some(header),
            _ => None,
        }
    }

    /// Stream offset of the frame being read.
    pub fn frame_start(&self) -> u64 {
        self.frame_start
    }

    /// The error the decoder stopped at, if any.
    pub fn error(&self) -> Option<&DecodeError> {
        match &self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// True between messages: nothing of a next frame has arrived.
    pub fn is_idle_with(&self, buffered: usize) -> bool {
        matches!(self.state, State::Prefix) && buffered == 0
    }

    /// Checks that the stream may end here, with `buffered` bytes unread.
    pub fn finish_with(&self, buffered: usize) -> Result<(), DecodeError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        if self.is_idle_with(buffered) {
            return Ok(());
        }
        Err(DecodeError::Truncated(
            self.need_with(buffered).expect("not failed"),
        ))
    }

    /// [`finish_with`](Self::finish_with) for the own buffer.
    pub fn finish(&self) -> Result<(), DecodeError> {
        self.finish_with(self.buf.len())
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, DecodeError> {
        match &mut self.state {
            State::Failed(e) => Err(e.clone()),
            State::Prefix => {
                if buf.len() < PREFIX_LEN {
                    return Ok(None);
                }
                let header_len = buf.get_u16();
                if header_len == 0 {
                    return Err(DecodeError::ZeroLengthHeader);
                }
                self.state = State::Header {
                    header_len: usize::from(header_len),
                };
                Ok(Some(Event::Prefix {
                    frame_start: self.frame_start,
                    header_len,
                }))
            }
            State::Header { header_len } => {
                let header_len = *header_len;
                if buf.len() < header_len {
                    return Ok(None);
                }
                let mut spans = Vec::new();
                let header = self.parse_header(&buf[..header_len], &mut spans)?;
                buf.advance(header_len);
                // The limit was checked in parse_header: this reservation is bounded.
                let content_length = header.content_length;
                buf.reserve((content_length as usize).saturating_sub(buf.len()));
                self.state = State::Content {
                    header_len,
                    header,
                    spans,
                };
                Ok(Some(Event::Header {
                    frame_start: self.frame_start,
                    range: PREFIX_LEN..PREFIX_LEN + header_len,
                    content_length,
                }))
            }
            State::Content { header, .. } => {
                let content_len = header.content_length as usize;
                if buf.len() < content_len {
                    return Ok(None);
                }
                let State::Content {
                    header_len,
                    header,
                    mut spans,
                } = mem::replace(&mut self.state, State::Prefix)
                else {
                    unreachable!("matched above")
                };
                let content_start = PREFIX_LEN + header_len;
                let content =
                    self.interpret(&header, buf, content_len, content_start, &mut spans)?;
                let frame_start = self.frame_start;
                let frame_len = content_start + content_len;
                self.frame_start += frame_len as u64;
                Ok(Some(Event::Message(Decoded {
                    message: Message { header, content },
                    layout: Layout { spans },
                    frame_start,
                    frame_len,
                })))
            }
        }
    }

    fn parse_header(&self, raw: &[u8], spans: &mut Vec<Span>) -> Result<Header, DecodeError> {
        let text = std::str::from_utf8(raw).map_err(|e| DecodeError::HeaderNotUtf8 {
            valid_up_to: e.valid_up_to(),
        })?;
        let mut rec = Recorder::new(self.config.layout.then_some(spans));
        rec.record(0..PREFIX_LEN, SpanKind::LengthPrefix, "length prefix", None);
        let header_index = rec.open(
            PREFIX_LEN,
            SpanKind::Header,
            || Cow::Borrowed("JSON header"),
            None,
        );
        let mut fields = HeaderFields::default();
        let mut parser = Parser::new(text, PREFIX_LEN, rec);
        let found = parser
            .object_document(header_index, SpanKind::HeaderField, |key, value| {
                fields.take(key, value)
            })
            .map_err(|e| match e {
                HeaderError::Json(e) => DecodeError::HeaderNotJson(e),
                HeaderError::Field(e) => e,
            })?;
        if let Some(found) = found {
            return Err(DecodeError::HeaderNotObject { found });
        }
        let mut rec = parser.into_recorder();
        rec.close(header_index, PREFIX_LEN + raw.len());
        fields.finish(self.config.max_content_length)
    }

    /// Takes the content's `len` bytes off the front of `buf` and reads them
    /// as the header says. Binary content is split off without a copy; text
    /// is read in place.
    fn interpret(
        &self,
        header: &Header,
        buf: &mut BytesMut,
        len: usize,
        content_start: usize,
        spans: &mut Vec<Span>,
    ) -> Result<Content, DecodeError> {
        let mut rec = Recorder::new(self.config.layout.then_some(spans));
        let content_index = rec.record(
            content_start..content_start + len,
            SpanKind::Content,
            "content",
            None,
        );
        let is_json = header.content_type == JSON_CONTENT_TYPE;
        let encoding = TextEncoding::from_name(&header.content_encoding);
        let encoding = match encoding {
            Some(encoding) if is_json || header.content_type.starts_with("text/") => encoding,
            None if is_json => {
                return Err(DecodeError::UnknownEncoding(
                    header.content_encoding.to_string(),
                ))
            }
            _ => return Ok(Content::Binary(buf.split_to(len).freeze())),
        };
        let bytes = &buf[..len];
        let text: Cow<'_, str> = if encoding.is_utf8_compatible() {
            let valid = match encoding {
                TextEncoding::Ascii => bytes.is_ascii(),
                _ => std::str::from_utf8(bytes).is_ok(),
            };
            if !valid {
                let reason = encoding.decode(bytes).expect_err("invalid above");
                return Err(content_encoding_error(encoding, reason));
            }
            Cow::Borrowed(std::str::from_utf8(bytes).expect("checked above"))
        } else {
            Cow::Owned(
                encoding
                    .decode(bytes)
                    .map_err(|reason| content_encoding_error(encoding, reason))?,
            )
        };
        let content = if is_json {
            // Spans inside the content are byte-exact only when text bytes are wire bytes.
            let rec = if encoding.is_utf8_compatible() {
                rec
            } else {
                Recorder::off()
            };
            let value = Parser::new(&text, content_start, rec)
                .document_in(content_index, SpanKind::ContentField)
                .map_err(DecodeError::ContentNotJson)?;
            Content::Json(value)
        } else {
            Content::Text(text.into_owned())
        };
        buf.advance(len);
        Ok(content)
    }
}

fn content_encoding_error(encoding: TextEncoding, reason: String) -> DecodeError {
    DecodeError::ContentEncoding {
        encoding: encoding.name(),
        reason,
    }
}

/// A header member that parsed as JSON but is not acceptable, or a JSON error.
enum HeaderError {
    Json(JsonError),
    Field(DecodeError),
}

impl From<JsonError> for HeaderError {
    fn from(e: JsonError) -> Self {
        HeaderError::Json(e)
    }
}

impl HeaderFields {
    fn take(&mut self, key: Cow<'_, str>, value: MemberValue<'_>) -> Result<(), HeaderError> {
        let (name, slot) = match key.as_ref() {
            "byteorder" => ("byteorder", &mut self.byteorder),
            "content-type" => ("content-type", &mut self.content_type),
            "content-encoding" => ("content-encoding", &mut self.content_encoding),
            "content-length" => {
                self.content_length = Some(value.into_json());
                return Ok(());
            }
            _ => {
                self.extra.insert(key.into_owned(), value.into_json());
                return Ok(());
            }
        };
        match value {
            MemberValue::Str(s) => {
                *slot = Some(intern(s));
                Ok(())
            }
            MemberValue::Other(other) => Err(HeaderError::Field(DecodeError::InvalidHeaderField {
                name,
                expected: "a string",
                found: other.to_python_json(),
            })),
        }
    }

    /// Checks presence in the order the tutorial's server checks it.
    fn finish(self, max_content_length: u64) -> Result<Header, DecodeError> {
        let byteorder = self
            .byteorder
            .ok_or(DecodeError::MissingHeader("byteorder"))?;
        let length = self
            .content_length
            .ok_or(DecodeError::MissingHeader("content-length"))?;
        let content_type = self
            .content_type
            .ok_or(DecodeError::MissingHeader("content-type"))?;
        let content_encoding = self
            .content_encoding
            .ok_or(DecodeError::MissingHeader("content-encoding"))?;
        let too_large = |length: String| DecodeError::ContentTooLarge {
            length,
            limit: max_content_length,
        };
        let content_length = match length {
            Json::Number(Number::Int(n)) if n >= 0 => {
                let n = n as u64;
                if n > max_content_length {
                    return Err(too_large(n.to_string()));
                }
                n
            }
            Json::Number(Number::BigInt(digits)) if !digits.starts_with('-') => {
                return Err(too_large(digits.into()))
            }
            other => {
                return Err(DecodeError::InvalidContentLength {
                    found: other.to_python_json(),
                })
            }
        };
        Ok(Header {
            byteorder,
            content_type,
            content_encoding,
            content_length,
            extra: self.extra.finish(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const MORPHEUS: &[u8] = b"\x00d{\"byteorder\": \"big\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 41}{\"action\": \"search\", \"value\": \"morpheus\"}";

    fn events(decoder: &mut Decoder) -> Result<Vec<Event>, DecodeError> {
        let mut out = Vec::new();
        while let Some(e) = decoder.poll()? {
            out.push(e);
        }
        Ok(out)
    }

    #[test]
    fn stages_complete_in_order_with_their_ranges() {
        let mut d = Decoder::default();
        d.push(MORPHEUS);
        let got = events(&mut d).unwrap();
        assert_eq!(
            got[0],
            Event::Prefix {
                frame_start: 0,
                header_len: 100
            }
        );
        assert_eq!(
            got[1],
            Event::Header {
                frame_start: 0,
                range: 2..102,
                content_length: 41
            }
        );
        let Event::Message(decoded) = &got[2] else {
            panic!("expected a message, got {:?}", got[2])
        };
        assert_eq!(decoded.frame_len, MORPHEUS.len());
        assert_eq!(decoded.message.header.byteorder, "big");
        assert_eq!(
            d.need(),
            Some(Need {
                part: Part::LengthPrefix,
                have: 0,
                need: 2
            })
        );
        assert!(d.finish().is_ok());
    }

    #[test]
    fn need_reports_progress_in_words() {
        let mut d = Decoder::default();
        d.push(&MORPHEUS[..1]);
        assert_eq!(events(&mut d).unwrap(), vec![]);
        assert_eq!(
            d.need().unwrap().to_string(),
            "have 1 of 2 header-length bytes"
        );
        d.push(&MORPHEUS[1..39]);
        events(&mut d).unwrap();
        assert_eq!(
            d.need().unwrap().to_string(),
            "JSON header: 37 of 100 bytes"
        );
        assert_eq!(d.header(), None);
        d.push(&MORPHEUS[39..110]);
        events(&mut d).unwrap();
        assert_eq!(d.need().unwrap().to_string(), "content: 8 of 41 bytes");
        assert_eq!(d.header().unwrap().content_length, 41);
        assert_eq!(
            d.finish(),
            Err(DecodeError::Truncated(Need {
                part: Part::Content,
                have: 8,
                need: 41
            }))
        );
    }

    #[test]
    fn bytes_after_a_message_stay_for_the_next_one() {
        let mut d = Decoder::default();
        let mut stream = MORPHEUS.to_vec();
        stream.extend_from_slice(&MORPHEUS[..5]);
        d.push(&stream);
        let got = events(&mut d).unwrap();
        assert_eq!(got.len(), 4, "message, then the next prefix");
        assert_eq!(
            got[3],
            Event::Prefix {
                frame_start: MORPHEUS.len() as u64,
                header_len: 100
            }
        );
        assert_eq!(d.buffered(), &MORPHEUS[2..5]);
    }

    fn error_for(frame: &[u8]) -> DecodeError {
        let mut d = Decoder::new(DecoderConfig {
            max_content_length: 1000,
            layout: true,
        });
        d.push(frame);
        let err = events(&mut d).unwrap_err();
        assert_eq!(d.poll().unwrap_err(), err, "errors are final");
        err
    }

    fn framed(header: &str, content: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(content);
        out
    }

    const FULL: &str = r#"{"byteorder": "little", "content-type": "text/json", "content-encoding": "utf-8", "content-length": 2}"#;

    #[test]
    fn a_zero_length_header_is_an_error() {
        assert_eq!(error_for(b"\x00\x00{}"), DecodeError::ZeroLengthHeader);
    }

    #[test]
    fn a_header_that_is_not_utf8_is_an_error() {
        assert_eq!(
            error_for(b"\x00\x03{\xff}"),
            DecodeError::HeaderNotUtf8 { valid_up_to: 1 }
        );
    }

    #[test]
    fn a_header_that_is_not_json_is_an_error() {
        assert!(matches!(
            error_for(&framed("{byteorder}", b"")),
            DecodeError::HeaderNotJson(JsonError { offset: 1, .. })
        ));
    }

    #[test]
    fn a_header_that_is_not_an_object_is_an_error() {
        assert_eq!(
            error_for(&framed("[1, 2]", b"")),
            DecodeError::HeaderNotObject { found: "array" }
        );
    }

    #[test]
    fn each_missing_required_header_is_named() {
        for missing in [
            "byteorder",
            "content-type",
            "content-encoding",
            "content-length",
        ] {
            let header: String = FULL
                .split(", ")
                .filter(|kv| !kv.contains(&format!("\"{missing}\"")))
                .collect::<Vec<_>>()
                .join(", ");
            let header = if header.starts_with('{') {
                header
            } else {
                format!("{{{header}")
            };
            let header = if header.ends_with('}') {
                header
            } else {
                format!("{header}}}")
            };
            assert_eq!(
                error_for(&framed(&header, b"{}")),
                DecodeError::MissingHeader(missing),
                "{header}"
            );
        }
    }

    #[test]
    fn content_length_must_be_a_non_negative_integer() {
        for bad in ["-1", "\"2\"", "2.0", "true", "null"] {
            let header = FULL.replace(
                "\"content-length\": 2",
                &format!("\"content-length\": {bad}"),
            );
            assert_eq!(
                error_for(&framed(&header, b"{}")),
                DecodeError::InvalidContentLength { found: bad.into() }
            );
        }
    }

    #[test]
    fn content_length_above_the_limit_is_refused_before_the_content_arrives() {
        for (length, shown) in [
            ("1001", "1001"),
            ("99999999999999999999999", "99999999999999999999999"),
        ] {
            let header = FULL.replace(
                "\"content-length\": 2",
                &format!("\"content-length\": {length}"),
            );
            // No content at all: the refusal comes from the header alone.
            assert_eq!(
                error_for(&framed(&header, b"")),
                DecodeError::ContentTooLarge {
                    length: shown.into(),
                    limit: 1000
                }
            );
        }
    }

    #[test]
    fn required_headers_must_be_strings() {
        let header = FULL.replace("\"text/json\"", "7");
        assert_eq!(
            error_for(&framed(&header, b"{}")),
            DecodeError::InvalidHeaderField {
                name: "content-type",
                expected: "a string",
                found: "7".into()
            }
        );
    }

    #[test]
    fn json_content_not_decodable_in_its_encoding_is_an_error() {
        assert_eq!(
            error_for(&framed(FULL, b"\"\xff")),
            DecodeError::ContentEncoding {
                encoding: "utf-8",
                reason: "invalid UTF-8 at content byte 1".into()
            }
        );
        let unknown = FULL.replace("utf-8", "klingon");
        assert_eq!(
            error_for(&framed(&unknown, b"{}")),
            DecodeError::UnknownEncoding("klingon".into())
        );
    }

    #[test]
    fn invalid_json_content_is_an_error() {
        assert!(matches!(
            error_for(&framed(FULL, b"{]")),
            DecodeError::ContentNotJson(_)
        ));
    }

    #[test]
    fn non_json_content_types_are_binary_and_never_decoded() {
        let header = FULL
            .replace("text/json", "binary/custom-client-binary-type")
            .replace("utf-8", "binary");
        let mut d = Decoder::default();
        d.push(&framed(&header, b"\xff\xfe"));
        let Some(Event::Message(decoded)) = events(&mut d).unwrap().pop() else {
            panic!("no message")
        };
        assert_eq!(
            decoded.message.content,
            Content::Binary(bytes::Bytes::from_static(b"\xff\xfe"))
        );
    }

    #[test]
    fn text_content_is_decoded_in_its_encoding() {
        let header = FULL
            .replace("text/json", "text/plain")
            .replace("utf-8", "latin-1");
        let mut d = Decoder::default();
        d.push(&framed(&header, b"\xe9!"));
        let Some(Event::Message(decoded)) = events(&mut d).unwrap().pop() else {
            panic!("no message")
        };
        assert_eq!(decoded.message.content, Content::Text("é!".into()));
    }

    #[test]
    fn extra_header_keys_are_kept_in_order() {
        let header = FULL.replace("{", r#"{"z": 1, "a": [true], "#);
        let mut d = Decoder::default();
        d.push(&framed(&header, b"{}"));
        let Some(Event::Message(decoded)) = events(&mut d).unwrap().pop() else {
            panic!("no message")
        };
        let keys: Vec<_> = decoded
            .message
            .header
            .extra
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(keys, ["z", "a"]);
    }

    #[test]
    fn layout_off_records_nothing() {
        let mut d = Decoder::new(DecoderConfig {
            layout: false,
            ..DecoderConfig::default()
        });
        d.push(MORPHEUS);
        let Some(Event::Message(decoded)) = events(&mut d).unwrap().pop() else {
            panic!("no message")
        };
        assert!(decoded.layout.spans.is_empty());
    }
}
