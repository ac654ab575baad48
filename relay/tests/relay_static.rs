//! The playground's files: served from the dist directory with the right
//! content types, compressed when the browser accepts it.

mod support;

use std::path::PathBuf;

use relay::server::Relay;
use relay::targets::Targets;
use support::*;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

fn dist_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "wirelab-relay-static-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>wirelab</title>".repeat(50),
    )
    .unwrap();
    // A wasm module's magic number and version, then padding.
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.resize(4096, 0);
    std::fs::write(dir.join("web_bg.wasm"), wasm).unwrap();
    std::fs::write(dir.join("web.js"), "export function run() {}\n".repeat(100)).unwrap();
    dir
}

async fn serve(dist: PathBuf) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let relay = Relay::new(support::test_config(), Targets::new(), Some(dist));
    tokio::spawn(relay.serve(listener, CancellationToken::new()));
    addr
}

#[tokio::test]
async fn files_are_served_with_their_content_types() {
    let dist = dist_dir();
    let addr = serve(dist.clone()).await;

    let (status, head, body) = http_get_full(addr, "/", &[]).await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/html"), "{head}");
    assert!(String::from_utf8_lossy(&body).starts_with("<!doctype html>"));

    let (status, head, body) = http_get_full(addr, "/web_bg.wasm", &[]).await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: application/wasm"), "{head}");
    assert_eq!(&body[..4], b"\0asm");

    let (status, head, _) = http_get_full(addr, "/web.js", &[]).await;
    assert_eq!(status, 200);
    assert!(head.contains("content-type: text/javascript"), "{head}");

    let (status, _, _) = http_get_full(addr, "/missing.txt", &[]).await;
    assert_eq!(status, 404);
    std::fs::remove_dir_all(dist).unwrap();
}

#[tokio::test]
async fn files_are_compressed_when_the_browser_accepts_it() {
    let dist = dist_dir();
    let addr = serve(dist.clone()).await;
    for (encoding, expected) in [
        ("gzip", "content-encoding: gzip"),
        ("br", "content-encoding: br"),
    ] {
        let (status, head, body) =
            http_get_full(addr, "/web_bg.wasm", &[("Accept-Encoding", encoding)]).await;
        assert_eq!(status, 200);
        assert!(head.contains(expected), "{head}");
        assert!(head.contains("content-type: application/wasm"), "{head}");
        // 4 KiB of mostly zeros compresses to far less; chunked framing included.
        assert!(body.len() < 1024, "{} bytes", body.len());
    }
    std::fs::remove_dir_all(dist).unwrap();
}
