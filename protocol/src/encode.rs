//! Message → bytes, with the exact byte map of what was written.
//!
//! A frame is `u16 big-endian header length ‖ JSON header ‖ content`, the
//! header written by [`crate::json`] exactly as the tutorial's Python does.

use std::borrow::Cow;

use crate::json::{Json, Writer};
use crate::layout::{Layout, Recorder, Span, SpanKind};
use crate::model::{Content, EncodeError, Message, TextEncoding, REQUIRED_HEADERS};

/// Length of the fixed prefix that carries the JSON header's length.
pub const PREFIX_LEN: usize = 2;

/// An encoded frame and its byte map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The frame as it goes on the wire.
    pub bytes: Vec<u8>,
    /// Which bytes are which, recorded as they were written.
    pub layout: Layout,
}

/// Encodes `message`, recording its layout.
pub fn encode(message: &Message) -> Result<Frame, EncodeError> {
    let mut bytes = Vec::new();
    let mut spans = Vec::new();
    write_message(message, &mut bytes, Recorder::new(Some(&mut spans)))?;
    Ok(Frame {
        bytes,
        layout: Layout { spans },
    })
}

/// Appends the encoded `message` to `out` without recording a layout (the servers' path).
pub fn encode_into(message: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    write_message(message, out, Recorder::off()).inspect_err(|_| out.truncate(start))
}

/// Encodes any header object and any content bytes as they are: nothing is
/// checked or derived, so this is how frames that break the rules are made
/// (a missing header, a content-length that lies).
pub fn encode_raw(header: &[(String, Json)], content: &[u8]) -> Result<Frame, EncodeError> {
    let mut bytes = Vec::with_capacity(PREFIX_LEN + 128 + content.len());
    let mut spans = Vec::new();
    let kind = SpanKind::HeaderField;
    let (mut w, header_index) = open_header(&mut bytes, Recorder::new(Some(&mut spans)));
    for (i, (key, value)) in header.iter().enumerate() {
        if i > 0 {
            w.raw(b", ");
        }
        w.member(
            key,
            |w, parent| w.value(value, parent, kind),
            header_index,
            kind,
        );
    }
    let mut rec = close_header(w, header_index)?;
    let start = bytes.len();
    bytes.extend_from_slice(content);
    rec.record(start..bytes.len(), SpanKind::Content, "content", None);
    Ok(Frame {
        bytes,
        layout: Layout { spans },
    })
}

/// Writes the placeholder prefix and the header's `{`; returns the writer
/// positioned for the first member, and the header span.
fn open_header<'o, 'r>(
    out: &'o mut Vec<u8>,
    mut rec: Recorder<'r>,
) -> (Writer<'o, 'r>, Option<usize>) {
    let origin = out.len();
    rec.record(0..PREFIX_LEN, SpanKind::LengthPrefix, "length prefix", None);
    let header = rec.open(
        PREFIX_LEN,
        SpanKind::Header,
        || Cow::Borrowed("JSON header"),
        None,
    );
    out.extend_from_slice(&[0, 0, b'{']);
    (Writer::new(out, origin, rec), header)
}

/// Writes the header's `}` and its length into the prefix.
fn close_header<'r>(
    mut w: Writer<'_, 'r>,
    header: Option<usize>,
) -> Result<Recorder<'r>, EncodeError> {
    w.raw(b"}");
    let end = w.position();
    let (out, origin, mut rec) = w.into_parts();
    let header_len = end - PREFIX_LEN;
    let prefix = u16::try_from(header_len).map_err(|_| EncodeError::HeaderTooLong(header_len))?;
    out[origin..origin + PREFIX_LEN].copy_from_slice(&prefix.to_be_bytes());
    rec.close(header, end);
    Ok(rec)
}

/// The content bytes, and for UTF-8 JSON content the spans of its fields
/// (relative to the content's first byte).
fn content_with_spans<'m>(
    message: &'m Message,
    want_spans: bool,
) -> Result<(Cow<'m, [u8]>, Vec<Span>), EncodeError> {
    let encoding = &message.header.content_encoding;
    let text_encoding = || {
        TextEncoding::from_name(encoding)
            .ok_or_else(|| EncodeError::UnknownEncoding(encoding.to_string()))
    };
    match &message.content {
        Content::Binary(bytes) => Ok((Cow::Borrowed(bytes.as_ref()), Vec::new())),
        Content::Text(text) => Ok((Cow::Owned(text_encoding()?.encode(text)?), Vec::new())),
        Content::Json(value) => {
            let enc = text_encoding()?;
            let mut spans = Vec::new();
            let mut text = Vec::new();
            let rec = Recorder::new((want_spans && enc.is_utf8_compatible()).then_some(&mut spans));
            Writer::new(&mut text, 0, rec).value(value, None, SpanKind::ContentField);
            if enc == TextEncoding::Utf8 {
                return Ok((Cow::Owned(text), spans));
            }
            let text = String::from_utf8(text).expect("the JSON writer writes UTF-8");
            Ok((Cow::Owned(enc.encode(&text)?), spans))
        }
    }
}

fn write_message(
    message: &Message,
    out: &mut Vec<u8>,
    rec: Recorder<'_>,
) -> Result<(), EncodeError> {
    let (content, content_spans) = content_with_spans(message, rec.is_on())?;
    let origin = out.len();
    let header = &message.header;
    let kind = SpanKind::HeaderField;
    let [byteorder, content_type, content_encoding, content_length] = REQUIRED_HEADERS;
    let (mut w, header_index) = open_header(out, rec);
    for (key, text) in [
        (byteorder, &header.byteorder),
        (content_type, &header.content_type),
        (content_encoding, &header.content_encoding),
    ] {
        w.member(key, |w, _| w.string(text), header_index, kind);
        w.raw(b", ");
    }
    let length = content.len().to_string();
    w.member(
        content_length,
        |w, _| w.raw(length.as_bytes()),
        header_index,
        kind,
    );
    for (key, value) in &header.extra {
        w.raw(b", ");
        w.member(
            key,
            |w, parent| w.value(value, parent, kind),
            header_index,
            kind,
        );
    }
    let mut rec = close_header(w, header_index)?;
    let content_start = out.len() - origin;
    out.extend_from_slice(&content);
    let content_index = rec.record(
        content_start..content_start + content.len(),
        SpanKind::Content,
        "content",
        None,
    );
    if let Some(content_index) = content_index {
        // Content spans were recorded from 0 with top-level parents of None.
        let base = content_index + 1;
        rec.extend(content_spans.into_iter().map(|mut span| {
            span.range = span.range.start + content_start..span.range.end + content_start;
            span.parent = Some(span.parent.map_or(content_index, |p| p + base));
            span
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Object;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn search(value: &str) -> Message {
        let content: Object = [("action", "search"), ("value", value)]
            .into_iter()
            .collect();
        Message::json(content.into()).with_byteorder("big")
    }

    #[test]
    fn the_tutorials_morpheus_request_is_byte_exact() {
        let frame = encode(&search("morpheus")).unwrap();
        assert_eq!(
            frame.bytes,
            b"\x00d{\"byteorder\": \"big\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 41}{\"action\": \"search\", \"value\": \"morpheus\"}"
        );
    }

    #[test]
    fn encode_into_appends_the_same_bytes_without_a_layout() {
        let message = search("🐶");
        let mut out = b"before".to_vec();
        encode_into(&message, &mut out).unwrap();
        assert_eq!(&out[..6], b"before");
        assert_eq!(out[6..], encode(&message).unwrap().bytes[..]);
    }

    #[test]
    fn layout_names_every_region_of_the_frame() {
        let frame = encode(&search("morpheus")).unwrap();
        let text =
            |span: &Span| String::from_utf8_lossy(&frame.bytes[span.range.clone()]).into_owned();
        let spans = &frame.layout.spans;
        assert_eq!(spans[0].range, 0..2);
        assert_eq!(spans[0].kind, SpanKind::LengthPrefix);
        assert_eq!(spans[1].range, 2..102);
        assert_eq!(spans[1].kind, SpanKind::Header);
        let fields: Vec<_> = spans
            .iter()
            .filter(|s| s.kind == SpanKind::HeaderField)
            .map(|s| (s.label.to_string(), text(s)))
            .collect();
        assert_eq!(
            fields,
            [
                ("byteorder", "\"byteorder\": \"big\""),
                ("content-type", "\"content-type\": \"text/json\""),
                ("content-encoding", "\"content-encoding\": \"utf-8\""),
                ("content-length", "\"content-length\": 41"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
        let content = frame.layout.find(SpanKind::Content).unwrap();
        assert_eq!(content.range, 102..143);
        let value_of_value = spans
            .iter()
            .rposition(|s| s.kind == SpanKind::Value)
            .unwrap();
        assert_eq!(text(&spans[value_of_value]), "\"morpheus\"");
        let field = spans[value_of_value].parent.unwrap();
        assert_eq!(spans[field].kind, SpanKind::ContentField);
        assert_eq!(spans[field].label, "value");
        assert_eq!(
            frame.layout.ancestry(value_of_value)[0],
            frame
                .layout
                .spans
                .iter()
                .position(|s| s.kind == SpanKind::Content)
                .unwrap()
        );
    }

    #[test]
    fn extra_header_keys_follow_the_required_ones() {
        let message = Message::binary("binary/x", &b"ab"[..])
            .with_byteorder("little")
            .with_extra("x-trace", 7);
        let frame = encode(&message).unwrap();
        let header_len = usize::from(u16::from_be_bytes([frame.bytes[0], frame.bytes[1]]));
        assert_eq!(
            std::str::from_utf8(&frame.bytes[2..2 + header_len]).unwrap(),
            r#"{"byteorder": "little", "content-type": "binary/x", "content-encoding": "binary", "content-length": 2, "x-trace": 7}"#
        );
        assert_eq!(&frame.bytes[2 + header_len..], b"ab");
    }

    #[test]
    fn content_length_counts_encoded_bytes_not_characters() {
        let content: Object = [("result", "🐾")].into_iter().collect();
        let message = Message::new("text/json", "utf-16", Content::Json(content.into())).unwrap();
        let frame = encode(&message).unwrap();
        // BOM + 16 UTF-16 code units (the emoji is a surrogate pair).
        assert_eq!(message.header.content_length, 2 + 2 * 16);
        assert!(String::from_utf8_lossy(&frame.bytes).contains("\"content-length\": 34}"));
    }

    #[test]
    fn a_header_over_65535_bytes_is_refused() {
        let message = Message::binary("x", &b""[..]).with_extra("big", "a".repeat(70_000));
        assert!(matches!(encode(&message), Err(EncodeError::HeaderTooLong(n)) if n > 65_535));
        let mut out = vec![1];
        assert!(encode_into(&message, &mut out).is_err());
        assert_eq!(out, [1], "a failed encode leaves the buffer as it was");
    }

    #[test]
    fn raw_frames_say_whatever_they_are_told() {
        let header = vec![
            ("byteorder".to_owned(), Json::from("little")),
            ("content-length".to_owned(), Json::from(99)),
        ];
        let frame = encode_raw(&header, b"hi").unwrap();
        assert_eq!(
            frame.bytes,
            b"\x00-{\"byteorder\": \"little\", \"content-length\": 99}hi"
        );
        assert_eq!(frame.layout.find(SpanKind::Content).unwrap().range, 47..49);
    }
}
