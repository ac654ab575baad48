//! The encode steps: content → header → length prefix → frame, each read
//! from the bytes as they are, so a hand-made frame steps through whatever
//! parts it has and every number shown adds up for those bytes.

use std::ops::Range;

use protocol::json::{self, Json, Number};
use protocol::{Content, DecodeError};

use super::compose::Composed;
use super::inbound::{Inbound, Verdict};

/// One step of building a frame, for the step-by-step view.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeStep {
    pub title: &'static str,
    /// What was computed and why, in one line.
    pub line: String,
    /// The bytes this step produced, within the frame.
    pub range: Range<usize>,
}

/// Where a frame's bytes break the rules, and why, in words that say what
/// an offset counts.
#[derive(Debug, Clone, PartialEq)]
pub struct Offence {
    /// The bytes to mark, in the offsets of the bytes shown.
    pub range: Range<usize>,
    /// Why, saying of what any offset in it counts.
    pub reason: String,
}

/// The parts the bytes hold, cut where the prefix and the header say.
struct Parts {
    /// The header length the 2-byte prefix announces.
    announced_header: usize,
    header: Range<usize>,
    /// The header's content-length, if the header says one.
    content_length: Option<u64>,
    /// Bytes after the header, all of them.
    after: usize,
    /// The content as content-length cuts it (clamped to the bytes there).
    content: Range<usize>,
    len: usize,
}

impl Parts {
    /// The parts of the frame that `bytes` start with; `announced` is the
    /// content-length the decoder read, if it got that far.
    fn of(bytes: &[u8], announced: Option<u64>) -> Option<Parts> {
        let [hi, lo, ..] = bytes[..] else {
            return None;
        };
        let announced_header = usize::from(u16::from_be_bytes([hi, lo]));
        let len = bytes.len();
        let header = 2..(2 + announced_header).min(len);
        let content_length = announced.or_else(|| header_content_length(&bytes[header.clone()]));
        let after = len - header.end;
        let content_end = content_length.map_or(len, |v| {
            header.end + usize::try_from(v).unwrap_or(usize::MAX).min(after)
        });
        Some(Parts {
            announced_header,
            content: header.end..content_end,
            header,
            content_length,
            after,
            len,
        })
    }

    fn header_complete(&self) -> bool {
        self.header.len() == self.announced_header
    }
}

/// The content-length a header that the decoder refused still states (a
/// header missing content-type still says how long its content is).
fn header_content_length(header: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(header).ok()?;
    match json::parse(text).ok()?.as_object()?.get("content-length")? {
        Json::Number(Number::Int(v)) => u64::try_from(*v).ok(),
        _ => None,
    }
}

/// The decoder's error on hand-made bytes, if it stopped on one.
fn decode_error(composed: &Composed) -> Option<&DecodeError> {
    match &composed.verdict {
        Some(Verdict::Invalid(e)) => Some(e),
        _ => None,
    }
}

/// Content → header → length prefix → frame, for whatever parts the bytes
/// have (none when they are fewer than the 2-byte prefix).
pub fn encode_steps(composed: &Composed) -> Vec<EncodeStep> {
    let Some(p) = Parts::of(&composed.bytes, composed.announced_content_length) else {
        return Vec::new();
    };
    let error = decode_error(composed);
    let header_len = p.header.len();
    let content_len = p.content.len();
    let what = match &composed.message {
        Some(m) => match &m.content {
            Content::Json(_) => format!(
                "JSON written the way Python's json.dumps(obj, ensure_ascii=False) writes it, as the tutorial's programs do, encoded as {}",
                m.header.content_encoding
            ),
            Content::Text(_) => format!("text encoded as {}", m.header.content_encoding),
            Content::Binary(_) => "raw bytes, sent as they are".to_owned(),
        },
        None => "the bytes after the header".to_owned(),
    };
    let (content_title, content_line) = match p.content_length {
        _ if !p.header_complete() => (
            "Content bytes",
            "none: the bytes end inside the header".to_owned(),
        ),
        Some(v) if v == p.after as u64 => (
            "Content bytes",
            format!("content is {content_len} bytes: {what}"),
        ),
        Some(v) if v < p.after as u64 => (
            "Content bytes",
            format!(
                "content-length says {v}, so the content is the first {v} of the {} bytes after the header; the other {} (bytes {}..{}) are not part of this frame",
                p.after,
                p.after - content_len,
                p.content.end,
                p.len
            ),
        ),
        Some(v) => (
            "Content bytes",
            format!(
                "content-length says {v}, but only {} bytes follow the header: a receiver waits for {} more",
                p.after,
                v - p.after as u64
            ),
        ),
        None => (
            "Bytes after the header",
            format!(
                "{} bytes follow the header; with no valid content-length a receiver cannot know where the content ends",
                p.after
            ),
        ),
    };
    let length_note = match p.content_length {
        Some(v) if v == p.after as u64 => {
            format!("content-length = {v}, the content's byte count")
        }
        Some(v) => format!(
            "content-length says {v}, but {} bytes follow the header",
            p.after
        ),
        None => "no valid content-length: a receiver cannot know where the content ends".to_owned(),
    };
    let header_line = if !p.header_complete() {
        format!(
            "the prefix announces {} header bytes, but the bytes end after {header_len} of them",
            p.announced_header
        )
    } else {
        let mut refused = match error {
            Some(e) if is_header_error(e) => format!("; the decoder refuses it: {e}"),
            _ => String::new(),
        };
        for d in &composed.duplicates {
            refused.push_str(&format!("; but {d}"));
        }
        format!("header is {header_len} bytes of UTF-8 JSON; {length_note}{refused}")
    };
    let (hi, lo) = (composed.bytes[0], composed.bytes[1]);
    let prefix_line = if p.header_complete() {
        format!(
            "header is {header_len} bytes → 0x{hi:02x} 0x{lo:02x}, a 2-byte big-endian integer (network byte order)"
        )
    } else {
        format!(
            "0x{hi:02x} 0x{lo:02x} announces a {}-byte header (big-endian), but {header_len} header bytes follow",
            p.announced_header
        )
    };
    let frame_end = p.content.end;
    let frame_line = match p.content_length {
        _ if !p.header_complete() => format!(
            "the bytes end inside the header: 2 + {header_len} = {} bytes of the 2 + {} the prefix announces",
            p.len, p.announced_header
        ),
        Some(v) if v > p.after as u64 => format!(
            "the bytes end inside the content: 2 + {header_len} + {content_len} = {} bytes of the 2 + {header_len} + {v} the header announces",
            p.len
        ),
        Some(_) => {
            let rest = p.len - frame_end;
            let more = if rest > 0 {
                format!(
                    "; {rest} more bytes follow it (bytes {frame_end}..{}), where a receiver expects the next frame's length prefix",
                    p.len
                )
            } else {
                String::new()
            };
            format!("frame = 2 + {header_len} + {content_len} = {frame_end} bytes: length, header, content{more}")
        }
        None => format!(
            "2 + {header_len} + {content_len} = {} bytes: length, header and what follows it; without a valid content-length the frame has no known end",
            p.len
        ),
    };
    vec![
        EncodeStep {
            title: content_title,
            line: content_line,
            range: p.content.clone(),
        },
        EncodeStep {
            title: "JSON header",
            line: header_line,
            range: p.header.clone(),
        },
        EncodeStep {
            title: "Header length",
            line: prefix_line,
            range: 0..2,
        },
        EncodeStep {
            title: "Whole frame",
            line: frame_line,
            range: 0..frame_end,
        },
    ]
}

fn is_header_error(e: &DecodeError) -> bool {
    !matches!(
        e,
        DecodeError::ContentEncoding { .. }
            | DecodeError::ContentNotJson(_)
            | DecodeError::Truncated(_)
    )
}

/// The bytes the decoder stopped at in the composed frame, and why.
pub fn offence(composed: &Composed) -> Option<Offence> {
    let error = decode_error(composed)?;
    offence_in(&composed.bytes, composed.announced_content_length, error)
}

/// The bytes the decoder stopped at in a received stream, and why, in
/// stream offsets.
pub fn inbound_offence(inbound: &Inbound) -> Option<Offence> {
    let error = inbound.error.as_ref()?;
    let start = inbound.last_frame_start.min(inbound.bytes.len());
    let found = offence_in(
        &inbound.bytes.get()[start..],
        inbound.announced_content_length,
        error,
    )?;
    Some(Offence {
        range: found.range.start + start..found.range.end + start,
        reason: found.reason,
    })
}

/// Where `error` lies in the frame that `bytes` start with.
fn offence_in(bytes: &[u8], announced: Option<u64>, error: &DecodeError) -> Option<Offence> {
    let p = Parts::of(bytes, announced)?;
    // A JSON error's offset counts bytes of the part it is in; one past the
    // end (the text stopped early) marks the part's last byte.
    let at = |part: &Range<usize>, offset: usize| {
        let start = (part.start + offset).min(part.end.saturating_sub(1).max(part.start));
        start..(start + 1).min(bytes.len())
    };
    let (range, reason) = match error {
        DecodeError::ZeroLengthHeader => (0..2, "the prefix says the header is 0 bytes".to_owned()),
        DecodeError::HeaderNotUtf8 { valid_up_to } => (
            at(&p.header, *valid_up_to),
            format!("byte {valid_up_to} of the header is not UTF-8"),
        ),
        DecodeError::HeaderNotJson(e) => (
            at(&p.header, e.offset),
            format!(
                "the header is not JSON at byte {} of the header: {}",
                e.offset, e.reason
            ),
        ),
        DecodeError::ContentNotJson(e) => {
            let end = if e.offset >= p.content.len() {
                " (its end: the content stops there)"
            } else {
                ""
            };
            (
                at(&p.content, e.offset),
                format!(
                    "the content is not JSON at byte {} of the content{end}: {}",
                    e.offset, e.reason
                ),
            )
        }
        DecodeError::ContentEncoding { .. } => (p.content.clone(), error.to_string()),
        DecodeError::Truncated(_) => return None,
        _ => (p.header.clone(), format!("the header: {error}")),
    };
    Some(Offence { range, reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::compose::{apply, recompose, ComposeAction};
    use crate::model::Composer;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn preset(id: &'static str) -> Composed {
        let mut fields = Composer::default();
        apply(&mut fields, &Composed::default(), ComposeAction::Preset(id));
        recompose(&mut fields)
    }

    fn lines(c: &Composed) -> Vec<String> {
        encode_steps(c).into_iter().map(|s| s.line).collect()
    }

    #[test]
    fn content_length_too_small_steps_through_the_20_bytes_it_announces() {
        let c = preset("length-small");
        let steps = encode_steps(&c);
        let header = steps[1].range.len();
        assert_eq!(steps[0].range.len(), 20);
        assert!(
            steps[0]
                .line
                .contains("first 20 of the 41 bytes after the header; the other 21"),
            "{}",
            steps[0].line
        );
        assert_eq!(
            steps[3].line,
            format!(
                "frame = 2 + {header} + 20 = {} bytes: length, header, content; 21 more bytes follow it (bytes {}..{}), where a receiver expects the next frame's length prefix",
                2 + header + 20,
                2 + header + 20,
                c.bytes.len()
            )
        );
        let offence = offence(&c).unwrap();
        assert!(
            offence.reason.contains("of the content"),
            "{}",
            offence.reason
        );
        assert_eq!(offence.range.end, 2 + header + 20);
    }

    #[test]
    fn a_header_the_decoder_refuses_is_still_stepped_through() {
        for id in ["missing-header", "not-json", "zero-header"] {
            let c = preset(id);
            let steps = encode_steps(&c);
            assert_eq!(steps.len(), 4, "{id}");
            let total: usize = steps[..3].iter().map(|s| s.range.len()).sum();
            assert!(total <= c.bytes.len(), "{id}");
            assert!(offence(&c).is_some(), "{id}");
        }
        let missing = preset("missing-header");
        assert!(lines(&missing)[1].contains("missing required header \"content-type\""));
        assert!(lines(&missing)[0].starts_with("content is 41 bytes"));
        let not_json = offence(&preset("not-json")).unwrap();
        assert_eq!(not_json.range, 3..4);
        assert!(
            not_json.reason.contains("at byte 1 of the header"),
            "{}",
            not_json.reason
        );
    }

    #[test]
    fn two_frames_count_the_first_and_name_the_second() {
        let one = preset("morpheus");
        let mut fields = Composer {
            mode: crate::model::Mode::Hex,
            hex: protocol::hexdump::hex_string(&[one.bytes.clone(), one.bytes].concat()),
            ..Composer::default()
        };
        let two = recompose(&mut fields);
        let frame = &lines(&two)[3];
        assert!(
            frame.starts_with("frame = 2 + 100 + 41 = 143 bytes"),
            "{frame}"
        );
        assert!(
            frame.contains("143 more bytes follow it (bytes 143..286)"),
            "{frame}"
        );
    }

    #[test]
    fn a_received_bad_frame_after_a_good_one_is_marked_in_stream_offsets() {
        let good = preset("morpheus").bytes;
        let bad = preset("length-small").bytes;
        let chunks: Vec<crate::model::Chunk> = [good.clone(), bad]
            .into_iter()
            .map(|bytes| crate::model::Chunk {
                bytes: bytes.into(),
                at_ms: 0.0,
            })
            .collect();
        let inbound = Inbound::from_chunks(&chunks);
        let found = inbound_offence(&inbound).unwrap();
        // The good frame, then 2 + 100 + 20: the 20th content byte is the last read.
        assert_eq!(found.range, good.len() + 121..good.len() + 122);
        assert!(
            found.reason.contains("at byte 20 of the content"),
            "{}",
            found.reason
        );
    }

    #[test]
    fn a_truncated_frame_says_where_the_bytes_end() {
        let c = preset("truncated");
        let l = lines(&c);
        assert_eq!(l[3], "the bytes end inside the header: 2 + 58 = 60 bytes of the 2 + 100 the prefix announces");
    }
}
