//! The embedded servers behind the relay follow its flags as
//! `relay::embedded::EMBEDDED` says: the relay's own sessions are bounded
//! per browser address by the relay (`--max-sessions-per-ip`), not by the
//! servers' per-address share, which bounds clients reaching a loopback
//! port directly (`--embedded-max-connections-per-ip`); the framing
//! servers follow `--idle-timeout` like the others.

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use protocol::relay_api::TargetInfo;
use relay::config::RelayConfig;
use relay::embedded::{EMBEDDED, IDLE_MARGIN};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Each embedded target's loopback address, from `/targets`.
async fn addresses(relay: &TestRelay) -> Vec<(String, SocketAddr)> {
    let (status, body) = http_get(relay.addr, "/targets", &[]).await;
    assert_eq!(status, 200, "{body}");
    TargetInfo::list_from_json(&body)
        .unwrap()
        .into_iter()
        .map(|t| {
            (
                t.name,
                t.address.expect("--show-addresses").parse().unwrap(),
            )
        })
        .collect()
}

fn address_of(all: &[(String, SocketAddr)], name: &str) -> SocketAddr {
    all.iter().find(|(n, _)| n == name).unwrap().1
}

#[tokio::test]
async fn the_relays_sessions_are_not_counted_in_an_embedded_servers_per_address_share() {
    let relay = start(
        RelayConfig {
            embedded_max_connections_per_ip: 2,
            show_addresses: true,
            ..test_config()
        },
        &[],
    )
    .await;
    let echo = address_of(&addresses(&relay).await, "echo");
    // Four sessions from one browser address (127.0.0.1, as the relay is):
    // over the servers' share, all served.
    let mut sessions = Vec::new();
    for i in 0..4u8 {
        let mut ws = connect(relay.addr, "echo").await;
        send(&mut ws, &[b'0' + i]).await;
        sessions.push(ws);
    }
    // Directly to the port, from the same address: two served, the third refused.
    let mut direct = Vec::new();
    for _ in 0..2 {
        let mut stream = within(TcpStream::connect(echo)).await.unwrap();
        stream.write_all(b"hi").await.unwrap();
        let mut got = [0u8; 2];
        within(stream.read_exact(&mut got)).await.unwrap();
        direct.push(stream);
    }
    let mut third = within(TcpStream::connect(echo)).await.unwrap();
    let _ = third.write_all(b"hi").await;
    let mut buf = [0u8; 8];
    assert!(
        matches!(within(third.read(&mut buf)).await, Ok(0) | Err(_)),
        "a direct client over the share is closed unserved"
    );
    // The sessions still echo.
    for (i, ws) in sessions.iter_mut().enumerate() {
        send(ws, b"").await;
        let received = read_to_close(ws).await;
        assert_eq!(received.bytes(), [b'0' + i as u8]);
    }
}

#[tokio::test]
async fn every_embedded_server_closes_a_quiet_direct_connection_after_the_idle_timeout() {
    const IDLE: Duration = Duration::from_millis(300);
    let relay = start(
        RelayConfig {
            idle_timeout: IDLE,
            show_addresses: true,
            ..test_config()
        },
        &[],
    )
    .await;
    let all = addresses(&relay).await;
    let following = EMBEDDED
        .iter()
        .filter(|t| t.follows.contains(&relay::embedded::Follows::IdleTimeout));
    // All at once: each waits out its own timeout.
    let waits = following.map(|target| {
        let addr = address_of(&all, target.name);
        async move {
            let started = Instant::now();
            let mut stream = within(TcpStream::connect(addr)).await.unwrap();
            let mut buf = [0u8; 64];
            // Nothing sent: the server closes it (the blackhole and the
            // framing servers too, which ignored --idle-timeout before).
            let _ = within(stream.read(&mut buf)).await;
            (target.name, started.elapsed())
        }
    });
    for (name, took) in futures_util::future::join_all(waits).await {
        assert!(
            took >= IDLE + IDLE_MARGIN,
            "{name} closed after {took:?}, before its idle timeout"
        );
    }
}
