//! Graceful shutdown, in-process and for the `relay` binary (SIGTERM), and
//! the binary's embedded targets and `--tap`.

mod support;

use std::process::Stdio;

use protocol::encode;
use support::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

#[tokio::test]
async fn shutdown_closes_open_sessions_with_1001_and_serve_returns() {
    let relay = start(test_config(), &[]).await;
    let mut a = connect(relay.addr, "echo").await;
    let mut b = connect(relay.addr, "app").await;
    send(&mut a, b"ping").await;
    eventually(|| relay.metrics.active_sessions() == 2).await;
    relay.shutdown.cancel();
    for ws in [&mut a, &mut b] {
        let received = read_to_close(ws).await;
        assert_eq!(received.close_code(), Some(1001));
        assert_eq!(received.close_reason(), "relay shutting down");
    }
    within(relay.served).await.unwrap().unwrap();
    assert_eq!(relay.metrics.active_sessions(), 0);
    // `serve` returned, so its listener is closed. (Connecting to the port
    // again proves nothing: another test may already have been given it.)
}

struct Running {
    child: Child,
    lines: tokio::io::Lines<BufReader<ChildStdout>>,
    addr: std::net::SocketAddr,
    seen: Vec<String>,
}

impl Running {
    async fn start(args: &[&str]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_relay"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--dist",
                "/nonexistent-wirelab-dist",
            ])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("relay binary");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = Vec::new();
        let addr = within(async {
            loop {
                let line = lines
                    .next_line()
                    .await
                    .unwrap()
                    .expect("relay exited early");
                seen.push(line.clone());
                if let Some(rest) = line.strip_prefix("relay listening on http://") {
                    break rest.split('/').next().unwrap().parse().unwrap();
                }
            }
        })
        .await;
        Running {
            child,
            lines,
            addr,
            seen,
        }
    }

    /// Reads output until a line contains `needle`.
    async fn wait_for(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        within(async {
            loop {
                let line = self
                    .lines
                    .next_line()
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("output ended before {needle:?}"));
                self.seen.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
        })
        .await
    }
}

#[tokio::test]
async fn the_binary_embeds_app_and_echo_taps_frames_and_exits_0_on_sigterm() {
    let mut relay = Running::start(&["--tap"]).await;

    let (status, body) = http_get(relay.addr, "/targets", &[]).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("\"name\":\"app\"") && body.contains("\"name\":\"echo\""),
        "{body}"
    );

    let frame = encode(&protocol::app::request("search", "morpheus"))
        .unwrap()
        .bytes;
    let mut ws = connect(relay.addr, "app").await;
    send(&mut ws, &frame).await;
    let received = read_to_close(&mut ws).await;
    assert_eq!(received.close_code(), Some(1000));
    let tapped = relay
        .wait_for("tap session 1 browser → app: message {'action': 'search', 'value': 'morpheus'}")
        .await;
    assert!(
        tapped.ends_with(&protocol::python::python_bytes_repr(&frame)),
        "{tapped}"
    );
    relay
        .wait_for("tap session 1 app → browser: message {'result': 'Follow the white rabbit. 🐰'}")
        .await;
    let ended = relay.wait_for("session 1 ended").await;
    assert!(
        ended.contains("closed with 1000 \"upstream closed\""),
        "{ended}"
    );

    // A session open at SIGTERM gets 1001 and the process exits 0.
    let mut open = connect(relay.addr, "echo").await;
    send(&mut open, b"hi").await;
    let echoed = within(futures_util::StreamExt::next(&mut open)).await;
    assert_eq!(
        echoed.unwrap().unwrap(),
        tokio_tungstenite::tungstenite::Message::binary(b"hi".to_vec())
    );
    let pid = relay.child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let received = read_to_close(&mut open).await;
    assert_eq!(received.close_code(), Some(1001));
    assert_eq!(received.close_reason(), "relay shutting down");
    let status = within(relay.child.wait()).await.unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn a_bad_target_argument_is_a_one_line_error() {
    let output = within(
        Command::new(env!("CARGO_BIN_EXE_relay"))
            .args(["--listen", "127.0.0.1:0", "--target", "nope"])
            .output(),
    )
    .await
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("target \"nope\" is not NAME=HOST:PORT"),
        "{stderr}"
    );
}

#[tokio::test]
async fn no_embedded_serves_only_the_given_targets() {
    let output = within(
        Command::new(env!("CARGO_BIN_EXE_relay"))
            .args(["--listen", "127.0.0.1:0", "--no-embedded"])
            .output(),
    )
    .await
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no targets"), "{stderr}");

    let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("py-app={}", upstream.local_addr().unwrap());
    let mut relay = Running::start(&["--no-embedded", "--target", &target]).await;
    let (_, body) = http_get(relay.addr, "/targets", &[]).await;
    let targets: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(targets.as_array().unwrap().len(), 1, "{body}");
    assert_eq!(targets[0]["name"], "py-app");
    let (status, _) = http_get(relay.addr, "/ws?target=app", &[]).await;
    assert_eq!(status, 404);
    relay.child.start_kill().unwrap();
    let _ = within(relay.child.wait()).await;
}
