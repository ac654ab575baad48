//! The playground's files: served from the dist directory with the right
//! content types, as the precompressed copies a release build made when the
//! browser accepts them (issue #13: never compressed per request).

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

/// What a release build leaves beside a file (Trunk.toml's hook): the
/// copies' bytes here only need to differ from the file and each other,
/// since the relay must send them as they are.
fn precompress(dist: &std::path::Path, name: &str) {
    let file = std::fs::read(dist.join(name)).unwrap();
    for ext in ["gz", "br"] {
        let mut copy = format!("{ext} copy of {name}: ").into_bytes();
        copy.extend_from_slice(&file[..64]);
        std::fs::write(dist.join(format!("{name}.{ext}")), copy).unwrap();
    }
}

#[tokio::test]
async fn precompressed_copies_are_served_as_they_are_to_browsers_that_accept_them() {
    let dist = dist_dir();
    precompress(&dist, "web_bg.wasm");
    precompress(&dist, "index.html");
    let addr = serve(dist.clone()).await;
    for (path, file) in [("/web_bg.wasm", "web_bg.wasm"), ("/", "index.html")] {
        for (accept, ext) in [("gzip", "gz"), ("br", "br"), ("br, gzip", "br")] {
            let (status, head, body) =
                http_get_full(addr, path, &[("Accept-Encoding", accept)]).await;
            assert_eq!(status, 200);
            let encoding = if ext == "gz" { "gzip" } else { "br" };
            assert!(
                head.contains(&format!("content-encoding: {encoding}")),
                "{path} {accept}: {head}"
            );
            assert!(head.contains("vary: accept-encoding"), "{head}");
            let copy = std::fs::read(dist.join(format!("{file}.{ext}"))).unwrap();
            assert_eq!(body, copy, "{path} {accept}");
        }
    }
    let (_, head, _) = http_get_full(addr, "/web_bg.wasm", &[]).await;
    assert!(head.contains("content-type: application/wasm"), "{head}");
    std::fs::remove_dir_all(dist).unwrap();
}

#[tokio::test]
async fn without_a_copy_or_an_accepted_encoding_the_file_goes_as_it_is() {
    let dist = dist_dir();
    precompress(&dist, "web_bg.wasm");
    let addr = serve(dist.clone()).await;
    // No .gz of web.js: nothing is compressed per request.
    let (status, head, body) =
        http_get_full(addr, "/web.js", &[("Accept-Encoding", "gzip, br")]).await;
    assert_eq!(status, 200);
    assert!(!head.contains("content-encoding"), "{head}");
    assert_eq!(body, std::fs::read(dist.join("web.js")).unwrap());
    // A browser that accepts neither gets the file.
    for accept in [None, Some("identity"), Some("deflate")] {
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("Accept-Encoding", a)).into_iter().collect();
        let (status, head, body) = http_get_full(addr, "/web_bg.wasm", &headers).await;
        assert_eq!(status, 200);
        assert!(!head.contains("content-encoding"), "{accept:?}: {head}");
        assert!(head.contains("vary: accept-encoding"), "{head}");
        assert_eq!(body, std::fs::read(dist.join("web_bg.wasm")).unwrap());
    }
    std::fs::remove_dir_all(dist).unwrap();
}
