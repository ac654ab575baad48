//! What a message is: a JSON header and the content it describes.

use std::borrow::Cow;

use bytes::Bytes;

use crate::json::{insert_or_replace, Json};

/// A header string: borrowed for the values the tutorial uses everywhere
/// (see [`intern`]), owned otherwise, so the common case allocates nothing.
pub type HeaderText = Cow<'static, str>;

/// The header values every tutorial message uses, as static strings.
const COMMON_VALUES: [&str; 7] = [
    "little",
    "big",
    "text/json",
    "utf-8",
    "binary",
    "binary/custom-client-binary-type",
    "binary/custom-server-binary-type",
];

/// A header string without an allocation when it is one of the common values.
pub fn intern(text: Cow<'_, str>) -> HeaderText {
    match COMMON_VALUES.iter().find(|common| **common == text) {
        Some(common) => Cow::Borrowed(common),
        None => Cow::Owned(text.into_owned()),
    }
}

/// The header keys every message must carry, in the order the tutorial writes them.
pub const REQUIRED_HEADERS: [&str; 4] = [
    "byteorder",
    "content-type",
    "content-encoding",
    "content-length",
];

/// The content type whose content is JSON (the tutorial's only structured type).
pub const JSON_CONTENT_TYPE: &str = "text/json";

/// The byte order Python's `sys.byteorder` reports on this machine.
pub const NATIVE_BYTEORDER: &str = if cfg!(target_endian = "big") {
    "big"
} else {
    "little"
};

/// The JSON header of a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// The sender's `sys.byteorder`, `"little"` or `"big"`: carried for
    /// whoever reads binary content, never used to read the frame (the
    /// prefix is always big-endian).
    pub byteorder: HeaderText,
    /// `text/json` for the tutorial's searches, `binary/...` otherwise; it
    /// decides how the content is read.
    pub content_type: HeaderText,
    /// The text encoding of text content (`utf-8`), or `binary`.
    pub content_encoding: HeaderText,
    /// Number of content bytes after the header. The encoder always writes the
    /// real count; a frame that lies about it is made with [`crate::encode::encode_raw`].
    pub content_length: u64,
    /// Keys beyond the four required ones, in the order they appeared.
    pub extra: Vec<(String, Json)>,
}

/// The content of a message, interpreted according to its header.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// `text/json` content, decoded in its declared text encoding.
    Json(Json),
    /// Other `text/...` content in a known text encoding.
    Text(String),
    /// Anything else, as raw bytes (the tutorial's `binary/...` types).
    Binary(Bytes),
}

/// One message: header plus content.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The JSON header.
    pub header: Header,
    /// The content, interpreted as the header says.
    pub content: Content,
}

impl Message {
    /// A message whose header is derived from `content`: the content's byte
    /// count in `content-length`, this machine's byte order.
    pub fn new(
        content_type: impl Into<HeaderText>,
        content_encoding: impl Into<HeaderText>,
        content: Content,
    ) -> Result<Message, EncodeError> {
        let content_encoding = content_encoding.into();
        let content_length = content_len(&content, &content_encoding)? as u64;
        Ok(Message {
            header: Header {
                byteorder: Cow::Borrowed(NATIVE_BYTEORDER),
                content_type: content_type.into(),
                content_encoding,
                content_length,
                extra: Vec::new(),
            },
            content,
        })
    }

    /// A `text/json`, `utf-8` message.
    pub fn json(value: Json) -> Message {
        Message::new(JSON_CONTENT_TYPE, "utf-8", Content::Json(value))
            .expect("any JSON value encodes as UTF-8")
    }

    /// A binary message with content encoding `binary`.
    pub fn binary(content_type: impl Into<HeaderText>, bytes: impl Into<Bytes>) -> Message {
        Message::new(content_type, "binary", Content::Binary(bytes.into()))
            .expect("binary content always encodes")
    }

    /// The same message claiming another byte order (the tutorial's client ran on a big-endian VM).
    pub fn with_byteorder(mut self, byteorder: impl Into<HeaderText>) -> Message {
        self.header.byteorder = byteorder.into();
        self
    }

    /// The same message with one more header key (after the required ones).
    ///
    /// A key already there keeps its place and takes the new value, as in a
    /// Python dict.
    pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<Json>) -> Message {
        insert_or_replace(&mut self.header.extra, None, key.into(), value.into());
        self
    }

    /// The content as it goes on the wire.
    pub fn content_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        content_bytes(&self.content, &self.header.content_encoding)
    }
}

/// The content encodings this crate can read and write text in. Names are
/// matched the way Python's codec registry matches them (case, `_`/`-`/space).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// `utf-8`, the tutorial's encoding.
    Utf8,
    /// `ascii`: UTF-8 restricted to 7 bits.
    Ascii,
    /// `latin-1`: one byte per character, U+0000 to U+00FF.
    Latin1,
    /// With a byte-order mark, as Python's `utf-16` writes (little-endian here).
    Utf16,
    /// `utf-16-le`, no byte-order mark.
    Utf16Le,
    /// `utf-16-be`, no byte-order mark.
    Utf16Be,
}

impl TextEncoding {
    /// The encoding a header's `content-encoding` names, if this crate knows it.
    pub fn from_name(name: &str) -> Option<TextEncoding> {
        const NAMES: [(&str, TextEncoding); 20] = [
            ("utf-8", TextEncoding::Utf8),
            ("utf8", TextEncoding::Utf8),
            ("u8", TextEncoding::Utf8),
            ("utf", TextEncoding::Utf8),
            ("cp65001", TextEncoding::Utf8),
            ("ascii", TextEncoding::Ascii),
            ("us-ascii", TextEncoding::Ascii),
            ("646", TextEncoding::Ascii),
            ("latin-1", TextEncoding::Latin1),
            ("latin1", TextEncoding::Latin1),
            ("iso-8859-1", TextEncoding::Latin1),
            ("iso8859-1", TextEncoding::Latin1),
            ("8859", TextEncoding::Latin1),
            ("l1", TextEncoding::Latin1),
            ("latin", TextEncoding::Latin1),
            ("utf-16", TextEncoding::Utf16),
            ("utf16", TextEncoding::Utf16),
            ("u16", TextEncoding::Utf16),
            ("utf-16-le", TextEncoding::Utf16Le),
            ("utf-16-be", TextEncoding::Utf16Be),
        ];
        // Python folds case and treats '_' and ' ' as '-'; compare that way
        // without building a normalized copy (this runs once per message).
        let name = name.trim();
        let folded = |c: u8| match c {
            b'_' | b' ' => b'-',
            c => c.to_ascii_lowercase(),
        };
        let same = |candidate: &str| {
            candidate.len() == name.len() && name.bytes().map(folded).eq(candidate.bytes())
        };
        NAMES
            .iter()
            .chain(&[
                ("utf-16le", TextEncoding::Utf16Le),
                ("utf-16be", TextEncoding::Utf16Be),
            ])
            .find(|(candidate, _)| same(candidate))
            .map(|(_, encoding)| *encoding)
    }

    /// True when text in this encoding has the same bytes as its UTF-8 form,
    /// so spans measured on the UTF-8 text hold for the wire bytes.
    pub fn is_utf8_compatible(self) -> bool {
        matches!(self, TextEncoding::Utf8 | TextEncoding::Ascii)
    }

    /// `text` in this encoding, failing (as Python's strict codecs do) on a
    /// character the encoding cannot hold.
    pub fn encode(self, text: &str) -> Result<Vec<u8>, EncodeError> {
        let unencodable = |c: char| EncodeError::Unencodable {
            encoding: self.name(),
            character: c,
        };
        Ok(match self {
            TextEncoding::Utf8 => text.as_bytes().to_vec(),
            TextEncoding::Ascii => match text.chars().find(|c| !c.is_ascii()) {
                Some(c) => return Err(unencodable(c)),
                None => text.as_bytes().to_vec(),
            },
            TextEncoding::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).map_err(|_| unencodable(c)))
                .collect::<Result<_, _>>()?,
            TextEncoding::Utf16 | TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
                let big = self == TextEncoding::Utf16Be;
                let mut out = Vec::with_capacity(text.len() * 2 + 2);
                if self == TextEncoding::Utf16 {
                    out.extend_from_slice(&[0xff, 0xfe]);
                }
                for unit in text.encode_utf16() {
                    out.extend_from_slice(&if big {
                        unit.to_be_bytes()
                    } else {
                        unit.to_le_bytes()
                    });
                }
                out
            }
        })
    }

    /// Decodes strictly, as Python's codecs do by default.
    pub fn decode(self, bytes: &[u8]) -> Result<String, String> {
        match self {
            TextEncoding::Utf8 => std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|e| format!("invalid UTF-8 at content byte {}", e.valid_up_to())),
            TextEncoding::Ascii => match bytes.iter().position(|b| !b.is_ascii()) {
                Some(i) => Err(format!("byte 0x{:02x} at {i} is not ASCII", bytes[i])),
                None => Ok(String::from_utf8(bytes.to_vec()).expect("ASCII is UTF-8")),
            },
            TextEncoding::Latin1 => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
            TextEncoding::Utf16 | TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
                if bytes.len() % 2 == 1 {
                    return Err("truncated UTF-16 data".to_owned());
                }
                let (mut big, mut body) = (self == TextEncoding::Utf16Be, bytes);
                if self == TextEncoding::Utf16 {
                    match bytes {
                        [0xff, 0xfe, rest @ ..] => body = rest,
                        [0xfe, 0xff, rest @ ..] => (big, body) = (true, rest),
                        _ => {}
                    }
                }
                let units = body.chunks_exact(2).map(|p| {
                    if big {
                        u16::from_be_bytes([p[0], p[1]])
                    } else {
                        u16::from_le_bytes([p[0], p[1]])
                    }
                });
                char::decode_utf16(units)
                    .collect::<Result<String, _>>()
                    .map_err(|e| format!("unpaired surrogate 0x{:04x}", e.unpaired_surrogate()))
            }
        }
    }

    /// The canonical name, as a header should carry it.
    pub fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "utf-8",
            TextEncoding::Ascii => "ascii",
            TextEncoding::Latin1 => "latin-1",
            TextEncoding::Utf16 => "utf-16",
            TextEncoding::Utf16Le => "utf-16-le",
            TextEncoding::Utf16Be => "utf-16-be",
        }
    }
}

/// Why a message could not be turned into bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Text or JSON content in an encoding this crate does not know.
    #[error("unknown text encoding {0:?}")]
    UnknownEncoding(String),
    /// A character the content's encoding cannot hold (`é` in `ascii`).
    #[error("{character:?} cannot be encoded in {encoding}")]
    Unencodable {
        /// The encoding's canonical name.
        encoding: &'static str,
        /// The first character that does not fit.
        character: char,
    },
    /// The header does not fit the 2-byte length prefix.
    #[error("the JSON header is {0} bytes; a 2-byte length allows at most 65535")]
    HeaderTooLong(usize),
}

/// The content's byte count. UTF-8 text and JSON are counted without being
/// encoded (a reply is built once per request; its bytes are written later).
fn content_len(content: &Content, encoding: &str) -> Result<usize, EncodeError> {
    let utf8 = TextEncoding::from_name(encoding) == Some(TextEncoding::Utf8);
    match content {
        Content::Binary(bytes) => Ok(bytes.len()),
        Content::Json(value) if utf8 => Ok(value.python_json_len()),
        Content::Text(text) if utf8 => Ok(text.len()),
        _ => Ok(content_bytes(content, encoding)?.len()),
    }
}

fn content_bytes(content: &Content, encoding: &str) -> Result<Vec<u8>, EncodeError> {
    let text_encoding = || {
        TextEncoding::from_name(encoding)
            .ok_or_else(|| EncodeError::UnknownEncoding(encoding.into()))
    };
    match content {
        Content::Json(value) => text_encoding()?.encode(&value.to_python_json()),
        Content::Text(text) => text_encoding()?.encode(text),
        Content::Binary(bytes) => Ok(bytes.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn encoding_names_match_like_pythons_codec_registry() {
        assert_eq!(TextEncoding::from_name("UTF-8"), Some(TextEncoding::Utf8));
        assert_eq!(TextEncoding::from_name("utf_8"), Some(TextEncoding::Utf8));
        assert_eq!(
            TextEncoding::from_name("Latin-1"),
            Some(TextEncoding::Latin1)
        );
        assert_eq!(TextEncoding::from_name("binary"), None);
    }

    #[test]
    fn text_encodings_round_trip_and_refuse_what_they_cannot_hold() {
        for enc in [
            TextEncoding::Utf8,
            TextEncoding::Utf16,
            TextEncoding::Utf16Le,
            TextEncoding::Utf16Be,
        ] {
            let bytes = enc.encode("a🐶é").unwrap();
            assert_eq!(enc.decode(&bytes).unwrap(), "a🐶é");
        }
        assert_eq!(TextEncoding::Utf16.encode("a").unwrap(), b"\xff\xfea\x00");
        assert_eq!(TextEncoding::Latin1.encode("é").unwrap(), b"\xe9");
        assert_eq!(
            TextEncoding::Ascii.encode("é"),
            Err(EncodeError::Unencodable {
                encoding: "ascii",
                character: 'é'
            })
        );
        assert!(TextEncoding::Utf8.decode(b"\xff").is_err());
    }

    #[test]
    fn an_extra_key_set_twice_keeps_its_place_and_its_last_value() {
        let m = Message::binary("x", &b""[..])
            .with_extra("a", 1)
            .with_extra("b", 2)
            .with_extra("a", 3);
        assert_eq!(
            m.header.extra,
            [
                ("a".to_owned(), Json::from(3)),
                ("b".to_owned(), Json::from(2))
            ]
        );
    }

    #[test]
    fn new_messages_count_their_content_bytes() {
        let m = Message::new("text/plain", "utf-16", Content::Text("ab".into())).unwrap();
        assert_eq!(m.header.content_length, 6);
        assert_eq!(m.header.byteorder, NATIVE_BYTEORDER);
    }
}
