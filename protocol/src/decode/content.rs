//! Content interpretation: the content bytes read as the header says, JSON
//! in its text encoding, other text as text, anything else as raw bytes.

use std::borrow::Cow;

use bytes::{Buf, BytesMut};

use super::error::DecodeError;
use crate::json::Parser;
use crate::layout::{Recorder, SpanKind};
use crate::model::{Content, Header, TextEncoding, JSON_CONTENT_TYPE};

/// Takes the content's `len` bytes off the front of `buf` and reads them
/// as the header says. Binary content is split off without a copy; text
/// is read in place. Spans go into `rec`, with `content_start` the content's
/// offset in the frame.
pub(super) fn interpret(
    header: &Header,
    buf: &mut BytesMut,
    len: usize,
    content_start: usize,
    mut rec: Recorder<'_>,
) -> Result<Content, DecodeError> {
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

fn content_encoding_error(encoding: TextEncoding, reason: String) -> DecodeError {
    DecodeError::ContentEncoding {
        encoding: encoding.name(),
        reason,
    }
}
