//! Memory a client can make the relay hold (issue #13, item 4): partial
//! WebSocket messages count in `/healthz` `buffered_bytes` and against the
//! relay-wide `--max-buffered-bytes`; `--max-sessions-per-ip` counts
//! sessions per client, the client taken from forwarded headers only when
//! they come from a `--trusted-proxy`.

mod support;

use std::net::SocketAddr;

use protocol::relay_api::code;
use protocol::relay_api::CloseReason;
use relay::config::RelayConfig;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A WebSocket opened by hand, so a test can stop mid-frame.
async fn raw_session(addr: SocketAddr, headers: &[&str]) -> TcpStream {
    let mut stream = within(TcpStream::connect(addr)).await.unwrap();
    let host = format!("Host: {addr}");
    let mut lines = vec![host.as_str()];
    lines.extend_from_slice(headers);
    let request = upgrade_request("/ws?target=echo", &lines);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    within(async {
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(
                stream.read(&mut byte).await.unwrap(),
                1,
                "closed in the head"
            );
            head.push(byte[0]);
        }
    })
    .await;
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

/// The head of a masked binary frame (mask of zeros: the payload goes as is).
fn frame_head(len: usize) -> Vec<u8> {
    let mut head = vec![0x82];
    match len {
        0..=125 => head.push(0x80 | len as u8),
        126..=65535 => {
            head.push(0x80 | 126);
            head.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            head.push(0x80 | 127);
            head.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    head.extend_from_slice(&[0; 4]);
    head
}

/// Sends all but the last byte of a `len`-byte message: the relay must hold them.
async fn park(stream: &mut TcpStream, len: usize) {
    let mut bytes = frame_head(len);
    bytes.resize(bytes.len() + len - 1, b'x');
    within(stream.write_all(&bytes)).await.unwrap();
}

/// The close frame the relay sends (code, reason), skipping data frames.
async fn read_close(stream: &mut TcpStream) -> (u16, String) {
    within(async {
        loop {
            let mut head = [0u8; 2];
            stream.read_exact(&mut head).await.unwrap();
            let len = match head[1] & 0x7f {
                126 => stream.read_u16().await.unwrap() as usize,
                127 => stream.read_u64().await.unwrap() as usize,
                n => n as usize,
            };
            let mut payload = vec![0; len];
            stream.read_exact(&mut payload).await.unwrap();
            if head[0] & 0x0f == 0x8 {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                return (code, String::from_utf8_lossy(&payload[2..]).into_owned());
            }
        }
    })
    .await
}

async fn next_binary(ws: &mut Ws) -> Vec<u8> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match within(ws.next()).await {
            Some(Ok(Message::Binary(bytes))) => return bytes.to_vec(),
            Some(Ok(_)) => {}
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
}

async fn healthz_buffered(addr: SocketAddr) -> u64 {
    let (status, body) = http_get(addr, "/healthz", &[]).await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    json["buffered_bytes"].as_u64().unwrap()
}

#[tokio::test]
async fn a_message_parked_one_byte_short_counts_in_buffered_bytes_until_its_session_ends() {
    let relay = start(test_config(), &[]).await;
    let mut parked = raw_session(relay.addr, &[]).await;
    let len = 512 * 1024;
    park(&mut parked, len).await;
    let metrics = relay.metrics.clone();
    eventually(|| metrics.buffered_bytes() >= len - 1).await;
    assert!(healthz_buffered(relay.addr).await >= (len - 1) as u64);

    drop(parked);
    eventually(|| metrics.buffered_bytes() == 0 && metrics.active_sessions() == 0).await;
    assert_eq!(healthz_buffered(relay.addr).await, 0);
}

#[tokio::test]
async fn whole_messages_leave_nothing_counted_behind() {
    let relay = start(test_config(), &[]).await;
    let mut ws = connect(relay.addr, "echo").await;
    for len in [1, 125, 126, 65_535, 65_536, 300_000] {
        let bytes = vec![7u8; len];
        send(&mut ws, &bytes).await;
        let mut echoed = 0;
        while echoed < len {
            echoed += next_binary(&mut ws).await.len();
        }
        let metrics = relay.metrics.clone();
        eventually(|| metrics.buffered_bytes() == 0).await;
    }
}

#[tokio::test]
async fn the_session_that_takes_the_relay_over_its_budget_is_closed_try_again_later() {
    let budget = 256 * 1024;
    let config = RelayConfig {
        max_buffered_bytes: budget,
        ..test_config()
    };
    let relay = start(config, &[]).await;
    let mut first = raw_session(relay.addr, &[]).await;
    park(&mut first, 200 * 1024).await;
    let metrics = relay.metrics.clone();
    eventually(|| metrics.buffered_bytes() >= 200 * 1024 - 1).await;

    let mut second = raw_session(relay.addr, &[]).await;
    park(&mut second, 100 * 1024).await;
    let (code, reason) = read_close(&mut second).await;
    assert_eq!(code, code::TRY_AGAIN_LATER);
    assert_eq!(CloseReason::parse(code, &reason), CloseReason::RelayBusy);

    // The first still holds its bytes; the second's are given back.
    eventually(|| metrics.active_sessions() == 1).await;
    let held = metrics.buffered_bytes();
    assert!((200 * 1024 - 1..budget).contains(&held), "{held}");
    // Below the budget again, a session works.
    let mut ws = connect(relay.addr, "echo").await;
    send(&mut ws, b"still here").await;
    assert_eq!(next_binary(&mut ws).await, b"still here");
}

#[tokio::test]
async fn sessions_per_client_address_are_capped() {
    let config = RelayConfig {
        max_sessions_per_ip: 2,
        ..test_config()
    };
    let relay = start(config, &[]).await;
    let a = connect(relay.addr, "echo").await;
    let _b = connect(relay.addr, "echo").await;
    let (status, body) = try_connect(relay.addr, "target=echo", None)
        .await
        .err()
        .unwrap();
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("--max-sessions-per-ip 2"), "{body}");
    // Not a proxy: what the client says it forwarded for is ignored.
    let spoofed = upgrade_request(
        "/ws?target=echo",
        &[
            &format!("Host: {}", relay.addr),
            "X-Forwarded-For: 203.0.113.7",
            "X-Real-IP: 203.0.113.8",
        ],
    );
    assert_eq!(raw_request(relay.addr, &spoofed).await.0, 429);
    drop(a);
    let metrics = relay.metrics.clone();
    eventually(|| metrics.active_sessions() == 1).await;
    assert!(try_connect(relay.addr, "target=echo", None).await.is_ok());
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_sessions() {
    let config = RelayConfig {
        max_sessions_per_ip: 2,
        trusted_proxies: vec!["127.0.0.0/8".parse().unwrap()],
        ..test_config()
    };
    let relay = start(config, &[]).await;
    let host = format!("Host: {}", relay.addr);
    let from = |client: &str| {
        upgrade_request(
            "/ws?target=echo",
            &[&host, &format!("X-Forwarded-For: 198.51.100.1, {client}")],
        )
    };
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(raw_session(relay.addr, &["X-Forwarded-For: 203.0.113.1"]).await);
    }
    assert_eq!(raw_request(relay.addr, &from("203.0.113.1")).await.0, 429);
    // Another client behind the same proxy; the left-most entry (written
    // by the client) is not who it is.
    assert_eq!(raw_request(relay.addr, &from("203.0.113.2")).await.0, 101);
}
