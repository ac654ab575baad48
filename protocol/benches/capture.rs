//! The pcapng writer and the transcript's JSON: how fast a recorded
//! session becomes the two files `relay --record` and the page write.
//! `cargo bench -p protocol --bench capture`; figures in docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use protocol::app::{request, respond};
use protocol::capture::{pcapng, Event, EventKind, Transcript};
use protocol::encode;

/// `n` morpheus exchanges on one connection, as `--record` writes them.
fn searches(n: usize) -> Transcript {
    let ask = encode(&request("search", "morpheus")).unwrap().bytes;
    let reply = encode(&respond(&request("search", "morpheus")).unwrap())
        .unwrap()
        .bytes;
    let mut t = Transcript::new("app", 1_795_000_000_000_000);
    t.client = Some("127.0.0.1:50112".into());
    t.server = Some("127.0.0.1:65432".into());
    t.events.push(Event::new(10, EventKind::Connect));
    for i in 0..n as u64 {
        t.events
            .push(Event::bytes(100 + 20 * i, EventKind::Sent, &ask));
        t.events
            .push(Event::bytes(110 + 20 * i, EventKind::Received, &reply));
    }
    t.events
        .push(Event::new(100 + 20 * n as u64, EventKind::Close));
    t
}

/// One 16 MiB upload (the default `--record-max-bytes`) in 64 KiB writes.
fn upload() -> Transcript {
    let mut t = Transcript::new("echo", 0);
    let chunk = vec![0x5a; 64 * 1024];
    for i in 0..256 {
        t.events.push(Event::bytes(i, EventKind::Sent, &chunk));
    }
    t
}

fn capture(c: &mut Criterion) {
    let mut g = c.benchmark_group("capture");
    let small = searches(1000);
    let payload = (small.stream(true).len() + small.stream(false).len()) as u64;
    g.throughput(Throughput::Bytes(payload));
    g.bench_function("pcapng/1000 morpheus exchanges", |b| {
        b.iter(|| pcapng(&small))
    });
    g.bench_function("transcript to_json/1000 morpheus exchanges", |b| {
        b.iter(|| small.to_json())
    });
    let json = small.to_json();
    g.bench_function("transcript from_json/1000 morpheus exchanges", |b| {
        b.iter(|| Transcript::from_json(&json).unwrap())
    });
    let big = upload();
    g.throughput(Throughput::Bytes(big.stream(true).len() as u64));
    g.sample_size(10);
    g.bench_function("pcapng/16 MiB upload", |b| b.iter(|| pcapng(&big)));
    g.finish();
}

criterion_group!(benches, capture);
criterion_main!(benches);
