//! Watch your own client end to end: the relay exposes its app server
//! (`--expose`), the page's Watch tab opens the watch stream, and a Python
//! client in the tutorial's style (relay/tests/python/watch_client.py)
//! connects: the page shows it arrive, the decoded request, the reply's
//! bytes in the server's log, and every byte the server received in the
//! hex view. Screenshots at 1280×800 and 390×844 go to `target/screenshots/`.

use std::net::SocketAddr;

use e2e::harness::{run_exposing, workspace};
use e2e::page::{click, open, screenshot_both, wait_text};
use fantoccini::{Client, Locator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_arrives_in_the_watch_tab_with_its_request_and_the_reply() {
    run_exposing(&["app"], scenarios).await;
}

/// Runs the Python client against `server`: (its address, the bytes it sent).
async fn python_client(server: SocketAddr) -> (String, Vec<u8>) {
    let output = tokio::process::Command::new("python3")
        .arg(workspace().join("relay/tests/python/watch_client.py"))
        .args([
            server.ip().to_string(),
            server.port().to_string(),
            "search".into(),
            "morpheus".into(),
            "0.2".into(),
        ])
        .output()
        .await
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON line");
    let hex = line["sent"].as_str().unwrap();
    let sent = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    (line["local"].as_str().unwrap().to_owned(), sent)
}

async fn scenarios(c: &Client, relay: SocketAddr, exposed: Vec<SocketAddr>) {
    let app = exposed[0];
    open(c, relay, "").await;
    click(c, "#tab-watch").await;
    let command = wait_text(c, "#watch-command", |t| !t.is_empty()).await;
    assert_eq!(
        command,
        format!(
            "python3 app-client.py 127.0.0.1 {} search morpheus",
            app.port()
        )
    );
    wait_text(c, "#watch-status", |t| t.starts_with("watching")).await;

    let (local, sent) = python_client(app).await;
    let arrivals = wait_text(c, "#watch-arrivals", |t| t.contains(&local)).await;
    assert_eq!(arrivals, format!("#1 from {local}"));
    let accept = wait_text(c, "#server-accept", |t| !t.is_empty()).await;
    assert_eq!(accept, format!("accept() → a connection from {local}"));
    let request = wait_text(c, ".server-request", |t| t.contains("morpheus")).await;
    assert!(
        request.contains("{'action': 'search', 'value': 'morpheus'}"),
        "{request}"
    );
    // Ten bytes, a pause, the rest: the decoder waited, then had it whole.
    let recvs = wait_text(c, "#server-recvs", |t| {
        t.contains("a whole request; nothing more buffered")
    })
    .await;
    assert!(recvs.contains("10 B"), "{recvs}");
    assert!(recvs.contains("JSON header: 8 of"), "{recvs}");
    let log = wait_text(c, "#server-log", |t| t.contains("Closing connection")).await;
    assert!(
        log.contains("Sending b'") && log.contains("Follow the white rabbit."),
        "the reply's bytes, as the server logs them: {log}"
    );
    let calls = wait_text(c, "#server-calls", |t| t.contains("close()")).await;
    assert!(
        calls.contains(&format!("→ {} B", sent.len() - 10)),
        "{calls}"
    );
    let server_row = wait_text(c, "#sock-server", |t| t.contains(&local)).await;
    assert!(server_row.contains(&app.to_string()), "{server_row}");

    // Every byte the server received, in the hex view.
    let first_row = c
        .find(Locator::Css("#hex-watch .hex-row:first-child .hx"))
        .await
        .expect("a hex row")
        .text()
        .await
        .unwrap();
    let shown: Vec<&str> = first_row.split_whitespace().collect();
    let expected: Vec<String> = sent
        .iter()
        .take(shown.len())
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!shown.is_empty());
    assert_eq!(shown, expected);
    screenshot_both(c, "watch", "#watch").await;

    // The next client is the newest, and shown.
    let (second, _) = python_client(app).await;
    wait_text(c, "#watch-server-h", |t| t == "Server: connection #2").await;
    let arrivals = wait_text(c, "#watch-arrivals", |t| t.contains(&second)).await;
    assert!(
        arrivals.starts_with(&format!("#2 from {second}")),
        "{arrivals}"
    );
}
