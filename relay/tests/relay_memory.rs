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
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Sends all but the last byte of a `len`-byte message: the relay must hold them.
async fn park(stream: &mut TcpStream, len: usize) {
    let mut bytes = frame_head(len);
    bytes.resize(bytes.len() + len - 1, b'x');
    within(stream.write_all(&bytes)).await.unwrap();
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

#[tokio::test]
async fn with_tap_a_session_stays_within_the_bound_the_readme_promises() {
    let config = RelayConfig {
        tap: true,
        ..test_config()
    };
    let bound = config.max_message_size + 2 * config.read_chunk + config.ws_read_buffer;
    let relay = start(config, &[]).await;
    // A request as large as the app server takes, in 64 KiB messages; its
    // reply is as large again.
    let value = "y".repeat(1024 * 1024 - 64);
    let frame = protocol::encode(&protocol::app::request("search", &value))
        .unwrap()
        .bytes;
    let mut ws = connect(relay.addr, "app").await;
    for chunk in frame.chunks(64 * 1024) {
        send(&mut ws, chunk).await;
    }
    let received = read_to_close(&mut ws).await;
    assert!(received.bytes().len() > 1024 * 1024);
    let metrics = relay.metrics.clone();
    eventually(|| metrics.recent().len() == 1).await;
    let (_, _, report) = metrics.recent().pop().unwrap();
    // Counted: what each tap keeps between reads, besides the bytes in flight.
    assert!(
        report.peak_buffered <= bound,
        "{} bytes held at the peak, bound {bound}",
        report.peak_buffered
    );
    eventually(|| metrics.buffered_bytes() == 0).await;
}
