//! The encode steps: content → header → length prefix → frame, each read
//! from the encoder's own layout.

use std::ops::Range;

use protocol::{Content, SpanKind};

use super::compose::Composed;

/// One step of building a frame, for the step-by-step view.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeStep {
    pub title: &'static str,
    /// What was computed and why, in one line.
    pub line: String,
    /// The bytes this step produced, within the frame.
    pub range: Range<usize>,
}

/// Content → header → length prefix → frame, from the encoder's own layout.
pub fn encode_steps(composed: &Composed) -> Vec<EncodeStep> {
    let layout = &composed.layout;
    let (Some(prefix), Some(header)) = (
        layout.find(SpanKind::LengthPrefix),
        layout.find(SpanKind::Header),
    ) else {
        return Vec::new();
    };
    let content = layout
        .find(SpanKind::Content)
        .map_or(header.range.end..header.range.end, |s| s.range.clone());
    let content_len = content.len();
    let what = match &composed.message {
        Some(m) => match &m.content {
            Content::Json(_) => format!(
                "JSON written the way Python's json.dumps writes it, encoded as {}",
                m.header.content_encoding
            ),
            Content::Text(_) => format!("text encoded as {}", m.header.content_encoding),
            Content::Binary(_) => "raw bytes, sent as they are".to_owned(),
        },
        None => "the bytes after the header".to_owned(),
    };
    let length_note = match composed.announced_content_length {
        Some(v) if v == content_len as u64 => {
            format!("content-length = {v}, the content's byte count")
        }
        Some(v) => format!("content-length says {v}, but the content is {content_len} bytes"),
        None => "no valid content-length: a receiver cannot know where the content ends".to_owned(),
    };
    let header_len = header.range.len();
    let frame_len = composed.bytes.len();
    let hi = composed.bytes[prefix.range.start];
    let lo = composed.bytes[prefix.range.start + 1];
    let prefix_line = match composed.announced_header_len {
        Some(n) if usize::from(n) == header_len => format!(
            "header is {header_len} bytes → 0x{hi:02x} 0x{lo:02x}, a 2-byte big-endian integer (network byte order)"
        ),
        Some(n) => format!(
            "0x{hi:02x} 0x{lo:02x} announces a {n}-byte header (big-endian), but {header_len} header bytes follow"
        ),
        None => format!("0x{hi:02x} 0x{lo:02x}: the header's length, big-endian"),
    };
    vec![
        EncodeStep {
            title: "Content bytes",
            line: format!("content is {content_len} bytes: {what}"),
            range: content,
        },
        EncodeStep {
            title: "JSON header",
            line: format!("header is {header_len} bytes of UTF-8 JSON; {length_note}"),
            range: header.range.clone(),
        },
        EncodeStep {
            title: "Header length",
            line: prefix_line,
            range: prefix.range.clone(),
        },
        EncodeStep {
            title: "Whole frame",
            line: format!(
                "frame = {} + {header_len} + {content_len} = {frame_len} bytes: length, header, content",
                prefix.range.len()
            ),
            range: 0..frame_len,
        },
    ]
}
