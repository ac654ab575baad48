//! The four framers under arbitrary cuts, and each failure mode by name.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// Feeds `bytes` cut at `cuts` (then the FIN) and collects every payload.
fn frame_in_pieces(
    framing: Framing,
    bytes: &[u8],
    cuts: &[usize],
) -> Result<Vec<Vec<u8>>, FramingError> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.extend([0, bytes.len()]);
    points.sort_unstable();
    points.dedup();
    let mut framer = Framer::new(framing, FramerConfig::default())?;
    let mut out = Vec::new();
    for piece in points.windows(2) {
        framer.push(&bytes[piece[0]..piece[1]]);
        while let Some(framed) = framer.poll()? {
            out.push(framed.payload);
        }
    }
    framer.close();
    while let Some(framed) = framer.poll()? {
        out.push(framed.payload);
    }
    assert_eq!(framer.need(), None, "nothing owed after a clean end");
    Ok(out)
}

fn sent(framing: Framing, payloads: &[&[u8]]) -> Vec<u8> {
    payloads
        .iter()
        .flat_map(|p| framing.encode(p).unwrap().bytes)
        .collect()
}

const LINES: Framing = Framing::Delimited { byte: b'\n' };

#[test]
fn a_newline_inside_the_payload_splits_it_in_two() {
    let encoded = LINES.encode(b"two\nlines").unwrap();
    assert_eq!(encoded.bytes, b"two\nlines\n");
    assert_eq!(encoded.delimiters_inside, 1);
    let got = frame_in_pieces(LINES, &encoded.bytes, &[]).unwrap();
    assert_eq!(got, [b"two".to_vec(), b"lines".to_vec()]);
}

#[test]
fn a_payload_longer_than_the_fixed_length_is_sent_whole_and_its_tail_waits_for_the_rest_of_a_second_message(
) {
    let fixed = Framing::Fixed { len: 8 };
    let encoded = fixed.encode(b"longer than 8").unwrap();
    assert_eq!(encoded.bytes, b"longer than 8");
    assert_eq!((encoded.beyond, encoded.padding), (5, 0));
    let mut framer = Framer::new(fixed, FramerConfig::default()).unwrap();
    framer.push(&encoded.bytes);
    assert_eq!(
        framer.poll().unwrap().map(|f| f.payload),
        Some(b"longer t".to_vec())
    );
    assert_eq!(framer.poll(), Ok(None));
    assert_eq!(
        framer.need(),
        Some(Wait::Bytes {
            part: FramePart::Payload,
            have: 5,
            need: 8
        })
    );
}

#[test]
fn a_payload_shorter_than_the_fixed_length_is_padded_with_zero_bytes_the_receiver_keeps() {
    let fixed = Framing::Fixed { len: 6 };
    let encoded = fixed.encode(b"Hi").unwrap();
    assert_eq!(encoded.bytes, b"Hi\0\0\0\0");
    assert_eq!((encoded.beyond, encoded.padding), (0, 4));
    let got = frame_in_pieces(fixed, &encoded.bytes, &[1]).unwrap();
    assert_eq!(got, [b"Hi\0\0\0\0".to_vec()]);
}

#[test]
fn until_eof_yields_nothing_until_the_peer_half_closes() {
    let mut framer = Framer::new(Framing::UntilEof, FramerConfig::default()).unwrap();
    framer.push(b"all of it");
    assert_eq!(framer.poll(), Ok(None));
    assert_eq!(framer.need(), Some(Wait::Eof { have: 9 }));
    framer.close();
    let framed = framer.poll().unwrap().unwrap();
    assert_eq!(framed.payload, b"all of it");
    assert_eq!((framed.start, framed.frame_len), (0, 9));
    assert_eq!(framer.poll(), Ok(None));
    assert_eq!(framer.need(), None);
}

#[test]
fn an_empty_stream_until_eof_is_one_empty_message() {
    let got = frame_in_pieces(Framing::UntilEof, b"", &[]).unwrap();
    assert_eq!(got, [Vec::<u8>::new()]);
}

#[test]
fn a_length_prefix_larger_than_the_limit_is_an_error_before_allocating() {
    let mut framer =
        Framer::new(Framing::LengthPrefixed, FramerConfig { max_payload: 1000 }).unwrap();
    framer.push(&[0xff]);
    assert_eq!(framer.poll(), Ok(None));
    framer.push(&[0xff]);
    assert_eq!(
        framer.poll(),
        Err(FramingError::TooLong {
            len: 65535,
            limit: 1000
        })
    );
    // The buffer was never sized for the announced message.
    assert!(framer.input.buf.capacity() < 1000);
    assert!(framer.poll().is_err(), "an error is final");
}

#[test]
fn a_delimiter_that_never_comes_is_an_error_at_the_limit() {
    let mut framer = Framer::new(LINES, FramerConfig { max_payload: 4 }).unwrap();
    framer.push(b"abcd");
    assert_eq!(framer.poll(), Ok(None));
    framer.push(b"e");
    assert_eq!(framer.poll(), Err(FramingError::NoDelimiter { limit: 4 }));
}

#[test]
fn until_eof_over_the_limit_is_an_error_before_the_fin() {
    let mut framer = Framer::new(Framing::UntilEof, FramerConfig { max_payload: 3 }).unwrap();
    framer.push(b"abcd");
    assert!(matches!(
        framer.poll(),
        Err(FramingError::TooLong { len: 4, limit: 3 })
    ));
}

#[test]
fn a_fin_inside_a_message_is_truncation_and_says_what_was_missing() {
    let mut framer = Framer::new(Framing::LengthPrefixed, FramerConfig::default()).unwrap();
    framer.push(&[0, 5, b'a']);
    framer.close();
    let err = framer.poll().unwrap_err();
    assert_eq!(
        err,
        FramingError::Truncated(Wait::Bytes {
            part: FramePart::Payload,
            have: 1,
            need: 5
        })
    );
    assert_eq!(
        err.to_string(),
        "the stream ended inside a message, waiting for message: 1 of 5 bytes"
    );
}

#[test]
fn what_each_framer_waits_for_reads_in_its_own_terms() {
    let mut prefix = Framer::new(Framing::LengthPrefixed, FramerConfig::default()).unwrap();
    prefix.push(&[0]);
    assert_eq!(
        prefix.need().unwrap().to_string(),
        "length prefix: 1 of 2 bytes"
    );
    let mut lines = Framer::new(LINES, FramerConfig::default()).unwrap();
    lines.push(b"Hi");
    assert_eq!(
        lines.need().unwrap().to_string(),
        r"the delimiter b'\n': 2 bytes without it so far"
    );
    let fixed = Framer::new(Framing::Fixed { len: 16 }, FramerConfig::default()).unwrap();
    assert_eq!(fixed.need().unwrap().to_string(), "message: 0 of 16 bytes");
}

#[test]
fn cut_messages_carry_their_place_in_the_stream() {
    let bytes = sent(Framing::LengthPrefixed, &[b"ab", b"", b"xyz"]);
    let mut framer = Framer::new(Framing::LengthPrefixed, FramerConfig::default()).unwrap();
    framer.push(&bytes);
    let mut places = Vec::new();
    while let Some(f) = framer.poll().unwrap() {
        places.push((f.start, f.frame_len));
    }
    assert_eq!(places, [(0, 4), (4, 2), (6, 5)]);
}

#[test]
fn a_prefix_cannot_announce_more_than_65535_bytes() {
    assert_eq!(
        Framing::LengthPrefixed.encode(&[0; 65536]),
        Err(FramingError::PayloadTooLong { len: 65536 })
    );
    assert_eq!(
        Framing::LengthPrefixed.encode(&[7; 65535]).unwrap().bytes[..3],
        [0xff, 0xff, 7]
    );
}

#[test]
fn a_fixed_length_of_zero_is_refused() {
    assert!(matches!(
        Framer::new(Framing::Fixed { len: 0 }, FramerConfig::default()),
        Err(FramingError::BadFixedLength { len: 0, .. })
    ));
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::Strategy;

    fn payloads() -> impl Strategy<Value = Vec<Vec<u8>>> {
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..6)
    }

    fn cuts() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(any::<usize>(), 0..12)
    }

    fn check(framing: Framing, payloads: &[Vec<u8>], expected: &[Vec<u8>], cuts: &[usize]) {
        let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let bytes = sent(framing, &refs);
        let whole = frame_in_pieces(framing, &bytes, &[]).unwrap();
        assert_eq!(whole, expected);
        assert_eq!(frame_in_pieces(framing, &bytes, cuts).unwrap(), whole);
    }

    proptest! {
        #[test]
        fn any_cut_of_any_fixed_length_stream_gives_the_same_messages(
            payloads in payloads(), len in 1usize..24, cuts in cuts()
        ) {
            let framing = Framing::Fixed { len };
            // Payloads that fit: a longer one is sent whole, its tail the
            // start of another message (tested on its own above).
            let payloads: Vec<Vec<u8>> = payloads.iter().map(|p| p[..p.len().min(len)].to_vec()).collect();
            let expected: Vec<Vec<u8>> = payloads.iter().map(|p| {
                let mut m = p.clone();
                m.resize(len, 0);
                m
            }).collect();
            check(framing, &payloads, &expected, &cuts);
        }

        #[test]
        fn any_cut_of_any_delimited_stream_gives_the_same_messages(
            payloads in payloads(), byte in any::<u8>(), cuts in cuts()
        ) {
            let framing = Framing::Delimited { byte };
            let clean: Vec<Vec<u8>> = payloads.iter()
                .map(|p| p.iter().copied().filter(|&b| b != byte).collect())
                .collect();
            check(framing, &clean, &clean, &cuts);
        }

        #[test]
        fn any_cut_of_any_length_prefixed_stream_gives_the_same_messages(
            payloads in payloads(), cuts in cuts()
        ) {
            check(Framing::LengthPrefixed, &payloads, &payloads, &cuts);
        }

        #[test]
        fn any_cut_of_any_until_eof_stream_gives_the_same_message(
            payload in prop::collection::vec(any::<u8>(), 0..200), cuts in cuts()
        ) {
            let one = std::slice::from_ref(&payload);
            check(Framing::UntilEof, one, one, &cuts);
        }

        #[test]
        fn arbitrary_bytes_never_panic_a_framer(
            bytes in prop::collection::vec(any::<u8>(), 0..100), cuts in cuts(), which in 0usize..4
        ) {
            let framing = [Framing::Fixed { len: 5 }, LINES, Framing::LengthPrefixed, Framing::UntilEof][which];
            let _ = frame_in_pieces(framing, &bytes, &cuts);
        }
    }
}

#[test]
fn a_framer_step_says_where_the_cut_was_in_stream_offsets() {
    use crate::relay_api::FramerStep;
    let step = FramerStep::Cut {
        start: 4,
        frame_len: 6,
        len: 5,
    };
    assert_eq!(
        step.to_string(),
        "cut a message of 5 bytes from bytes 4..10"
    );
    assert_eq!(
        FramerStep::Waiting(Wait::Eof { have: 3 }).to_string(),
        "waits for the sender's FIN (shutdown SHUT_WR): 3 bytes so far"
    );
}
