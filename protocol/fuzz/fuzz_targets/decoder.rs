//! Feeds arbitrary bytes, cut at fuzzer-chosen points, to the decoder.
//! It must never panic, and every message it yields must re-encode to a
//! frame that decodes to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{encode, Decoder, DecoderConfig, Event};

fuzz_target!(|input: &[u8]| {
    // The first byte picks the chunk size, so the fuzzer explores splits too.
    let Some((&split, bytes)) = input.split_first() else {
        return;
    };
    let chunk = usize::from(split).max(1);
    let mut decoder = Decoder::new(DecoderConfig {
        max_content_length: 1 << 16,
        layout: true,
    });
    for piece in bytes.chunks(chunk) {
        decoder.push(piece);
        loop {
            match decoder.poll() {
                Ok(Some(Event::Message(decoded))) => {
                    let Ok(again) = encode(&decoded.message) else {
                        continue;
                    };
                    let mut check = Decoder::default();
                    check.push(&again.bytes);
                    let round_trip = std::iter::from_fn(|| check.poll().ok().flatten())
                        .find_map(|e| match e {
                            Event::Message(d) => Some(d.message),
                            _ => None,
                        });
                    // NaN never equals itself; compare the encodings instead.
                    let reencoded = round_trip.map(|m| encode(&m).unwrap().bytes);
                    assert_eq!(reencoded.as_deref(), Some(&again.bytes[..]));
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
    let _ = decoder.finish();
});
