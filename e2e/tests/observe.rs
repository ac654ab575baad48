//! Observed sessions end to end (issue 10): the page opens every session
//! with `observe=1`, and the relay reports both sockets of the connection.
//! A segmented send shows the app server's decoder waiting in the Server
//! panel; a flood to `blackhole` (a server that accepts and never reads)
//! shows its Recv-Q filling in the socket table. Screenshots of both at
//! 1280×800 go to `target/screenshots/`.

use std::net::SocketAddr;

use e2e::harness::run;
use e2e::page::{click, open, screenshot, wait_text};
use fantoccini::{Client, Locator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observed_sessions_show_the_servers_side_and_the_kernel_queues() {
    run(scenarios).await;
}

/// The page's target, to fail with the reason when the relay lacks one.
async fn picked_target(c: &Client) -> String {
    c.find(Locator::Css("#target"))
        .await
        .expect("the target picker")
        .prop("value")
        .await
        .expect("the picker's value")
        .unwrap_or_default()
}

/// The number a table cell shows (`–` before the first report: none).
fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

async fn scenarios(c: &Client, relay: SocketAddr) {
    // Segmented: the morpheus request in 10-byte segments, 50 ms apart.
    // Each recv() of the app server is a row with its decoder's state.
    open(c, relay, "p=morpheus&t=app&seg=10&d=50").await;
    click(c, "#send").await;
    let request = wait_text(c, ".server-request", |t| t.contains("'value': 'morpheus'")).await;
    assert!(request.contains("'action': 'search'"), "{request}");
    let recvs = wait_text(c, "#server-recvs", |t| {
        t.contains("a whole request; nothing more buffered")
    })
    .await;
    for state in [
        "JSON header: 8 of 100 bytes",
        "JSON header: 98 of 100 bytes",
        "content: 8 of 41 bytes",
        "content: 38 of 41 bytes",
    ] {
        assert!(recvs.contains(state), "no {state:?} in {recvs}");
    }
    let totals = wait_text(c, "#server-totals", |t| !t.is_empty()).await;
    assert!(totals.ends_with("143 bytes in all"), "{totals}");
    // The relay's socket and the server's are two ends of one connection:
    // each one's local address is the other's foreign address.
    let relay_row = wait_text(c, "#sock-relay", |t| t.contains("tcp")).await;
    let server_row = wait_text(c, "#sock-server", |t| t.contains("tcp")).await;
    let addresses = |row: &str| -> Vec<String> {
        row.split_whitespace()
            .filter(|w| w.contains(':') && w.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .map(str::to_owned)
            .collect()
    };
    let (r, s) = (addresses(&relay_row), addresses(&server_row));
    assert_eq!(r.len(), 2, "{relay_row}");
    assert_eq!(
        (r[0].as_str(), r[1].as_str()),
        (s[1].as_str(), s[0].as_str())
    );
    wait_text(c, "[data-testid=outcome]", |t| {
        t == "Got result: Follow the white rabbit. 🐰"
    })
    .await;
    screenshot(c, "observe-segmented", "#server-panel").await;

    // Flood: blackhole never calls recv(), so what the relay writes piles
    // up in the server's receive queue (then the relay's send queue).
    open(c, relay, "p=morpheus&t=blackhole").await;
    assert_eq!(
        picked_target(c).await,
        "blackhole",
        "the relay offers no blackhole target"
    );
    click(c, "#flood").await;
    let recv_q = wait_text(c, "#sock-server .recv-q", |t| {
        number(t).is_some_and(|n| n > 100_000)
    })
    .await;
    let status = wait_text(c, "#flood-status", |t| t.contains("offered")).await;
    assert!(status.contains("WebSocket.bufferedAmount"), "{status}");
    screenshot(c, "observe-flood", "#send-panel").await;
    click(c, "#stop-flood").await;
    let stopped = wait_text(c, "#flood-status", |t| !t.starts_with("flooding")).await;
    assert!(
        stopped.starts_with("stopped") || stopped.starts_with("the socket closed"),
        "{stopped}"
    );
    // The server still read nothing: its queue never shrinks.
    let later = wait_text(c, "#sock-server .recv-q", |t| number(t).is_some()).await;
    assert!(
        number(&later) >= number(&recv_q),
        "Recv-Q went from {recv_q} to {later}"
    );
    let totals = wait_text(c, "#server-totals", |t| !t.is_empty()).await;
    assert_eq!(totals, "0 recv() calls, 0 bytes in all");
}
