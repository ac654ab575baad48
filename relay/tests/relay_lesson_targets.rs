//! Lesson 12's targets in the default list: `refused` (nothing listens:
//! the relay's connect() fails with ECONNREFUSED) and `reset` (a server that
//! closes with unread data, so the kernel sends RST), through a real relay.

mod support;

use futures_util::StreamExt;
use protocol::app::request;
use protocol::encode;
use protocol::relay_api::{CloseReason, ConnectFailure, Observation, Observed};
use support::*;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn refused_is_a_failed_connect_and_reset_is_an_rst_after_a_short_read() {
    let relay = start(test_config(), &[]).await;

    let mut ws = connect(relay.addr, "refused").await;
    let seen = read_to_close(&mut ws).await;
    let reason = CloseReason::parse(seen.close_code().unwrap(), &seen.close_reason());
    assert!(
        matches!(
            reason,
            CloseReason::ConnectFailed {
                failure: ConnectFailure::Refused,
                ..
            }
        ),
        "{reason:?}"
    );

    // The tutorial's request, whole: the server reads 10 bytes of it and
    // closes with the rest queued.
    let frame = encode(&request("search", "morpheus")).unwrap().bytes;
    let mut ws = connect(relay.addr, "reset&observe=1").await;
    send(&mut ws, &frame).await;
    let mut events = Vec::new();
    let mut close = None;
    within(async {
        while let Some(Ok(message)) = ws.next().await {
            match message {
                Message::Text(text) => events.push(Observation::from_json(&text).unwrap().event),
                Message::Close(frame) => {
                    close = frame;
                    break;
                }
                _ => {}
            }
        }
    })
    .await;
    let recvs: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Observed::ServerRecv { len, .. } => Some(*len),
            _ => None,
        })
        .collect();
    assert_eq!(recvs, [tutorial::servers::reset::READ as u64], "{events:?}");
    assert!(
        events.iter().any(|e| matches!(e, Observed::ServerLog { line, .. }
            if line.contains(&format!("with {} bytes unread: the kernel sends RST", frame.len() - 10)))),
        "{events:?}"
    );
    assert!(events.contains(&Observed::Reset), "{events:?}");
    let close = close.expect("a close frame");
    assert_eq!(
        CloseReason::parse(u16::from(close.code), &close.reason),
        CloseReason::UpstreamReset
    );
}
