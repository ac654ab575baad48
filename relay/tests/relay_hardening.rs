//! What a stranger's page or request cannot make the relay do (issue #13):
//! answer a DNS-rebinding page (its own name resolved to the relay), accept
//! two `Host`s, hand out target addresses unasked, or write a log as large
//! as what it sends (that one is `relay_logs.rs`: a test binary of its
//! own, as a thread-scoped subscriber wants).

mod support;

use support::*;

const API: [&str; 3] = ["/ws?target=app", "/targets", "/limits"];

#[tokio::test]
async fn a_rebinding_page_gets_421_whatever_its_origin() {
    let relay = start(test_config(), &[]).await;
    let port = relay.addr.port();
    let evil = format!("evil.example:{port}");
    for path in API {
        for origin in [
            format!("Origin: http://{evil}"),
            format!("Origin: http://127.0.0.1:{port}"),
            "X-No-Origin: 1".to_owned(),
        ] {
            let request = upgrade_request(path, &[&format!("Host: {evil}"), &origin]);
            let (status, response) = raw_request(relay.addr, &request).await;
            assert_eq!(status, 421, "{path} {origin}: {response}");
            assert!(response.contains("does not answer to Host"), "{response}");
        }
    }
    // The relay's own names still work, with or without the same Origin.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        let origin = format!("Origin: http://{host}");
        let ws = upgrade_request("/ws?target=echo", &[&format!("Host: {host}"), &origin]);
        assert_eq!(raw_request(relay.addr, &ws).await.0, 101, "{host}");
        let get = upgrade_request("/targets", &[&format!("Host: {host}")]);
        assert_eq!(raw_request(relay.addr, &get).await.0, 200, "{host}");
    }
    // /healthz and static files are not behind the check.
    let health = upgrade_request("/healthz", &[&format!("Host: {evil}")]);
    assert_eq!(raw_request(relay.addr, &health).await.0, 200);
}

#[tokio::test]
async fn an_https_origin_is_not_the_same_as_a_plain_http_relay() {
    let relay = start(test_config(), &[]).await;
    let https = format!("https://{}", relay.addr);
    let (status, body) = try_connect(relay.addr, "target=echo", Some(&https))
        .await
        .err()
        .unwrap();
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn a_public_origin_is_the_relays_own_and_its_host_accepted() {
    let config = relay::config::RelayConfig {
        public_origins: vec!["https://wirelab.example.edu".into()],
        ..test_config()
    };
    let relay = start(config, &[]).await;
    let host = "Host: wirelab.example.edu";
    let ok = upgrade_request(
        "/ws?target=echo",
        &[host, "Origin: https://wirelab.example.edu"],
    );
    assert_eq!(raw_request(relay.addr, &ok).await.0, 101);
    let http = upgrade_request(
        "/ws?target=echo",
        &[host, "Origin: http://wirelab.example.edu"],
    );
    assert_eq!(raw_request(relay.addr, &http).await.0, 403);
    let other = upgrade_request("/targets", &["Host: other.example.edu"]);
    assert_eq!(raw_request(relay.addr, &other).await.0, 421);
}

#[tokio::test]
async fn two_host_headers_or_none_are_refused_with_400() {
    let relay = start(test_config(), &[]).await;
    let own = format!("Host: {}", relay.addr);
    for path in API {
        let two = upgrade_request(path, &[&own, &own]);
        let (status, response) = raw_request(relay.addr, &two).await;
        assert_eq!(status, 400, "{path}: {response}");
        assert!(response.contains("more than one Host"), "{response}");
        let none = upgrade_request(path, &[]);
        assert_eq!(raw_request(relay.addr, &none).await.0, 400, "{path}");
    }
}

#[tokio::test]
async fn targets_show_addresses_only_with_show_addresses() {
    for show in [false, true] {
        let config = relay::config::RelayConfig {
            show_addresses: show,
            ..test_config()
        };
        let relay = start(config, &[]).await;
        let (status, body) = http_get(relay.addr, "/targets", &[]).await;
        assert_eq!(status, 200);
        let targets: serde_json::Value = serde_json::from_str(&body).unwrap();
        let address = targets[0].get("address").and_then(|a| a.as_str());
        // Nor does a description name an address (the embedded servers' ports
        // or a --target's HOST:PORT) without --show-addresses.
        let port = |s: &str| s.contains("127.0.0.1") || s.contains("localhost");
        for t in targets.as_array().unwrap() {
            assert!(!port(t["description"].as_str().unwrap()), "{body}");
        }
        match show {
            false => assert_eq!(address, None, "{body}"),
            true => assert!(address.unwrap().starts_with("127.0.0.1:"), "{body}"),
        }
    }
}

/// RFC 6455 4.2.1: the key is the base64 of a 16-byte nonce; an upgrade
/// with an empty, non-base64, wrong-length or doubled key gets 400.
#[tokio::test]
async fn a_websocket_key_that_is_not_16_bytes_of_base64_is_refused_with_400() {
    let relay = start(test_config(), &[]).await;
    let host = format!("Host: {}", relay.addr);
    let with_key = |key: Option<&str>| {
        let mut request = upgrade_request("/ws?target=echo", &[&host]);
        let good = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
        let line = key.map_or(String::new(), |k| format!("Sec-WebSocket-Key: {k}\r\n"));
        request = request.replace(good, &line);
        request
    };
    for bad in [
        Some(""),
        Some("not base64 at all!"),
        Some("dGhlIHNhbXBsZQ=="),                 // 10 bytes
        Some("dGhlIHNhbXBsZSBub25jZSBub25jZQ=="), // 22 bytes
        Some("dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="),
    ] {
        let (status, response) = raw_request(relay.addr, &with_key(bad)).await;
        assert_eq!(status, 400, "{bad:?}: {response}");
    }
    let (status, response) =
        raw_request(relay.addr, &with_key(Some("dGhlIHNhbXBsZSBub25jZQ=="))).await;
    assert_eq!(status, 101, "{response}");
}
