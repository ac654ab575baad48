//! What the relay refuses, and how targets that fail show up in the browser.

mod support;

use std::time::Duration;

use support::*;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

#[tokio::test]
async fn an_unknown_target_is_refused_before_the_upgrade_with_a_clear_body() {
    let relay = start(test_config(), &[]).await;
    let (status, body) = try_connect(relay.addr, "target=nope", None)
        .await
        .err()
        .unwrap();
    assert_eq!(status, 404);
    assert!(body.contains("unknown target \"nope\""), "{body}");
    assert!(
        body.contains("targets: app, blackhole, close, echo, fixed, lines, multiconn, prefix"),
        "{body}"
    );
    assert_eq!(relay.metrics.total_sessions(), 0);
}

#[tokio::test]
async fn a_host_and_port_is_not_a_target() {
    // Something listens there, so only the registry can stop the connection.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let relay = start(test_config(), &[]).await;
    for query in [
        "target=127.0.0.1:22".to_owned(),
        format!("target=127.0.0.1:{port}"),
        format!("target=localhost:{port}"),
    ] {
        let (status, body) = try_connect(relay.addr, &query, None).await.err().unwrap();
        assert_eq!(status, 404, "{query}");
        assert!(
            body.contains("chosen by name, never by host or port"),
            "{body}"
        );
    }
    // Nobody connected to the listener.
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "the relay connected to a host:port");
}

#[tokio::test]
async fn a_missing_target_is_a_400() {
    let relay = start(test_config(), &[]).await;
    let (status, body) = try_connect(relay.addr, "x=1", None).await.err().unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("missing ?target=NAME"), "{body}");
}

#[tokio::test]
async fn a_foreign_origin_is_refused_with_403() {
    let relay = start(test_config(), &[]).await;
    let (status, body) = try_connect(relay.addr, "target=echo", Some("https://evil.example"))
        .await
        .err()
        .unwrap();
    assert_eq!(status, 403);
    assert!(
        body.contains("origin https://evil.example is not allowed"),
        "{body}"
    );
    assert_eq!(relay.metrics.refused(), 1);
}

#[tokio::test]
async fn the_same_origin_and_the_trunk_dev_server_are_allowed() {
    let relay = start(test_config(), &[]).await;
    let same = format!("http://{}", relay.addr);
    for origin in [
        same.as_str(),
        "http://127.0.0.1:8080",
        "http://localhost:8080",
    ] {
        let mut ws = try_connect(relay.addr, "target=echo", Some(origin))
            .await
            .unwrap_or_else(|e| panic!("{origin}: {e:?}"));
        send(&mut ws, b"").await;
        assert_eq!(read_to_close(&mut ws).await.close_code(), Some(1000));
    }
}

#[tokio::test]
async fn sessions_over_the_limit_are_refused_with_503() {
    let config = relay::config::RelayConfig {
        max_sessions: 2,
        ..test_config()
    };
    let relay = start(config, &[]).await;
    let _a = connect(relay.addr, "echo").await;
    let _b = connect(relay.addr, "echo").await;
    let (status, body) = try_connect(relay.addr, "target=echo", None)
        .await
        .err()
        .unwrap();
    assert_eq!(status, 503);
    assert!(body.contains("--max-sessions 2"), "{body}");
}

#[tokio::test]
async fn a_target_that_is_not_listening_closes_with_1011_and_the_reason() {
    // A socket bound but not listening: the port stays ours (no other test
    // can be given it) and connecting to it is refused.
    let reserved =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    reserved
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    let port = reserved.local_addr().unwrap().as_socket().unwrap().port();
    let dead = format!("127.0.0.1:{port}").parse().unwrap();
    // The address only with --show-addresses, as in /targets.
    for show_addresses in [false, true] {
        let config = relay::config::RelayConfig {
            show_addresses,
            ..test_config()
        };
        let relay = start(config, &[("dead", dead)]).await;
        let mut ws = connect(relay.addr, "dead").await;
        let received = read_to_close(&mut ws).await;
        assert_eq!(received.close_code(), Some(1011));
        let shown = match show_addresses {
            true => format!("127.0.0.1:{port}"),
            false => relay::bridge::HIDDEN_ADDRESS.to_owned(),
        };
        assert_eq!(
            received.close_reason(),
            format!("connection refused: {shown}")
        );
    }
}

#[tokio::test]
async fn a_target_that_resets_mid_reply_closes_with_1011() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 5];
        stream.read_exact(&mut request).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, b"\x00\x40{\"byteorder\": \"lit")
            .await
            .unwrap();
        // Linger 0: dropping sends RST instead of FIN.
        let stream = stream.into_std().unwrap();
        socket2::SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(stream);
    });
    let relay = start(test_config(), &[("flaky", target)]).await;
    let mut ws = connect(relay.addr, "flaky").await;
    send(&mut ws, b"hello").await;
    let received = read_to_close(&mut ws).await;
    assert_eq!(received.close_code(), Some(1011));
    assert_eq!(received.close_reason(), "connection reset");
    // What arrived before the reset was delivered as it was.
    let got = received.bytes();
    assert!(
        b"\x00\x40{\"byteorder\": \"lit".starts_with(&got),
        "{got:?}"
    );
}

#[tokio::test]
async fn targets_and_healthz_are_json() {
    let relay = start(test_config(), &[]).await;
    let (status, body) = http_get(relay.addr, "/targets", &[]).await;
    assert_eq!(status, 200);
    let targets: serde_json::Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = targets
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "app",
            "blackhole",
            "close",
            "echo",
            "fixed",
            "lines",
            "multiconn",
            "prefix",
            "refused",
            "reset"
        ]
    );
    assert!(targets[0]["description"]
        .as_str()
        .unwrap()
        .starts_with("the tutorial's application server"));
    // Addresses only with --show-addresses (see relay_hardening.rs).
    assert!(targets[0].get("address").is_none(), "{targets}");

    let (status, body) = http_get(relay.addr, "/healthz", &[]).await;
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["sessions"], 0);
}

#[tokio::test]
async fn limits_tell_the_page_the_configured_message_size() {
    let config = relay::config::RelayConfig {
        max_message_size: 4096,
        ..test_config()
    };
    let relay = start(config, &[]).await;
    let (status, body) = http_get(relay.addr, protocol::relay_api::LIMITS_PATH, &[]).await;
    assert_eq!(status, 200);
    let limits = protocol::relay_api::Limits::from_json(&body).unwrap();
    assert_eq!(
        limits,
        protocol::relay_api::Limits {
            max_message_size: 4096
        }
    );
    assert_eq!(body, r#"{"max_message_size":4096}"#);
}
