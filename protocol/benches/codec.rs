//! Encode and decode throughput: the tutorial's search request (small
//! frames) and a frame with 1 MiB of binary content, fed whole and in 1 KiB
//! chunks. `cargo bench -p protocol`; figures are in docs/benchmarks.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use protocol::app::request;
use protocol::{encode, encode_into, Decoder, DecoderConfig, Event, Message};

const MIB: usize = 1 << 20;

fn decode_all(config: DecoderConfig, chunks: &[&[u8]]) -> usize {
    let mut decoder = Decoder::new(config);
    let mut messages = 0;
    for chunk in chunks {
        decoder.push(chunk);
        while let Some(event) = decoder.poll().expect("valid frame") {
            if let Event::Message(decoded) = event {
                black_box(&decoded);
                messages += 1;
            }
        }
    }
    messages
}

fn small_frames(c: &mut Criterion) {
    let message = request("search", "morpheus");
    let frame = encode(&message).unwrap().bytes;
    let mut group = c.benchmark_group("search request");
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode_into (no layout)", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            encode_into(black_box(&message), &mut out).unwrap();
        })
    });
    group.bench_function("encode with layout", |b| {
        b.iter(|| encode(black_box(&message)).unwrap())
    });
    for layout in [false, true] {
        let config = DecoderConfig {
            layout,
            ..DecoderConfig::default()
        };
        let name = if layout {
            "decode with layout"
        } else {
            "decode (no layout)"
        };
        group.bench_function(name, |b| {
            b.iter(|| decode_all(config, &[black_box(&frame)]))
        });
    }
    // A stream of 100 back-to-back frames through one decoder: the servers' keep-alive path.
    let stream: Vec<u8> = frame
        .iter()
        .copied()
        .cycle()
        .take(frame.len() * 100)
        .collect();
    group.throughput(Throughput::Elements(100));
    group.bench_function("decode 100 back-to-back (no layout)", |b| {
        let config = DecoderConfig {
            layout: false,
            ..DecoderConfig::default()
        };
        b.iter(|| assert_eq!(decode_all(config, &[black_box(&stream)]), 100))
    });
    group.finish();
}

/// The reference points: parsing only the JSON header of the same frame with
/// serde, typed and as a `serde_json::Value`. Measured in the same run, so the
/// ratio to our whole-frame decode holds however busy the machine is.
fn baselines(c: &mut Criterion) {
    #[derive(serde::Deserialize)]
    #[allow(dead_code)] // fields are parsed, not read
    struct TypedHeader<'a> {
        byteorder: &'a str,
        #[serde(rename = "content-type")]
        content_type: &'a str,
        #[serde(rename = "content-encoding")]
        content_encoding: &'a str,
        #[serde(rename = "content-length")]
        content_length: u64,
    }
    let frame = encode(&request("search", "morpheus")).unwrap().bytes;
    let header_len = usize::from(u16::from_be_bytes([frame[0], frame[1]]));
    let header = &frame[2..2 + header_len];
    let mut group = c.benchmark_group("baseline: header only");
    group.throughput(Throughput::Elements(1));
    group.bench_function("serde typed", |b| {
        b.iter(|| serde_json::from_slice::<TypedHeader>(black_box(header)).unwrap())
    });
    group.bench_function("serde_json::Value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(header)).unwrap())
    });
    group.finish();
}

fn big_frames(c: &mut Criterion) {
    let content: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    let message = Message::binary("binary/custom-client-binary-type", content);
    let frame = encode(&message).unwrap().bytes;
    let chunks: Vec<&[u8]> = frame.chunks(1024).collect();
    let config = DecoderConfig::default();
    let mut group = c.benchmark_group("1 MiB binary");
    group.throughput(Throughput::Bytes(frame.len() as u64));
    group.bench_function("encode_into", |b| {
        b.iter_batched_ref(
            || Vec::with_capacity(frame.len()),
            |out| encode_into(black_box(&message), out).unwrap(),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("decode fed whole", |b| {
        b.iter(|| assert_eq!(decode_all(config, &[black_box(&frame)]), 1))
    });
    group.bench_function("decode fed in 1 KiB chunks", |b| {
        b.iter(|| assert_eq!(decode_all(config, black_box(&chunks)), 1))
    });
    group.finish();
}

criterion_group!(benches, small_frames, baselines, big_frames);
criterion_main!(benches);
