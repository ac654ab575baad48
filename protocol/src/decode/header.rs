//! Header validation: the JSON header is read member by member, the four
//! required keys are taken as they pass and checked in the order the
//! tutorial's server checks them, and the content length is bounded before
//! anything is allocated for the content.

use std::borrow::Cow;

use super::error::DecodeError;
use crate::encode::PREFIX_LEN;
use crate::json::{Json, JsonError, MemberValue, Number, ObjectBuilder, Parser};
use crate::layout::{Recorder, SpanKind};
use crate::model::{intern, Header, HeaderText};

/// Reads the `raw` header bytes into a [`Header`], recording the prefix,
/// header and header-field spans into `rec`, and refusing a `content-length`
/// above `max_content_length`.
pub(super) fn parse_header(
    raw: &[u8],
    mut rec: Recorder<'_>,
    max_content_length: u64,
) -> Result<Header, DecodeError> {
    let text = std::str::from_utf8(raw).map_err(|e| DecodeError::HeaderNotUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
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
    fields.finish(max_content_length)
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
