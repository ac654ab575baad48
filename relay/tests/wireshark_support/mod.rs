//! What the capture and recording tests share: running Wireshark's tools,
//! following a capture's TCP stream, fresh directories, and reading an
//! observed session to its close.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use futures_util::StreamExt;
use protocol::relay_api::Observation;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{within, Received, Ws};

/// Runs a Wireshark tool; returns stdout, failing on an exit status or on
/// any stderr line but the warning about running as root.
pub fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().expect(tool);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let unexpected: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with("Running as user \"root\""))
        .collect();
    assert!(
        out.status.success() && unexpected.is_empty(),
        "{tool} {args:?}: {}\n{stderr}",
        out.status
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// `tshark -z follow,tcp,raw,0`: the bytes (relay → target, target → relay).
pub fn follow(file: &Path) -> (Vec<u8>, Vec<u8>) {
    let out = run(
        "tshark",
        &["-r", file.to_str().unwrap(), "-q", "-z", "follow,tcp,raw,0"],
    );
    let (mut up, mut down) = (Vec::new(), Vec::new());
    let mut inside = false;
    for line in out.lines() {
        if line.starts_with("Node 1:") {
            inside = true;
            continue;
        }
        if !inside || line.starts_with("====") || line.is_empty() {
            continue;
        }
        let (to, hex) = match line.strip_prefix('\t') {
            Some(hex) => (&mut down, hex),
            None => (&mut up, line),
        };
        for i in (0..hex.len()).step_by(2) {
            to.push(u8::from_str_radix(&hex[i..i + 2], 16).expect(line));
        }
    }
    (up, down)
}

/// An empty directory of its own under the temporary directory, named
/// `wirelab-KIND-PID-N`.
pub fn fresh_dir(kind: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "wirelab-{kind}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Reads binary and text messages to the close frame (answering it).
pub async fn read_observed_to_close(ws: &mut Ws) -> (Received, Vec<Observation>) {
    let mut received = Received {
        messages: Vec::new(),
        close: None,
    };
    let mut observed = Vec::new();
    within(async {
        while let Some(message) = ws.next().await {
            match message.expect("no websocket error") {
                Message::Binary(bytes) => received.messages.push(bytes.to_vec()),
                Message::Text(text) => observed
                    .push(Observation::from_json(&text).unwrap_or_else(|e| panic!("{text}: {e}"))),
                Message::Close(frame) => {
                    received.close = frame;
                    break;
                }
                _ => {}
            }
        }
    })
    .await;
    within(async { while let Some(Ok(_)) = ws.next().await {} }).await;
    (received, observed)
}
