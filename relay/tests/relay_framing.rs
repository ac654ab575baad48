//! The framing lab's embedded targets `fixed`, `lines`, `prefix` and
//! `close` through a real relay and a real WebSocket: the bytes that come
//! back, the server's cuts as observation events, and the until-EOF server
//! answering only after the browser's half-close (an empty message).

mod support;

use futures_util::StreamExt;
use protocol::framing::{Framing, Strategy, Wait};
use protocol::relay_api::{FramerStep, Observation, Observed};
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// What a session sent so far: bytes, events, and its close code once closed.
#[derive(Default)]
struct Seen {
    bytes: Vec<u8>,
    events: Vec<Observed>,
    close: Option<u16>,
    closed: bool,
}

impl Seen {
    fn steps(&self) -> Vec<FramerStep> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Observed::ServerFramer(step) => Some(step.clone()),
                _ => None,
            })
            .collect()
    }
}

/// Reads until `done` holds for what was seen (or the session closes).
async fn read_until(ws: &mut Ws, seen: &mut Seen, done: impl Fn(&Seen) -> bool) {
    within(async {
        while !done(seen) && !seen.closed {
            match ws.next().await {
                Some(Ok(Message::Binary(bytes))) => seen.bytes.extend_from_slice(&bytes),
                Some(Ok(Message::Text(text))) => {
                    let observation = Observation::from_json(&text)
                        .unwrap_or_else(|e| panic!("{}: {e}", text.as_str()));
                    seen.events.push(observation.event);
                }
                Some(Ok(Message::Close(frame))) => {
                    seen.close = frame.map(|f| u16::from(f.code));
                    seen.closed = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("websocket error: {e}"),
                None => seen.closed = true,
            }
        }
    })
    .await;
}

async fn read_to_end(ws: &mut Ws, seen: &mut Seen) {
    read_until(ws, seen, |_| false).await;
    within(async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

#[tokio::test]
async fn each_framing_target_echoes_its_messages_framed_alike_and_reports_its_cuts() {
    let relay = start(test_config(), &[]).await;
    let payloads: [&[u8]; 2] = [b"Hello, world", b"two\nlines"];
    for strategy in [Strategy::Fixed, Strategy::Lines, Strategy::Prefix] {
        let framing = Framing::default_for(strategy);
        let sent: Vec<u8> = payloads
            .iter()
            .flat_map(|p| framing.encode(p).unwrap().bytes)
            .collect();
        let mut ws = connect(relay.addr, &format!("{}&observe=1", strategy.name())).await;
        for piece in sent.chunks(5) {
            send(&mut ws, piece).await;
        }
        let mut seen = Seen::default();
        read_until(&mut ws, &mut seen, |s| s.bytes.len() >= sent.len()).await;
        send(&mut ws, b"").await;
        read_to_end(&mut ws, &mut seen).await;
        assert_eq!(seen.bytes, sent, "{strategy:?}");
        assert_eq!(seen.close, Some(1000), "{strategy:?}");
        let cuts: Vec<u64> = seen
            .steps()
            .iter()
            .filter_map(|s| match s {
                FramerStep::Cut { len, .. } => Some(*len),
                _ => None,
            })
            .collect();
        let expected: &[u64] = match strategy {
            // 16 bytes each, the short one padded with zero bytes.
            Strategy::Fixed => &[16, 16],
            // The newline inside the second payload cut it in two.
            Strategy::Lines => &[12, 3, 5],
            _ => &[12, 9],
        };
        assert_eq!(cuts, expected, "{strategy:?}");
        assert!(
            seen.steps()
                .iter()
                .any(|s| matches!(s, FramerStep::Waiting(_))),
            "{strategy:?} says what it waits for"
        );
    }
}

#[tokio::test]
async fn the_close_target_answers_only_after_the_browsers_half_close() {
    let relay = start(test_config(), &[]).await;
    let mut ws = connect(relay.addr, "close&observe=1").await;
    send(&mut ws, b"are you ").await;
    send(&mut ws, b"there?").await;
    let mut seen = Seen::default();
    let waiting_all = FramerStep::Waiting(Wait::Eof { have: 14 });
    read_until(&mut ws, &mut seen, |s| s.steps().contains(&waiting_all)).await;
    assert!(seen.bytes.is_empty(), "no reply before the FIN");
    assert!(!seen
        .events
        .iter()
        .any(|e| matches!(e, Observed::ServerSend { .. })));
    send(&mut ws, b"").await;
    read_to_end(&mut ws, &mut seen).await;
    assert_eq!(seen.bytes, b"are you there?");
    assert!(seen.events.contains(&Observed::ShutdownWrite));
    assert!(seen.steps().contains(&FramerStep::Cut {
        start: 0,
        frame_len: 14,
        len: 14
    }));
}
