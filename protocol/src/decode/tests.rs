//! The decoder against the tutorial's frames and against every way a frame
//! can be wrong.

use super::*;
use crate::json::JsonError;
use crate::model::Content;
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
