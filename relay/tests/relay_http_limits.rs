//! The HTTP side before the upgrade (issue #13): a request head must arrive
//! within `--header-timeout` and fit in `--max-header-bytes`, a connection
//! without traffic is closed after `--http-idle-timeout`, connections beyond
//! `--max-http-connections` are answered 503 (429 past the per-address
//! share) and closed, a new address gets a place while others hold every
//! one (issue 23), and shutdown ends within
//! `--close-grace` whatever a client is part-way through.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use relay::config::RelayConfig;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Limits long enough that only the one a test is about can end a connection.
fn patient() -> RelayConfig {
    RelayConfig {
        header_timeout: Duration::from_secs(120),
        http_idle_timeout: Duration::from_secs(120),
        ..test_config()
    }
}

/// Reads until the relay closes the connection (EOF or reset): what it sent.
async fn until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0; 4096];
    within(async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    received
}

/// A connection that has sent the start of a request head and holds it.
async fn half_head(addr: SocketAddr) -> TcpStream {
    half_head_from(addr, [127, 0, 0, 1].into()).await
}

async fn half_head_from(addr: SocketAddr, source: std::net::IpAddr) -> TcpStream {
    let mut stream = connect_from(source, addr).await;
    let head = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nX-Slow: ");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

#[tokio::test]
async fn a_head_sent_a_byte_at_a_time_is_cut_by_the_header_timeout() {
    let relay = start(
        RelayConfig {
            header_timeout: Duration::from_millis(500),
            ..patient()
        },
        &[],
    )
    .await;
    let mut stream = half_head(relay.addr).await;
    // Bytes keep moving (so the idle timeout never fires), the head never ends.
    within(async {
        let mut chunk = [0; 1024];
        loop {
            if stream.write_all(b"a").await.is_err() {
                break;
            }
            tokio::select! {
                read = stream.read(&mut chunk) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                },
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
    })
    .await;
    assert_eq!(http_get(relay.addr, "/healthz", &[]).await.0, 200);
}

#[tokio::test]
async fn a_connection_without_traffic_is_closed_after_the_http_idle_timeout() {
    let relay = start(
        RelayConfig {
            http_idle_timeout: Duration::from_millis(300),
            ..patient()
        },
        &[],
    )
    .await;
    // A keep-alive connection after its response…
    let mut stream = within(TcpStream::connect(relay.addr)).await.unwrap();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", relay.addr);
    stream.write_all(request.as_bytes()).await.unwrap();
    let received = until_closed(&mut stream).await;
    assert!(received.starts_with(b"HTTP/1.1 200"), "{received:?}");
    // …and one that never sends anything.
    let mut silent = within(TcpStream::connect(relay.addr)).await.unwrap();
    assert!(until_closed(&mut silent).await.is_empty());
}

#[tokio::test]
async fn a_head_larger_than_max_header_bytes_is_refused() {
    let relay = start(
        RelayConfig {
            max_header_bytes: 8192,
            ..patient()
        },
        &[],
    )
    .await;
    let mut stream = within(TcpStream::connect(relay.addr)).await.unwrap();
    let big = "a".repeat(32 * 1024);
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {}\r\nX-Big: {big}\r\n\r\n",
        relay.addr
    );
    // The relay may close before reading it all.
    let _ = stream.write_all(request.as_bytes()).await;
    let received = until_closed(&mut stream).await;
    let text = String::from_utf8_lossy(&received);
    assert!(
        received.is_empty() || text.starts_with("HTTP/1.1 431"),
        "{text}"
    );
    // A head within the limit is served.
    let (status, _) = http_get(relay.addr, "/healthz", &[("X-Fine", &"a".repeat(4096))]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn connections_beyond_max_http_connections_are_closed_and_service_returns() {
    let relay = start(
        RelayConfig {
            max_http_connections: 4,
            header_timeout: Duration::from_secs(3),
            ..patient()
        },
        &[],
    )
    .await;
    let mut attackers = Vec::new();
    for _ in 0..4 {
        attackers.push(half_head(relay.addr).await);
    }
    // Accepted after the four (the listen queue is first come, first
    // served) while they hold every slot, from the address holding them:
    // not queued, answered 503 with the flag to raise, and closed.
    let mut fifth = within(TcpStream::connect(relay.addr)).await.unwrap();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", relay.addr);
    fifth.write_all(request.as_bytes()).await.unwrap();
    let answer = String::from_utf8_lossy(&until_closed(&mut fifth).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("--max-http-connections 4"), "{answer}");
    // The attackers are dropped by the header timeout; then the relay serves again.
    for attacker in &mut attackers {
        until_closed(attacker).await;
    }
    assert_eq!(http_get(relay.addr, "/healthz", &[]).await.0, 200);
    let mut ws = connect(relay.addr, "echo").await;
    send(&mut ws, b"ping").await;
    // Upgraded sessions do not hold HTTP slots: more than four at once.
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions.push(connect(relay.addr, "echo").await);
    }
    eventually(|| relay.metrics.active_sessions() == 6).await;
    assert_eq!(http_get(relay.addr, "/healthz", &[]).await.0, 200);
}

#[tokio::test]
async fn one_address_cannot_take_every_http_connection() {
    let relay = start(
        RelayConfig {
            max_http_connections: 8,
            max_http_connections_per_ip: 2,
            trusted_proxies: vec!["127.0.0.3".parse().unwrap()],
            ..patient()
        },
        &[],
    )
    .await;
    let attacker = [127, 0, 0, 2].into();
    let mut held = vec![
        half_head_from(relay.addr, attacker).await,
        half_head_from(relay.addr, attacker).await,
    ];
    // Its third is answered 429, naming the limit, once its head is read.
    let mut third = connect_from(attacker, relay.addr).await;
    third
        .write_all(upgrade_request("/ws?target=echo", &[]).as_bytes())
        .await
        .unwrap();
    let answer = String::from_utf8_lossy(&until_closed(&mut third).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    assert!(
        answer.contains("--max-http-connections-per-ip 2"),
        "{answer}"
    );
    // One that never sends its head is answered too, after the wait.
    let mut silent = connect_from(attacker, relay.addr).await;
    let answer = String::from_utf8_lossy(&until_closed(&mut silent).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 429"), "{answer}");
    // Others still get in while the attacker holds its two.
    assert_eq!(http_get(relay.addr, "/healthz", &[]).await.0, 200);
    // A trusted proxy carries many clients: not capped per address.
    let proxy = [127, 0, 0, 3].into();
    for _ in 0..3 {
        held.push(half_head_from(relay.addr, proxy).await);
    }
    let mut request = held.pop().unwrap();
    request.write_all(b"x\r\n\r\n").await.unwrap();
    let mut response = [0u8; 12];
    within(request.read_exact(&mut response)).await.unwrap();
    assert_eq!(&response, b"HTTP/1.1 200");
}

#[tokio::test]
async fn serve_returns_within_close_grace_while_a_client_holds_a_half_sent_head() {
    let relay = start(
        RelayConfig {
            close_grace: Duration::from_millis(500),
            ..patient()
        },
        &[],
    )
    .await;
    // One connection served a request, then began another and stopped.
    let mut kept = within(TcpStream::connect(relay.addr)).await.unwrap();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", relay.addr);
    kept.write_all(request.as_bytes()).await.unwrap();
    let mut chunk = [0; 4096];
    let n = within(kept.read(&mut chunk)).await.unwrap();
    assert!(chunk[..n].starts_with(b"HTTP/1.1 200"));
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .unwrap();
    // Another only began its first.
    let _fresh = half_head(relay.addr).await;
    let session = connect(relay.addr, "echo").await;
    eventually(|| relay.metrics.active_sessions() == 1).await;
    relay.shutdown.cancel();
    // The hang guard (30 s) is far below the header and idle timeouts (120 s).
    within(relay.served).await.unwrap().unwrap();
    drop(session);
}

/// Issue 23: 8 addresses holding every pre-upgrade place (unfinished
/// heads) kept a ninth address out. A full pool now gives a newcomer the
/// oldest place of the address holding the most.
#[tokio::test]
async fn a_new_address_gets_in_while_eight_others_hold_every_unfinished_head() {
    let relay = start(
        RelayConfig {
            max_http_connections: 16,
            max_http_connections_per_ip: 2,
            ..patient()
        },
        &[],
    )
    .await;
    let mut held = Vec::new();
    for n in 2..10u8 {
        for _ in 0..2 {
            held.push(half_head_from(relay.addr, [127, 0, 0, n].into()).await);
        }
    }
    // Every place is taken, and the attackers cannot take a 17th...
    let mut more = connect_from([127, 0, 0, 2].into(), relay.addr).await;
    let answer = String::from_utf8_lossy(&until_closed(&mut more).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 "), "answered: {answer}");
    // ...but a client from a ninth address is served, session included.
    let legit: std::net::IpAddr = [127, 0, 0, 10].into();
    let mut stream = connect_from(legit, relay.addr).await;
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        relay.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = String::from_utf8_lossy(&until_closed(&mut stream).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let stream = connect_from(legit, relay.addr).await;
    let request = upgrade_request("/ws?target=echo", &[&format!("Host: {}", relay.addr)]);
    let (status, head, _ws) = raw_upgrade(stream, &request).await;
    assert_eq!(status, 101, "{head}");
    // One attacker's oldest head made room for the first; the second took
    // the place the first gave back.
    let mut closed = 0;
    for stream in &mut held {
        let mut byte = [0u8; 1];
        if let Ok(Ok(0)) =
            tokio::time::timeout(Duration::from_millis(50), stream.read(&mut byte)).await
        {
            closed += 1;
        }
    }
    assert_eq!(closed, 1, "one place made");
}
