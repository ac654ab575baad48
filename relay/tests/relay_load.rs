//! Many sessions at once, and a browser that never reads.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::{Rng, SeedableRng};
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// FNV-1a: a checksum that notices reordering, not only loss.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_echo_sessions_lose_and_reorder_nothing() {
    let relay = start(test_config(), &[]).await;
    let mut sessions = tokio::task::JoinSet::new();
    for seed in 0..200u64 {
        let addr = relay.addr;
        sessions.spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let len = rng.random_range(1..=48 * 1024);
            let mut payload = vec![0u8; len];
            rng.fill(&mut payload[..]);
            let pieces: Vec<Vec<u8>> = {
                let mut pieces = Vec::new();
                let mut rest = &payload[..];
                while !rest.is_empty() {
                    let n = rng.random_range(1..=rest.len().min(8192));
                    pieces.push(rest[..n].to_vec());
                    rest = &rest[n..];
                }
                pieces
            };
            let ws = connect(addr, "echo").await;
            let (mut tx, mut rx) = ws.split();
            let sender = tokio::spawn(async move {
                for piece in pieces {
                    tx.send(Message::binary(piece)).await.unwrap();
                }
                tx.send(Message::binary(Vec::new())).await.unwrap();
                tx
            });
            let mut echoed = Vec::with_capacity(len);
            let mut close = None;
            while let Some(message) = rx.next().await {
                match message.unwrap() {
                    Message::Binary(bytes) => echoed.extend_from_slice(&bytes),
                    Message::Close(frame) => {
                        close = frame.map(|f| u16::from(f.code));
                        break;
                    }
                    other => panic!("{other:?}"),
                }
            }
            let _ = sender.await;
            (
                checksum(&payload),
                checksum(&echoed),
                len,
                echoed.len(),
                close,
            )
        });
    }
    let mut done = 0;
    within(async {
        while let Some(result) = sessions.join_next().await {
            let (sent, got, sent_len, got_len, close) = result.unwrap();
            assert_eq!(got_len, sent_len);
            assert_eq!(got, sent, "bytes differ");
            assert_eq!(close, Some(1000));
            done += 1;
        }
    })
    .await;
    assert_eq!(done, 200);
    eventually(|| relay.metrics.active_sessions() == 0).await;
    assert_eq!(relay.metrics.total_sessions(), 200);
    assert_eq!(relay.metrics.buffered_bytes(), 0);
}

#[tokio::test]
async fn a_client_that_never_reads_keeps_relay_memory_bounded_and_ends_at_the_idle_timeout() {
    let config = relay::config::RelayConfig {
        idle_timeout: Duration::from_millis(1500),
        read_chunk: 16 * 1024,
        max_message_size: 64 * 1024,
        close_grace: Duration::from_millis(500),
        ..test_config()
    };
    // Target → browser: one read_chunk of queued frames plus one more read
    // before a flush; browser → target: one message.
    let bound = 2 * config.read_chunk + config.max_message_size;
    let relay = start(config, &[]).await;
    let ws = connect(relay.addr, "echo").await;
    let (mut tx, rx) = ws.split();
    // The client offers 256 MiB to echo and never reads the echo. Kernel
    // buffers on the four sockets hold a few MiB; the rest can only wait.
    let attempted: usize = 256 * 1024 * 1024;
    let sender = tokio::spawn(async move {
        let block = vec![0x5au8; 64 * 1024];
        let mut sent = 0usize;
        while sent < attempted {
            if tx.send(Message::binary(block.clone())).await.is_err() {
                break;
            }
            sent += block.len();
        }
        sent
    });
    eventually(|| relay.metrics.total_sessions() == 1).await;
    eventually(|| relay.metrics.active_sessions() == 0).await;
    let sent = within(sender).await.unwrap();
    drop(rx);

    let recent = relay.metrics.recent();
    let (_, target, report) = recent.last().unwrap();
    assert_eq!(target, "echo");
    assert_eq!(
        report.ending,
        relay::bridge::Ending::Idle(Duration::from_millis(1500))
    );
    // The close frame is chosen but cannot be delivered to a client that does not read.
    assert_eq!(
        report
            .close
            .as_ref()
            .map(|reason| (reason.code(), reason.text())),
        Some((1008, "idle timeout: no traffic for 1500ms".to_owned())),
        "{report:?}"
    );
    assert!(
        report.peak_buffered <= bound,
        "the session held {} bytes, more than 2 * read_chunk + max_message_size = {bound}",
        report.peak_buffered
    );
    assert!(
        (report.to_upstream as usize) < attempted && sent < attempted,
        "backpressure never reached the client: {report:?}, client sent {sent}"
    );
    assert_eq!(relay.metrics.buffered_bytes(), 0);
}
