//! From the composer's fields to bytes, through the protocol crate only, and
//! the edits that change those fields.

use protocol::app;
use protocol::hexdump::{hex_string, parse_hex};
use protocol::json::{self, Json};
use protocol::python::python_repr;
use protocol::{encode, Content, Layout, Message, SpanKind};

use super::composer::{Attached, Composer, Field, Mode};
use super::inbound::{Chunk, Inbound, Verdict};
use super::presets;

/// The bytes the composer stands for, with their byte map.
#[derive(Debug, Clone, Default)]
pub struct Composed {
    pub bytes: Vec<u8>,
    pub layout: Layout,
    /// The message, when the bytes are a valid frame.
    pub message: Option<Message>,
    /// Why nothing could be encoded (then `bytes` is empty).
    pub error: Option<String>,
    /// What a decoder makes of hand-made bytes.
    pub verdict: Option<Verdict>,
    /// The header length the prefix announces and the header's content-length,
    /// as the decoder read them (for the encode steps of hand-made frames).
    pub announced_header_len: Option<u16>,
    pub announced_content_length: Option<u64>,
    /// Extra header keys that repeat a required key: the header holds them twice.
    pub duplicates: Vec<Duplicate>,
}

/// A required header key that an extra key repeats. Python's `json.loads`
/// keeps the last value, so a Python server reads `last`.
#[derive(Debug, Clone, PartialEq)]
pub struct Duplicate {
    /// The required key repeated.
    pub key: &'static str,
    /// The required value, then the extra one, as Python reprs.
    pub first: String,
    pub last: String,
}

impl std::fmt::Display for Duplicate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the header holds \"{}\" twice ({} then {}); Python's json keeps the last, so a Python server reads {}",
            self.key, self.first, self.last, self.last
        )
    }
}

/// The required keys that `message`'s extra keys repeat.
fn duplicates(message: &Message) -> Vec<Duplicate> {
    let h = &message.header;
    protocol::model::REQUIRED_HEADERS
        .iter()
        .filter_map(|&key| {
            let (_, last) = h.extra.iter().rev().find(|(k, _)| k == key)?;
            let first: Json = match key {
                "byteorder" => h.byteorder.as_ref().into(),
                "content-type" => h.content_type.as_ref().into(),
                "content-encoding" => h.content_encoding.as_ref().into(),
                _ => i64::try_from(h.content_length).unwrap_or(i64::MAX).into(),
            };
            Some(Duplicate {
                key,
                first: python_repr(&first),
                last: python_repr(last),
            })
        })
        .collect()
}

impl PartialEq for Composed {
    /// Every render compares the props it holds, and a 16 MiB frame compared
    /// with itself byte by byte costs milliseconds each time: the same value
    /// is equal at once.
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
            || (self.bytes == other.bytes
                && self.layout == other.layout
                && self.message == other.message
                && self.error == other.error
                && self.verdict == other.verdict
                && self.announced_header_len == other.announced_header_len
                && self.announced_content_length == other.announced_content_length)
    }
}

/// Turns the composer's fields into bytes, through the protocol crate only.
pub fn compose(c: &Composer) -> Composed {
    match build(c) {
        Ok(Built::Message(message)) => match encode(&message) {
            Ok(frame) => Composed {
                announced_header_len: frame
                    .layout
                    .find(SpanKind::Header)
                    .and_then(|h| u16::try_from(h.range.len()).ok()),
                announced_content_length: Some(message.header.content_length),
                duplicates: duplicates(&message),
                bytes: frame.bytes,
                layout: frame.layout,
                message: Some(message),
                ..Composed::default()
            },
            Err(e) => failed(e.to_string()),
        },
        Ok(Built::Bytes(bytes)) => {
            let local = Inbound::from_chunks(&[Chunk {
                bytes: bytes.as_slice().into(),
                at_ms: 0.0,
            }]);
            let verdict = local.verdict(true);
            Composed {
                announced_header_len: local.announced_header_len,
                announced_content_length: local.announced_content_length,
                message: local.messages.first().map(|d| d.message.clone()),
                layout: local.layout,
                bytes,
                verdict: Some(verdict),
                ..Composed::default()
            }
        }
        Err(e) => failed(e),
    }
}

fn failed(error: String) -> Composed {
    Composed {
        error: Some(error),
        ..Composed::default()
    }
}

enum Built {
    Message(Message),
    Bytes(Vec<u8>),
}

fn build(c: &Composer) -> Result<Built, String> {
    let message = match c.mode {
        Mode::Hex => {
            return parse_hex(&c.hex)
                .map(Built::Bytes)
                .map_err(|e| format!("hex: {e}"))
        }
        Mode::Request => app::request(&c.action, &c.value),
        Mode::Custom => {
            let content = if let Some(file) = &c.file {
                Content::Binary(file.bytes.to_vec().into())
            } else if c.content_type == protocol::model::JSON_CONTENT_TYPE {
                Content::Json(
                    json::parse(&c.content).map_err(|e| format!("content is not JSON: {e}"))?,
                )
            } else if protocol::TextEncoding::from_name(&c.content_encoding).is_some()
                && c.content_type.starts_with("text/")
            {
                Content::Text(c.content.clone())
            } else {
                Content::Binary(c.content.clone().into_bytes().into())
            };
            Message::new(c.content_type.clone(), c.content_encoding.clone(), content)
                .map_err(|e| e.to_string())?
        }
    };
    let mut message = message.with_byteorder(c.byteorder.clone());
    // Insert-or-replace is the protocol crate's rule (`Message::with_extra`),
    // not re-implemented here.
    for (key, value) in extra_headers(&c.extra_headers)? {
        message = message.with_extra(key, value);
    }
    Ok(Built::Message(message))
}

/// The extra header keys typed as a JSON object.
pub fn extra_headers(text: &str) -> Result<Vec<(String, Json)>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    match json::parse(text) {
        Ok(Json::Object(object)) => Ok(object.into_members()),
        Ok(other) => Err(format!(
            "extra headers must be a JSON object, not {}",
            other.type_name()
        )),
        Err(e) => Err(format!("extra headers are not JSON: {e}")),
    }
}

/// An edit of the composer; every one re-encodes the frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ComposeAction {
    Preset(&'static str),
    SetMode(Mode),
    Set(Field, String),
    /// Copies the composed bytes into the hex editor, to hand-edit them.
    EditAsHex,
    /// A file as the custom content (binary, its MIME type as
    /// content-type), or back to typed content.
    Attach(Option<Attached>),
}

/// Applies `action` to the fields; `composed` is the frame before it (what
/// the hex editor starts from). The caller then [`recompose`]s.
pub fn apply(fields: &mut Composer, composed: &Composed, action: ComposeAction) {
    match action {
        ComposeAction::Preset(id) => {
            if let Some(preset) = presets::find(id) {
                *fields = preset.composer();
            }
        }
        ComposeAction::SetMode(mode) => {
            if mode == Mode::Hex && fields.hex.trim().is_empty() {
                fields.hex = hex_string(&composed.bytes);
            }
            if mode == Mode::Custom && fields.mode != Mode::Custom {
                start_custom_from(fields, composed);
            }
            fields.mode = mode;
        }
        ComposeAction::Set(field, value) => *fields.field_mut(field) = value,
        ComposeAction::EditAsHex => {
            fields.hex = hex_string(&composed.bytes);
            fields.mode = Mode::Hex;
        }
        ComposeAction::Attach(Some(file)) => {
            fields.mode = Mode::Custom;
            fields.content_type = if file.mime.is_empty() {
                "application/octet-stream".to_owned()
            } else {
                file.mime.clone()
            };
            fields.content_encoding = "binary".to_owned();
            fields.file = Some(file);
        }
        ComposeAction::Attach(None) => fields.file = None,
    }
}

/// Custom content starts from the message on screen: its content type,
/// encoding and content as text (JSON as Python writes it). Content that
/// is not text (the binary request) keeps the fields as they were.
fn start_custom_from(fields: &mut Composer, composed: &Composed) {
    let Some(message) = &composed.message else {
        return;
    };
    let content = match &message.content {
        Content::Json(value) => value.to_python_json(),
        Content::Text(text) => text.clone(),
        Content::Binary(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) => return,
        },
    };
    fields.content = content;
    fields.content_type = message.header.content_type.to_string();
    fields.content_encoding = message.header.content_encoding.to_string();
}

/// The frame `fields` stand for, once the preset is forgotten if they no
/// longer match it.
pub fn recompose(fields: &mut Composer) -> Composed {
    if fields
        .preset
        .is_some_and(|p| presets::find(p).is_none_or(|preset| preset.composer() != *fields))
    {
        fields.preset = None;
    }
    compose(fields)
}
