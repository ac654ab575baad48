//! The bridge's session tests: whole sessions over the test doubles, one
//! behaviour each (bytes, close codes, half-close, backpressure, coalescing).

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::doubles::{
    close_1000, config, harness, quick_close, run, stats, within, writes_for, RelaySide, Wire,
};
use super::pump::frame_len;
use super::{bridge, ws_write_buffer, Ending, SessionContext};
use crate::config::RelayConfig;

#[tokio::test]
async fn bytes_cross_unchanged_and_target_eof_closes_with_1000() {
    let (mut h, side) = harness(8, 4096);
    let session = tokio::spawn(run(side, config(), stats(), CancellationToken::new()));
    h.to_relay
        .send(Ok(Message::Binary(Bytes::from_static(b"\x00\x01"))))
        .await
        .unwrap();
    h.to_relay
        .send(Ok(Message::Binary(Bytes::from_static(b"{}"))))
        .await
        .unwrap();
    let mut got = [0u8; 4];
    within(h.target.read_exact(&mut got)).await.unwrap();
    assert_eq!(&got, b"\x00\x01{}");

    h.target.write_all(b"reply").await.unwrap();
    let first = within(h.from_relay.next()).await.unwrap();
    assert_eq!(first, Message::Binary(Bytes::from_static(b"reply")));
    drop(h.target);
    let close = within(h.from_relay.next()).await.unwrap();
    assert_eq!(
        close,
        Message::Close(Some(CloseFrame {
            code: 1000,
            reason: "upstream closed".into()
        }))
    );
    h.to_relay.send(Ok(Message::Close(None))).await.unwrap();
    let report = within(session).await.unwrap();
    assert_eq!(report.ending, Ending::UpstreamClosed);
    assert_eq!((report.to_upstream, report.to_client), (4, 5));
}

#[tokio::test]
async fn a_text_message_is_refused_with_1003() {
    let (mut h, side) = harness(8, 4096);
    let session = tokio::spawn(run(side, config(), stats(), CancellationToken::new()));
    h.to_relay
        .send(Ok(Message::Text("hello".into())))
        .await
        .unwrap();
    let close = within(h.from_relay.next()).await.unwrap();
    let Message::Close(Some(frame)) = close else {
        panic!("{close:?}")
    };
    assert_eq!(frame.code, 1003);
    assert_eq!(
        frame.reason.as_str(),
        "text messages are not accepted: send binary"
    );
    drop(h.to_relay);
    let report = within(session).await.unwrap();
    assert_eq!(report.ending, Ending::TextRefused);
    // Nothing reached the target.
    let mut buf = [0u8; 8];
    assert_eq!(within(h.target.read(&mut buf)).await.unwrap(), 0);
}

#[tokio::test]
async fn an_empty_message_shuts_down_the_target_write_half_and_the_reply_still_arrives() {
    let (mut h, side) = harness(8, 4096);
    let session = tokio::spawn(run(side, config(), stats(), CancellationToken::new()));
    h.to_relay
        .send(Ok(Message::Binary(Bytes::from_static(b"request"))))
        .await
        .unwrap();
    h.to_relay
        .send(Ok(Message::Binary(Bytes::new())))
        .await
        .unwrap();
    let mut request = Vec::new();
    within(h.target.read_to_end(&mut request)).await.unwrap();
    assert_eq!(request, b"request");
    h.target.write_all(b"the reply").await.unwrap();
    h.target.shutdown().await.unwrap();
    assert_eq!(
        within(h.from_relay.next()).await.unwrap(),
        Message::Binary(Bytes::from_static(b"the reply"))
    );
    let Message::Close(Some(frame)) = within(h.from_relay.next()).await.unwrap() else {
        panic!()
    };
    assert_eq!(frame.code, 1000);
    drop(h.to_relay);
    assert_eq!(
        within(session).await.unwrap().ending,
        Ending::UpstreamClosed
    );
}

#[tokio::test]
async fn a_browser_that_stops_reading_stops_the_target_reads() {
    // The browser's channel holds 1 message; nobody reads it.
    let (h, side) = harness(1, 64 * 1024);
    let stats = stats();
    let config = RelayConfig {
        idle_timeout: Duration::from_millis(300),
        ..config()
    };
    let session = tokio::spawn(run(
        side,
        config.clone(),
        stats.clone(),
        CancellationToken::new(),
    ));
    let mut target = h.target;
    // The target offers 8 MiB; writes block once the relay stops reading.
    let writer = tokio::spawn(async move {
        let block = vec![7u8; 64 * 1024];
        let mut written = 0usize;
        for _ in 0..128 {
            if target.write_all(&block).await.is_err() {
                break;
            }
            written += block.len();
        }
        written
    });
    let report = within(session).await.unwrap();
    assert_eq!(report.ending, Ending::Idle(config.idle_timeout));
    assert!(report.peak_buffered <= config.read_chunk, "{report:?}");
    // A couple of messages in the channel: the rest waits in the target.
    assert!(
        report.to_client <= 3 * config.read_chunk as u64,
        "{report:?}"
    );
    let written = within(writer).await.unwrap();
    assert!(
        written < 8 * 1024 * 1024,
        "the target could write everything: {written}"
    );
    assert_eq!(
        stats.buffered(),
        0,
        "held bytes are released when the session ends"
    );
    drop(h.from_relay);
}

#[tokio::test]
async fn shutdown_closes_with_1001() {
    let (mut h, side) = harness(8, 4096);
    let shutdown = CancellationToken::new();
    let session = tokio::spawn(run(side, config(), stats(), shutdown.clone()));
    shutdown.cancel();
    let Message::Close(Some(frame)) = within(h.from_relay.next()).await.unwrap() else {
        panic!()
    };
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (1001, "relay shutting down")
    );
    h.to_relay.send(Ok(Message::Close(None))).await.unwrap();
    assert_eq!(within(session).await.unwrap().ending, Ending::Shutdown);
}

#[tokio::test]
async fn a_browser_close_gives_the_target_eof_and_replies_to_the_close() {
    let (mut h, side) = harness(8, 4096);
    let session = tokio::spawn(run(side, config(), stats(), CancellationToken::new()));
    h.to_relay
        .send(Ok(Message::Binary(Bytes::from_static(b"bye"))))
        .await
        .unwrap();
    h.to_relay
        .send(Ok(Message::Close(Some(CloseFrame {
            code: 1000,
            reason: "done".into(),
        }))))
        .await
        .unwrap();
    let mut request = Vec::new();
    within(h.target.read_to_end(&mut request)).await.unwrap();
    assert_eq!(request, b"bye");
    h.target.write_all(b"late").await.unwrap();
    drop(h.target);
    let report = within(session).await.unwrap();
    assert_eq!(
        report.ending,
        Ending::ClientClosed(Some((1000, "done".into())))
    );
    assert_eq!(report.discarded, 4);
}

#[tokio::test]
async fn a_reply_and_the_targets_eof_that_arrive_together_share_one_write_with_the_close_frame() {
    let writes = writes_for(vec![b"the reply".to_vec()], quick_close()).await;
    assert_eq!(
        writes,
        vec![vec![
            Message::Binary(Bytes::from_static(b"the reply")),
            close_1000()
        ]]
    );
}

#[tokio::test]
async fn bytes_already_read_are_written_before_waiting_for_more() {
    let (mut h, side) = harness(8, 4096);
    let wire = Wire::default();
    let RelaySide {
        mut ws_rx,
        mut up_rd,
        mut up_wr,
        ..
    } = side;
    let mut ws_tx = wire.clone();
    let config = quick_close();
    let stats = stats();
    let shutdown = CancellationToken::new();
    let session = bridge(
        &mut ws_tx,
        &mut ws_rx,
        &mut up_rd,
        &mut up_wr,
        SessionContext {
            config: &config,
            stats: &stats,
            shutdown: &shutdown,
            taps: None,
            observing: None,
            record: None,
            embedded: None,
            close_request: None,
            gone: None,
            capture: None,
        },
    );
    let target = async {
        h.target.write_all(b"first").await.unwrap();
        // The target keeps its connection open: "first" must still go out.
        while wire.writes().is_empty() {
            tokio::task::yield_now().await;
        }
        h.target.write_all(b"second").await.unwrap();
        drop(h.target);
    };
    let (report, ()) = within(async { tokio::join!(session, target) }).await;
    drop(h.to_relay);
    assert_eq!(report.ending, Ending::UpstreamClosed);
    assert_eq!(
        wire.writes(),
        vec![
            vec![Message::Binary(Bytes::from_static(b"first"))],
            vec![Message::Binary(Bytes::from_static(b"second")), close_1000()],
        ]
    );
}

#[tokio::test]
async fn a_burst_of_reads_is_written_in_bounded_writes_one_message_per_read() {
    let config = quick_close();
    let pieces: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 100]).collect();
    let writes = writes_for(pieces.clone(), config.clone()).await;
    assert!(
        writes.len() > 1 && writes.len() < pieces.len(),
        "{}",
        writes.len()
    );
    let mut messages = Vec::new();
    for write in &writes {
        let framed: usize = write
            .iter()
            .map(|m| match m {
                Message::Binary(b) => frame_len(b.len()),
                _ => frame_len(125),
            })
            .sum();
        assert!(framed <= ws_write_buffer(config.read_chunk), "{framed}");
        messages.extend(write.iter().cloned());
    }
    assert_eq!(messages.pop(), Some(close_1000()));
    let expected: Vec<Message> = pieces
        .into_iter()
        .map(|p| Message::Binary(Bytes::from(p)))
        .collect();
    assert_eq!(messages, expected);
}
