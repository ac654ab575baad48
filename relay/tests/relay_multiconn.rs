//! The embedded event-loop server (`multiconn`) behind eight WebSocket
//! sessions at once, observed: every session gets its own echo, and the
//! sessions' `server_ready` events merge into one loop.

mod support;

use std::collections::BTreeMap;

use futures_util::StreamExt;
use protocol::relay_api::{Observation, Observed, Readiness};
use support::*;
use tokio_tungstenite::tungstenite::Message;

const MESSAGES: [&[u8]; 2] = [b"Message 1 from client.", b"Message 2 from client."];

/// A session's bytes and events until its close frame.
async fn read_all(mut ws: Ws) -> (Vec<u8>, Vec<Observed>, Option<u16>) {
    let mut bytes = Vec::new();
    let mut events = Vec::new();
    let mut close = None;
    within(async {
        while let Some(message) = ws.next().await {
            match message.expect("no websocket error") {
                Message::Binary(chunk) => bytes.extend_from_slice(&chunk),
                Message::Text(text) => {
                    let observation =
                        Observation::from_json(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
                    events.push(observation.event);
                }
                Message::Close(frame) => {
                    close = frame.map(|f| u16::from(f.code));
                    break;
                }
                _ => {}
            }
        }
    })
    .await;
    within(async { while let Some(Ok(_)) = ws.next().await {} }).await;
    (bytes, events, close)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_sessions_at_once_each_get_their_own_echo_and_one_loops_iterations() {
    let relay = start(test_config(), &[]).await;
    let mut sessions = Vec::new();
    for _ in 0..8 {
        sessions.push(connect(relay.addr, "multiconn&observe=1").await);
    }
    // Interleaved as the tutorial's client does: message 1 on every
    // connection, then message 2 on every connection, then the half-closes.
    for message in MESSAGES {
        for ws in &mut sessions {
            send(ws, message).await;
        }
    }
    for ws in &mut sessions {
        send(ws, b"").await;
    }
    let readers: Vec<_> = sessions
        .into_iter()
        .map(|ws| tokio::spawn(read_all(ws)))
        .collect();

    // iteration -> how many of these sessions were ready in it, and the
    // count of ready sockets the server reported for it.
    let mut iterations: BTreeMap<u64, (u32, u32)> = BTreeMap::new();
    let mut accepts = Vec::new();
    for (i, reader) in readers.into_iter().enumerate() {
        let (bytes, events, close) = reader.await.unwrap();
        assert_eq!(bytes, MESSAGES.concat(), "session {i}: its own echo, whole");
        assert_eq!(close, Some(1000), "session {i}");
        assert!(
            matches!(&events[0], Observed::Observing { target, server: true } if target == "multiconn"),
            "session {i}: {:?}",
            events[0]
        );
        let mut current: Option<Readiness> = None;
        let mut last_iteration = 0;
        for event in &events {
            match event {
                Observed::ServerReady {
                    iteration,
                    ready,
                    io,
                } => {
                    assert!(*iteration > last_iteration, "session {i}: {events:#?}");
                    last_iteration = *iteration;
                    current = Some(*io);
                    let entry = iterations.entry(*iteration).or_insert((0, *ready));
                    entry.0 += 1;
                    assert_eq!(entry.1, *ready, "one count per iteration, in every stream");
                }
                Observed::ServerAccept { .. } => {
                    assert_eq!(current, Some(Readiness::Accept), "session {i}");
                    accepts.push(last_iteration);
                }
                Observed::ServerRecv { .. } => assert!(
                    matches!(current, Some(Readiness::Read | Readiness::ReadWrite)),
                    "session {i}: recv() outside a read-ready iteration: {events:#?}"
                ),
                Observed::ServerSend { .. } => assert!(
                    current.is_some_and(Readiness::writable),
                    "session {i}: send() outside a write-ready iteration"
                ),
                _ => {}
            }
        }
        let echoed = events.iter().any(|e| {
            matches!(e, Observed::ServerLog { line, .. } if line.starts_with("Echoing b'Message 1 from client."))
        });
        assert!(echoed, "session {i}: the tutorial's Echoing line");
        assert!(events.iter().any(|e| matches!(e, Observed::ServerClose)));
    }
    accepts.sort_unstable();
    accepts.dedup();
    assert_eq!(accepts.len(), 8, "one accept() per iteration: {accepts:?}");
    // Merged: no iteration had more of these sessions ready than the
    // server said were ready in it.
    for (iteration, (ours, ready)) in &iterations {
        assert!(
            ours <= ready,
            "iteration {iteration}: {ours} of ours, {ready} ready"
        );
    }
    relay.shutdown.cancel();
}
