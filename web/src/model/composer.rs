//! What the user typed in the composer: plain fields, no derived data, so
//! presets, share links and the reducer can all build and compare them.

use std::fmt;
use std::rc::Rc;

/// How the message is being composed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The tutorial client's request: an action and a value.
    Request,
    /// Any content type, encoding and content.
    Custom,
    /// Hand-made bytes, typed as hex.
    Hex,
}

impl Mode {
    pub fn key(self) -> &'static str {
        match self {
            Mode::Request => "request",
            Mode::Custom => "custom",
            Mode::Hex => "hex",
        }
    }

    pub fn from_key(key: &str) -> Option<Mode> {
        Some(match key {
            "request" => Mode::Request,
            "custom" => Mode::Custom,
            "hex" => Mode::Hex,
            _ => return None,
        })
    }
}

/// A file given as custom content (dropped on the composer or picked): its
/// bytes go out as they are, as binary content.
#[derive(Clone, PartialEq)]
pub struct Attached {
    pub name: String,
    /// The browser's MIME type for it; the frame's content-type.
    pub mime: String,
    pub bytes: Rc<[u8]>,
}

impl fmt::Debug for Attached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Attached({:?}, {}, {} bytes)",
            self.name,
            self.mime,
            self.bytes.len()
        )
    }
}

/// What the user typed in the composer.
#[derive(Debug, Clone, PartialEq)]
pub struct Composer {
    pub mode: Mode,
    pub action: String,
    pub value: String,
    pub byteorder: String,
    pub content_type: String,
    pub content_encoding: String,
    /// Custom content: JSON for `text/json`, text otherwise.
    pub content: String,
    /// Extra header keys, as a JSON object (empty for none).
    pub extra_headers: String,
    pub hex: String,
    /// The preset last applied, while the fields still match it.
    pub preset: Option<&'static str>,
    /// Custom content from a file, in place of `content`; never in a link.
    pub file: Option<Attached>,
}

impl Default for Composer {
    fn default() -> Self {
        Composer {
            mode: Mode::Request,
            action: "search".into(),
            value: "morpheus".into(),
            byteorder: "big".into(),
            content_type: "text/json".into(),
            content_encoding: "utf-8".into(),
            content: r#"{"action": "search", "value": "ring"}"#.into(),
            extra_headers: String::new(),
            hex: String::new(),
            preset: Some("morpheus"),
            file: None,
        }
    }
}

/// One text field of the composer, so an edit is one action whichever
/// field it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Action,
    Value,
    Byteorder,
    ContentType,
    ContentEncoding,
    Content,
    ExtraHeaders,
    Hex,
}

impl Composer {
    pub fn field_mut(&mut self, field: Field) -> &mut String {
        match field {
            Field::Action => &mut self.action,
            Field::Value => &mut self.value,
            Field::Byteorder => &mut self.byteorder,
            Field::ContentType => &mut self.content_type,
            Field::ContentEncoding => &mut self.content_encoding,
            Field::Content => &mut self.content,
            Field::ExtraHeaders => &mut self.extra_headers,
            Field::Hex => &mut self.hex,
        }
    }
}
