//! The framing lab in real Chromium against the relay's real framing
//! servers (issue 14): one payload sent the four ways, what each column
//! says came back, the server's cuts, the until-EOF server answering only
//! after the Half-close button, and each failure preset's explanation.
//! Screenshots at 1280×800 and 390×844 go to `target/screenshots/`.

use std::net::SocketAddr;

use e2e::harness::run;
use e2e::page::{click, open, screenshot, wait_text};
use fantoccini::Client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_payload_sent_four_ways_shows_each_servers_cuts_waits_and_replies() {
    run(scenarios).await;
}

/// Sends the payload a preset sets, the four ways.
async fn send_preset(c: &Client, preset: &str) {
    click(c, &format!("#preset-{preset}")).await;
    click(c, "#framing-send").await;
}

async fn scenarios(c: &Client, relay: SocketAddr) {
    open(c, relay, "").await;
    click(c, "#tab-framing").await;
    screenshot(c, "framing-tabs", "nav.tabs").await;

    // "Hello, world", 12 bytes, in the lab's default 4-byte segments.
    send_preset(c, "hello").await;
    let fixed = wait_text(c, "#col-fixed .replies", |t| t.len() > 3).await;
    assert_eq!(fixed, r"b'Hello, world\x00\x00\x00\x00'");
    let cuts = wait_text(c, "#col-fixed .cuts", |t| t.starts_with("bytes")).await;
    assert_eq!(
        cuts,
        r"bytes 0..16: b'Hello, world\x00\x00\x00\x00' (16 bytes)"
    );
    let explain = wait_text(c, "#col-fixed .explain", |t| !t.is_empty()).await;
    assert!(
        explain.contains("padded it with 4 zero bytes to 16"),
        "{explain}"
    );
    let lines = wait_text(c, "#col-lines .replies", |t| t.len() > 3).await;
    assert_eq!(lines, r"b'Hello, world\n'");
    let prefix = wait_text(c, "#col-prefix .replies", |t| t.len() > 3).await;
    assert_eq!(prefix, r"b'\x00\x0cHello, world'");
    let waits = wait_text(c, "#col-prefix .waits", |t| t.starts_with("length")).await;
    assert_eq!(waits, "length prefix: 0 of 2 bytes");

    // Until EOF: all 12 bytes are at the server, and it cannot answer.
    let waits = wait_text(c, "#col-close .waits", |t| t.contains("12 bytes")).await;
    assert_eq!(
        waits,
        "the sender's FIN (shutdown SHUT_WR): 12 bytes so far"
    );
    let explain = wait_text(c, "#col-close .explain", |t| !t.is_empty()).await;
    assert!(
        explain
            .starts_with("The server holds all 12 bytes but cannot know the message is complete"),
        "{explain}"
    );
    assert_eq!(
        wait_text(c, "#col-close h4:nth-of-type(4)", |_| true).await,
        "Came back: 0 bytes"
    );
    screenshot(c, "framing-before-half-close", "#framing-lab").await;
    click(c, "#half-close").await;
    let close = wait_text(c, "#col-close .replies", |t| t.len() > 3).await;
    assert_eq!(close, "b'Hello, world'");
    let explain = wait_text(c, "#col-close .explain", |t| t.contains("half-closed")).await;
    assert!(explain.contains("recv() returned b''"), "{explain}");
    let waits = wait_text(c, "#col-close .waits", |t| t.starts_with("nothing")).await;
    assert_eq!(waits, "nothing: it closed the connection");

    // A newline inside: the lines server cuts one payload in two.
    send_preset(c, "newline").await;
    let cuts = wait_text(c, "#col-lines .cuts", |t| t.lines().count() == 2).await;
    assert_eq!(
        cuts,
        "bytes 0..4: b'two' (3 bytes)\nbytes 4..10: b'lines' (5 bytes)"
    );
    let explain = wait_text(c, "#col-lines .explain", |t| t.contains("2 cut(s)")).await;
    assert!(
        explain.starts_with(r"The payload holds 1 b'\n' byte(s), sent as they are"),
        "{explain}"
    );
    let prefix_cuts = wait_text(c, "#col-prefix .cuts", |t| t.starts_with("bytes")).await;
    assert_eq!(prefix_cuts, r"bytes 0..11: b'two\nlines' (9 bytes)");
    screenshot(c, "framing-newline", "#col-lines").await;

    // Longer than the fixed length: sent whole, the server cuts the first
    // 16 and waits for the rest of a second message.
    send_preset(c, "too-long").await;
    let explain = wait_text(c, "#col-fixed .explain", |t| t.contains("It holds 6")).await;
    assert_eq!(
        explain,
        "The payload is 22 bytes, longer than the fixed 16: the browser sent all 22. The server cuts every 16 bytes, so the last 6 are to it the start of a second message. It holds 6 of that message's 16 bytes and waits for the other 10: nothing is dropped, and nothing comes back for them until more bytes arrive."
    );
    assert_eq!(
        wait_text(c, "#col-fixed .waits", |t| t.starts_with("message")).await,
        "message: 6 of 16 bytes"
    );
    assert_eq!(
        wait_text(c, "#col-fixed h4:nth-of-type(1)", |t| t.contains("22 of")).await,
        "Sent: 22 of 22 bytes"
    );
    let fixed = wait_text(c, "#col-fixed .replies", |t| t.len() > 3).await;
    assert_eq!(fixed, "b'Hello, world, an'");
    screenshot(c, "framing-1280", "#framing-lab").await;

    // The failure the close server stands for, as its own preset.
    send_preset(c, "no-fin").await;
    let explain = wait_text(c, "#col-close .explain", |t| t.contains("14 bytes")).await;
    assert!(explain.contains("it waits for the FIN"), "{explain}");

    c.set_window_size(390, 844)
        .await
        .expect("phone-sized window");
    screenshot(c, "framing-390", "nav.tabs").await;
    screenshot(c, "framing-390-close", "#col-close").await;
}
