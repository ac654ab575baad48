//! `observe=1`: the observation events a session's browser receives beside
//! the bytes, from a real relay with its real embedded servers.

mod support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use protocol::app::request;
use protocol::encode;
use protocol::relay_api::{DecoderState, Observation, Observed};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

/// Everything a session sent until its close frame: bytes and events.
#[derive(Default)]
struct Seen {
    bytes: Vec<u8>,
    events: Vec<Observed>,
    close: Option<u16>,
}

impl Seen {
    fn kinds(&self) -> Vec<String> {
        self.events.iter().map(kind).collect()
    }
    fn position(&self, pred: impl Fn(&Observed) -> bool) -> Option<usize> {
        self.events.iter().position(pred)
    }
}

fn kind(event: &Observed) -> String {
    let json = Observation {
        t_us: 0,
        event: event.clone(),
        conn: None,
    }
    .to_json_value();
    let kind = json.as_object().and_then(|o| o.get("kind"));
    kind.and_then(|k| k.as_str()).unwrap().to_owned()
}

/// Parses one text message, checking the contract's shape on the way.
fn parse(text: &str, last_t: &mut u64) -> Observed {
    let observation = Observation::from_json(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert!(observation.t_us >= *last_t, "time runs backwards: {text}");
    *last_t = observation.t_us;
    observation.event
}

async fn read_all(ws: &mut Ws) -> Seen {
    let mut seen = Seen::default();
    let mut last_t = 0;
    within(async {
        while let Some(message) = ws.next().await {
            match message.expect("no websocket error") {
                Message::Binary(bytes) => seen.bytes.extend_from_slice(&bytes),
                Message::Text(text) => seen.events.push(parse(&text, &mut last_t)),
                Message::Close(frame) => {
                    seen.close = frame.map(|f| u16::from(f.code));
                    break;
                }
                _ => {}
            }
        }
    })
    .await;
    within(async { while let Some(Ok(_)) = ws.next().await {} }).await;
    seen
}

#[tokio::test]
async fn a_search_sent_in_ten_byte_messages_shows_the_servers_recvs_decoder_request_and_reply() {
    let relay = start(test_config(), &[]).await;
    let frame = encode(&request("search", "morpheus")).unwrap().bytes;
    // The tutorial's search for "morpheus": 2 + 103 header + 41 content bytes.
    assert_eq!(frame.len(), 146);
    let mut ws = connect(relay.addr, "app&observe=1").await;
    for piece in frame.chunks(10) {
        send(&mut ws, piece).await;
    }
    let seen = read_all(&mut ws).await;
    assert_eq!(seen.close, Some(1000));
    assert!(!seen.bytes.is_empty(), "the reply arrives");
    assert_eq!(
        seen.events.first(),
        Some(&Observed::Observing {
            target: "app".into(),
            server: true
        })
    );
    let kinds = seen.kinds();
    for expected in [
        "connect",
        "server_accept",
        "write",
        "socket",
        "server_socket",
    ] {
        assert!(
            kinds.contains(&expected.to_owned()),
            "{expected}: {kinds:?}"
        );
    }
    let recvs: Vec<(u64, Option<DecoderState>)> = seen
        .events
        .iter()
        .filter_map(|e| match e {
            Observed::ServerRecv { len, decoder, .. } => Some((*len, decoder.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(recvs.iter().map(|r| r.0).sum::<u64>(), 146, "{recvs:?}");
    let states: Vec<&DecoderState> = recvs.iter().filter_map(|r| r.1.as_ref()).collect();
    assert_eq!(
        states.len(),
        recvs.len(),
        "every recv has the decoder's state"
    );
    assert_eq!(states.last(), Some(&&DecoderState::Complete));
    for state in &states[..states.len() - 1] {
        assert!(matches!(state, DecoderState::Waiting(_)), "{states:?}");
    }
    let request_at = seen
        .position(|e| matches!(e, Observed::ServerRequest { repr } if repr == "{'action': 'search', 'value': 'morpheus'}"))
        .unwrap_or_else(|| panic!("no server_request: {kinds:?}"));
    let last_recv = seen
        .events
        .iter()
        .rposition(|e| matches!(e, Observed::ServerRecv { .. }))
        .unwrap();
    assert!(last_recv < request_at, "{kinds:?}");
    let send_at = seen
        .position(|e| matches!(e, Observed::ServerSend { len, sent, .. } if len == sent))
        .unwrap_or_else(|| panic!("no server_send: {kinds:?}"));
    assert!(request_at < send_at);
    let eof_at = seen.position(|e| matches!(e, Observed::Eof)).unwrap();
    assert!(send_at < eof_at);
    assert!(kinds.contains(&"server_close".to_owned()), "{kinds:?}");
    // After the relay's close only the two sockets' states follow (TIME_WAIT…).
    let after_sockets = kinds
        .iter()
        .rfind(|k| !matches!(k.as_str(), "socket" | "server_socket"));
    assert_eq!(
        after_sockets.map(String::as_str),
        Some("close"),
        "{kinds:?}"
    );
    assert!(seen.events.iter().any(|e| matches!(
        e,
        Observed::ServerLog { line, .. } if line.starts_with("Received ") && line.contains("'morpheus'")
    )));
}

#[tokio::test]
async fn two_frames_in_one_recv_say_a_whole_request_then_the_bytes_of_the_next() {
    let relay = start(test_config(), &[]).await;
    let frame = encode(&request("search", "morpheus")).unwrap().bytes;
    let mut ws = connect(relay.addr, "app&observe=1").await;
    // One WebSocket message, one write(): the server's first recv() holds both.
    send(&mut ws, &[frame.clone(), frame.clone()].concat()).await;
    let seen = read_all(&mut ws).await;
    let first = seen
        .events
        .iter()
        .find_map(|e| match e {
            Observed::ServerRecv { len, decoder, .. } => Some((*len, decoder.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no server_recv: {:?}", seen.kinds()));
    assert_eq!(
        first,
        (
            2 * frame.len() as u64,
            Some(DecoderState::CompleteWithNext {
                next: frame.len() as u64
            })
        )
    );
}

#[tokio::test]
async fn a_half_close_shows_the_shutdown_the_servers_zero_byte_recv_and_the_reply_still_arrives() {
    let relay = start(test_config(), &[]).await;
    let mut ws = connect(relay.addr, "echo&observe=1").await;
    let payload: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    send(&mut ws, &payload).await;
    send(&mut ws, b"").await;
    let seen = read_all(&mut ws).await;
    assert!(seen.bytes == payload, "the echo arrives whole");
    assert_eq!(seen.close, Some(1000));
    let kinds = seen.kinds();
    let shutdown = seen
        .position(|e| matches!(e, Observed::ShutdownWrite))
        .unwrap_or_else(|| panic!("no shutdown_write: {kinds:?}"));
    let zero = seen
        .position(|e| matches!(e, Observed::ServerRecv { len: 0, .. }))
        .unwrap_or_else(|| panic!("no 0-byte server_recv: {kinds:?}"));
    assert!(shutdown < zero, "{kinds:?}");
    let read: u64 = seen
        .events
        .iter()
        .filter_map(|e| match e {
            Observed::Read { len, .. } => Some(*len),
            _ => None,
        })
        .sum();
    assert_eq!(read, payload.len() as u64);
    assert!(kinds.contains(&"eof".to_owned()), "{kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackhole_flood_fills_both_queues_stalls_the_writes_and_stays_bounded() {
    let config = test_config();
    // An observed session's real capture (where the relay may capture)
    // holds up to --capture-max-bytes of packets besides.
    let bound = 2 * config.read_chunk + config.max_message_size + config.capture_max_bytes;
    let relay = start(config, &[]).await;
    let ws = connect(relay.addr, "blackhole&observe=1").await;
    let (mut tx, mut rx) = ws.split();
    // 8 MiB in 1 MiB messages; the sender stalls once the queues are full.
    let sender = tokio::spawn(async move {
        for i in 0..8u8 {
            if tx.send(Message::binary(vec![i; 1 << 20])).await.is_err() {
                break;
            }
        }
        tx
    });
    let (mut server_recv_q, mut send_q, mut short_write) = (0, 0, false);
    let mut last_t = 0;
    within(async {
        while server_recv_q <= 100_000 || send_q <= 100_000 || !short_write {
            let Some(Ok(message)) = rx.next().await else {
                panic!("session ended early")
            };
            let Message::Text(text) = message else {
                panic!("the blackhole sends nothing: {message:?}")
            };
            match parse(&text, &mut last_t) {
                Observed::ServerSocket(info) => server_recv_q = server_recv_q.max(info.recv_q),
                Observed::Socket(info) => send_q = send_q.max(info.send_q),
                Observed::Write { len, sent, .. } if sent < len => short_write = true,
                Observed::ServerRecv { .. } => panic!("the blackhole never reads"),
                _ => {}
            }
            assert!(
                relay.metrics.buffered_bytes() <= bound,
                "{} bytes held",
                relay.metrics.buffered_bytes()
            );
        }
    })
    .await;
    assert!(relay.metrics.buffered_bytes() <= bound);
    sender.abort();
}

#[tokio::test]
async fn an_external_target_shows_the_relays_socket_and_of_the_server_only_its_socket_row() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 64];
        let n = stream.read(&mut buf).await.unwrap();
        stream.write_all(&buf[..n]).await.unwrap();
    });
    let relay = start(test_config(), &[("outside", addr)]).await;
    let mut ws = connect(relay.addr, "outside&observe=1").await;
    send(&mut ws, b"hello").await;
    let seen = read_all(&mut ws).await;
    assert_eq!(seen.bytes, b"hello");
    assert_eq!(
        seen.events.first(),
        Some(&Observed::Observing {
            target: "outside".into(),
            server: false
        })
    );
    let kinds = seen.kinds();
    for expected in ["connect", "write", "read", "socket", "eof", "close"] {
        assert!(
            kinds.contains(&expected.to_owned()),
            "{expected}: {kinds:?}"
        );
    }
    // The server's calls are unseen; its socket, on this machine, is
    // sock_diag's (relay_sockets.rs follows it).
    assert!(kinds.contains(&"server_socket".to_owned()), "{kinds:?}");
    assert!(
        !kinds
            .iter()
            .any(|k| k.starts_with("server_") && k != "server_socket"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn without_observe_a_session_gets_no_text_message() {
    let relay = start(test_config(), &[]).await;
    for target in ["app", "app&observe=0"] {
        let mut ws = connect(relay.addr, target).await;
        send(
            &mut ws,
            &encode(&request("search", "morpheus")).unwrap().bytes,
        )
        .await;
        // read_to_close panics on anything but binary messages and the close.
        let received = read_to_close(&mut ws).await;
        assert_eq!(received.close_code(), Some(1000));
        assert!(!received.bytes().is_empty());
    }
    let (status, _) = try_connect(relay.addr, "target=app&observe=yes", None)
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_observed_session_with_a_slow_reader_gets_merged_events_not_a_growing_queue() {
    let config = relay::config::RelayConfig {
        observe_queue: 16,
        observe_burst: 2,
        ..test_config()
    };
    let relay = start(config, &[]).await;
    let mut ws = connect(relay.addr, "echo&observe=1").await;
    let payload = vec![9u8; 64];
    for _ in 0..200 {
        send(&mut ws, &payload).await;
    }
    // Nothing read yet: the relay had to merge or count what it could not queue.
    tokio::time::sleep(Duration::from_millis(200)).await;
    send(&mut ws, b"").await;
    let seen = read_all(&mut ws).await;
    assert_eq!(seen.bytes.len(), 200 * 64);
    let writes: Vec<(u64, u32)> = seen
        .events
        .iter()
        .filter_map(|e| match e {
            Observed::Write { sent, count, .. } => Some((*sent, *count)),
            _ => None,
        })
        .collect();
    assert_eq!(
        writes.iter().map(|w| w.0).sum::<u64>(),
        200 * 64,
        "{writes:?}"
    );
    assert!(writes.iter().any(|w| w.1 > 1), "merged: {writes:?}");
    assert!(writes.len() < 200, "{writes:?}");
}

#[tokio::test]
async fn a_write_the_target_never_answers_still_shows() {
    // A target that reads and keeps quiet: the write's events cannot ride
    // along with an answer's message, so they go out on their own after
    // the short wait for one.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let quiet = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 64];
        while stream.read(&mut buf).await.unwrap_or(0) > 0 {}
    });
    let relay = start(test_config(), &[("quiet", addr)]).await;
    let mut ws = connect(relay.addr, "quiet&observe=1").await;
    send(&mut ws, b"hello").await;
    let mut kinds = Vec::new();
    let mut last_t = 0;
    within(async {
        loop {
            let Some(Ok(Message::Text(text))) = ws.next().await else {
                panic!("only text messages, no close: {kinds:?}")
            };
            let event = parse(&text, &mut last_t);
            kinds.push(kind(&event));
            if matches!(
                event,
                Observed::Write {
                    len: 5,
                    sent: 5,
                    ..
                }
            ) {
                break;
            }
        }
    })
    .await;
    // A `capture` (where the relay may capture) comes before the connect.
    let calls: Vec<&String> = kinds.iter().filter(|k| *k != "capture").collect();
    assert_eq!(calls[..2], ["observing", "connect"], "{kinds:?}");
    assert!(kinds.contains(&"socket".to_owned()), "{kinds:?}");
    quiet.abort();
}
