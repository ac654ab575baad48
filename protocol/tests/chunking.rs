//! Properties of the decoder under arbitrary chunking: any message, cut at
//! any points, decodes to the same message and the same layout; arbitrary
//! bytes never panic it.
//! The proptests run natively; the fixed cases run in the browser too.

mod support;

use protocol::{encode, Decoded, Decoder, DecoderConfig, Event, Message};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// Feeds `bytes` cut at `cuts` and collects every message.
fn decode_in_pieces(bytes: &[u8], cuts: &[usize]) -> Vec<Decoded> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points.dedup();
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut out = Vec::new();
    for piece in points.windows(2) {
        decoder.push(&bytes[piece[0]..piece[1]]);
        while let Some(event) = decoder.poll().expect("valid frames") {
            if let Event::Message(decoded) = event {
                out.push(decoded);
            }
        }
    }
    decoder.finish().expect("ends on a frame boundary");
    out
}

#[test]
fn a_one_mebibyte_binary_message_fed_one_kibibyte_at_a_time_arrives_whole() {
    let content: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
    let message = Message::binary("binary/big", content);
    let frame = encode(&message).unwrap();
    let chunks: Vec<usize> = (0..frame.bytes.len()).step_by(1024).collect();
    let decoded = decode_in_pieces(&frame.bytes, &chunks);
    assert_eq!(decoded[0].message, message);
}

#[test]
fn one_byte_at_a_time_works() {
    let message = protocol::app::request("search", "🐶");
    let frame = encode(&message).unwrap();
    let cuts: Vec<usize> = (0..frame.bytes.len()).collect();
    let decoded = decode_in_pieces(&frame.bytes, &cuts);
    assert_eq!(decoded[0].message, message);
    assert_eq!(decoded[0].layout, frame.layout);
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use super::decode_in_pieces;
    use crate::support::json_value;
    use proptest::prelude::*;
    use protocol::{encode, Content, Decoder, DecoderConfig, Message};

    fn message() -> impl Strategy<Value = Message> {
        let extra = prop::collection::vec(("x-[a-z]{1,8}", json_value(any::<String>())), 0..3);
        let content = prop_oneof![
            json_value(any::<String>()).prop_map(|v| ("text/json", "utf-8", Content::Json(v))),
            json_value(any::<String>()).prop_map(|v| ("text/json", "utf-16", Content::Json(v))),
            any::<String>().prop_map(|s| ("text/plain", "utf-8", Content::Text(s))),
            prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| (
                "binary/custom-client-binary-type",
                "binary",
                Content::Binary(b.into())
            )),
        ];
        (content, extra, prop_oneof![Just("big"), Just("little")]).prop_map(
            |((ty, enc, content), extra, order)| {
                let mut m = Message::new(ty, enc, content)
                    .unwrap()
                    .with_byteorder(order);
                for (k, v) in extra {
                    m = m.with_extra(k, v);
                }
                m
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn any_message_cut_anywhere_decodes_to_itself_and_its_layout(
            message in message(),
            cuts in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            let frame = encode(&message).unwrap();
            prop_assert_eq!(
                message.header.content_length as usize,
                message.content_bytes().unwrap().len(),
                "content-length is counted without encoding"
            );
            let decoded = decode_in_pieces(&frame.bytes, &cuts);
            prop_assert_eq!(decoded.len(), 1);
            prop_assert_eq!(&decoded[0].message, &message);
            prop_assert_eq!(&decoded[0].layout, &frame.layout);
            prop_assert_eq!(decoded[0].frame_len, frame.bytes.len());
        }

        #[test]
        fn back_to_back_messages_come_out_in_order(
            messages in prop::collection::vec(message(), 1..4),
            cuts in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            let mut stream = Vec::new();
            let mut starts = Vec::new();
            for m in &messages {
                starts.push(stream.len() as u64);
                stream.extend_from_slice(&encode(m).unwrap().bytes);
            }
            let decoded = decode_in_pieces(&stream, &cuts);
            let got: Vec<_> = decoded.iter().map(|d| (&d.message, d.frame_start)).collect();
            let want: Vec<_> = messages.iter().zip(starts).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(
            bytes in prop::collection::vec(any::<u8>(), 0..400),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut decoder = Decoder::new(DecoderConfig { max_content_length: 1 << 16, layout: true });
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            points.extend([0, bytes.len()]);
            points.sort_unstable();
            for piece in points.windows(2) {
                decoder.push(&bytes[piece[0]..piece[1]]);
                while let Ok(Some(_)) = decoder.poll() {}
            }
            let _ = decoder.finish();
        }
    }
}
