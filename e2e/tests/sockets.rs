//! The kernel's socket states in the page (issue 21 item 3): Close on an
//! echo session lights the relay's path to TIME_WAIT in the TCP state
//! diagram; Close during a flood to `blackhole` reaches the relay ahead of
//! the flood's queued bytes (`POST /ws/close`), so the table shows the
//! relay's FIN stuck in FIN_WAIT1 and the status says closed. Screenshots of
//! the Sockets panel at 1280 and 390 px, light and dark, go to
//! `target/screenshots/sockets-*.png`.

use std::net::SocketAddr;
use std::time::Instant;

use e2e::harness::run;
use e2e::page::{click, color_scheme, open, screenshot_both, wait_text};
use fantoccini::Client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_shows_the_kernels_states_after_it_even_during_a_flood() {
    run(scenarios).await;
}

async fn scenarios(c: &Client, relay: SocketAddr) {
    // Echo keeps its connection open: Close makes the relay the side that
    // closes first, and its socket ends in TIME_WAIT once echo closes too.
    open(c, relay, "p=morpheus&t=echo").await;
    click(c, "#send").await;
    wait_text(c, "#sock-relay .state", |t| t.starts_with("ESTABLISHED")).await;
    click(c, "#close").await;
    let path = wait_text(c, "#tcp-relay .tcp-path", |t| t.ends_with("TIME_WAIT")).await;
    assert!(
        path.starts_with("CLOSED → SYN_SENT* → ESTABLISHED"),
        "{path}"
    );
    let server = wait_text(c, "#tcp-server .tcp-path", |t| t.ends_with("CLOSED")).await;
    assert!(server.contains("CLOSE_WAIT"), "{server}");
    let status = wait_text(c, "#conn-state", |t| t.contains("closed")).await;
    assert!(status.contains("closed as the browser asked"), "{status}");
    assert!(wait_text(c, "#sock-relay .state", |t| !t.is_empty())
        .await
        .starts_with("TIME_WAIT"));
    for scheme in ["light", "dark"] {
        color_scheme(c, scheme).await;
        screenshot_both(c, &format!("sockets-close-{scheme}"), "#sockets-h").await;
    }
    color_scheme(c, "light").await;

    // Flood to blackhole, then Close: the close frame would wait behind the
    // megabytes the browser holds; the page asks the relay out of band.
    flood_blackhole(c, relay).await;
    let clicked = Instant::now();
    click(c, "#close").await;
    // The status changes at once: the page knows it asked.
    wait_text(c, "#conn-state", |t| {
        t.starts_with("closing") || t.contains("closed")
    })
    .await;
    let status_changed = clicked.elapsed();
    let relay_state = wait_text(c, "#sock-relay .state", |t| t.starts_with("FIN_WAIT1")).await;
    let table_after = clicked.elapsed();
    let status = wait_text(c, "#conn-state", |t| t.contains("closed")).await;
    let status_after = clicked.elapsed();
    // The relay's close frame arrives; the browser's reply is stuck behind
    // its queued bytes, so it may report 1006, and the page says why.
    assert!(
        status.contains("closed as the browser asked")
            || status.contains("the relay closed as you asked"),
        "{status}"
    );
    // The relay's FIN waits behind what blackhole never read.
    let send_q = wait_text(c, "#sock-relay .send-q", |t| !t.is_empty()).await;
    assert!(
        send_q.parse::<u64>().unwrap_or(0) > 0,
        "{relay_state} {send_q}"
    );
    eprintln!(
        "flood then Close: status changed after {status_changed:?}, FIN_WAIT1 shown after \
         {table_after:?}, status closed after {status_after:?}"
    );
    for scheme in ["light", "dark"] {
        color_scheme(c, scheme).await;
        screenshot_both(c, &format!("sockets-flood-close-{scheme}"), "#sockets-h").await;
    }

    send_while_the_last_session_closes(c, relay).await;
}

/// Send pressed while the last session is still closing opens a new
/// session: the message does not go into the closing one. A flooded
/// session to blackhole closes slowly (its FIN waits behind what blackhole
/// never read, and the relay follows it for `--observe-close-follow`),
/// so there is time to press Send while it closes.
async fn send_while_the_last_session_closes(c: &Client, relay: SocketAddr) {
    flood_blackhole(c, relay).await;
    click(c, "#close").await;
    wait_text(c, "#conn-state", |t| t.starts_with("closing")).await;
    click(c, "#send").await;
    wait_text(c, "#conn-state", |t| t.starts_with("connected")).await;
    let transcript = wait_text(c, "#transcript", |t| t.contains("sent 143 bytes")).await;
    // A new session: its transcript starts over, without the flood or its close.
    assert!(!transcript.contains("flooded"), "{transcript}");
    assert!(!transcript.contains("browser closed"), "{transcript}");
}

/// A Flood to blackhole, until the browser holds over a megabyte it cannot
/// send (blackhole never reads).
async fn flood_blackhole(c: &Client, relay: SocketAddr) {
    open(c, relay, "p=morpheus&t=blackhole").await;
    click(c, "#flood").await;
    wait_text(c, "#sock-browser", |t| {
        t.split_whitespace()
            .find_map(|w| w.replace(',', "").parse::<u64>().ok())
            .is_some_and(|n| n > 1_000_000)
    })
    .await;
}
