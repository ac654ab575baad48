//! Requests through a real relay to the real app and echo servers: bytes
//! unchanged both ways, close codes as docs/reference.md's table gives them.

mod support;

use futures_util::SinkExt;
use protocol::app::{request, Outcome};
use protocol::{encode, Decoder, Event};
use support::*;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// Decodes the one reply in `bytes`.
fn reply_outcome(bytes: &[u8]) -> String {
    let mut decoder = Decoder::default();
    decoder.push(bytes);
    loop {
        match decoder.poll().expect("a valid reply") {
            Some(Event::Message(decoded)) => {
                decoder.finish().expect("nothing after the reply");
                return Outcome::of(&decoded.message).to_string();
            }
            Some(_) => {}
            None => panic!("incomplete reply: {:?}", decoder.need()),
        }
    }
}

async fn search_in_pieces(piece: usize) {
    let relay = start(test_config(), &[]).await;
    let frame = encode(&request("search", "ring")).unwrap().bytes;
    let mut ws = connect(relay.addr, "app").await;
    for chunk in frame.chunks(piece) {
        send(&mut ws, chunk).await;
    }
    let received = read_to_close(&mut ws).await;
    assert_eq!(
        reply_outcome(&received.bytes()),
        "Got result: In the caves beneath the Misty Mountains. 💍"
    );
    assert_eq!(received.close_code(), Some(1000));
    assert_eq!(received.close_reason(), "upstream closed");
}

#[tokio::test]
async fn a_search_request_split_over_many_messages_gets_the_reply_then_1000() {
    search_in_pieces(5).await;
}

#[tokio::test]
async fn a_search_request_sent_one_byte_per_message_gets_the_reply_then_1000() {
    search_in_pieces(1).await;
}

#[tokio::test]
async fn half_close_the_client_sends_a_request_and_closes_its_side_and_the_full_reply_arrives() {
    // Echo gives back everything it got, and closes once it sees EOF: the
    // "reply" is as long as the request and only ends after the half-close.
    let relay = start(test_config(), &[]).await;
    let mut ws = connect(relay.addr, "echo").await;
    let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    for chunk in payload.chunks(10_000) {
        send(&mut ws, chunk).await;
    }
    // The empty message is the browser's shutdown(SHUT_WR).
    send(&mut ws, b"").await;
    let received = read_to_close(&mut ws).await;
    assert_eq!(received.bytes().len(), payload.len());
    assert!(received.bytes() == payload, "echoed bytes differ");
    assert_eq!(received.close_code(), Some(1000));
    assert_eq!(received.close_reason(), "upstream closed");
}

#[tokio::test]
async fn a_websocket_close_shuts_down_the_target_write_half() {
    // A raw target that records what it read before EOF.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    let upstream = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        stream.read_to_end(&mut got).await.unwrap();
        got
    });
    let relay = start(test_config(), &[("raw", target)]).await;
    let mut ws = connect(relay.addr, "raw").await;
    send(&mut ws, b"request bytes").await;
    within(ws.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "done".into(),
    }))))
    .await
    .unwrap();
    // The target saw the request and then EOF, not a reset.
    assert_eq!(within(upstream).await.unwrap(), b"request bytes");
    // The relay answered the close handshake.
    let rest = read_to_close_after_our_close(&mut ws).await;
    assert!(rest, "the relay replied to the close");
}

/// After our own close: true once the relay's close reply arrives.
async fn read_to_close_after_our_close(ws: &mut Ws) -> bool {
    use futures_util::StreamExt;
    within(async {
        while let Some(message) = ws.next().await {
            match message {
                Ok(Message::Close(_)) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
        false
    })
    .await
}

#[tokio::test]
async fn a_text_message_is_refused_with_1003_and_nothing_reaches_the_target() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    let upstream = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut got = Vec::new();
        let _ = stream.read_to_end(&mut got).await;
        got
    });
    let relay = start(test_config(), &[("raw", target)]).await;
    let mut ws = connect(relay.addr, "raw").await;
    within(ws.send(Message::text("{\"action\": \"search\"}")))
        .await
        .unwrap();
    let received = read_to_close(&mut ws).await;
    assert_eq!(received.close_code(), Some(1003));
    assert_eq!(
        received.close_reason(),
        "text messages are not accepted: send binary"
    );
    assert!(received.messages.is_empty());
    assert_eq!(within(upstream).await.unwrap(), b"");
}

#[tokio::test]
async fn a_message_above_the_size_limit_is_closed_with_1009() {
    let config = relay::config::RelayConfig {
        max_message_size: 1000,
        ..test_config()
    };
    let relay = start(config, &[]).await;
    let mut ws = connect(relay.addr, "echo").await;
    send(&mut ws, &[1u8; 999]).await;
    // The echo first: the oversized message ends the session at once.
    let mut echoed = Vec::new();
    while echoed.len() < 999 {
        match within(futures_util::StreamExt::next(&mut ws)).await {
            Some(Ok(Message::Binary(bytes))) => echoed.extend_from_slice(&bytes),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(echoed, vec![1u8; 999]);
    send(&mut ws, &[2u8; 1001]).await;
    let received = read_to_close(&mut ws).await;
    assert!(received.messages.is_empty());
    assert_eq!(received.close_code(), Some(1009));
    assert!(
        received.close_reason().contains("1001 > 1000"),
        "{}",
        received.close_reason()
    );
}

#[tokio::test]
async fn a_binary_request_gets_the_app_servers_binary_reply() {
    let relay = start(test_config(), &[]).await;
    let message =
        protocol::Message::binary("binary/custom-client-binary-type", &b"0123456789abc"[..]);
    let frame = encode(&message).unwrap().bytes;
    let mut ws = connect(relay.addr, "app").await;
    send(&mut ws, &frame).await;
    let received = read_to_close(&mut ws).await;
    assert_eq!(
        reply_outcome(&received.bytes()),
        "Got response: b'First 10 bytes of request: 0123456789'"
    );
    assert_eq!(received.close_code(), Some(1000));
}

#[tokio::test]
async fn an_idle_session_is_closed_with_1008_at_the_idle_timeout() {
    let config = relay::config::RelayConfig {
        idle_timeout: std::time::Duration::from_secs(1),
        ..test_config()
    };
    let relay = start(config, &[]).await;
    let mut ws = connect(relay.addr, "echo").await;
    send(&mut ws, b"one").await;
    let received = read_to_close(&mut ws).await;
    assert_eq!(received.bytes(), b"one");
    assert_eq!(received.close_code(), Some(1008));
    assert_eq!(received.close_reason(), "idle timeout: no traffic for 1s");
}
