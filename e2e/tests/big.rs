//! Big messages end to end (issue 12, items 8 and 9): a 16 MiB file picked
//! in the composer is sent as binary content with its MIME type, cut into
//! WebSocket messages no larger than the relay's limit, goes through the
//! real relay to the real `echo` server and comes back decoded. Its link is
//! the short form, without the content, and the page says so.

use std::net::SocketAddr;
use std::time::Duration;

use e2e::harness::run;
use e2e::page::{click, open, screenshot, text_of, wait_text};
use fantoccini::{Client, Locator};
use protocol::python::python_bytes_repr;
use protocol::{encode, Message};

/// The relay's default `--max-message-size` (1 MiB): what the page must cut to.
const RELAY_LIMIT: usize = 1 << 20;
/// The decoder's default content limit, the largest message the page takes.
const SIZE: usize = 16 << 20;
/// Bytes the page spells out before counting the rest.
const SHOWN: usize = 4096;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_16_mib_file_goes_to_echo_in_relay_sized_messages_and_comes_back_decoded() {
    run(scenarios).await;
}

/// Bytes no compressor or coincidence makes regular: an xorshift stream.
fn file_bytes() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..SIZE)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Like `wait_text`, with room for 16 MiB to cross a busy machine twice.
async fn wait_long(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    for _ in 0..1200 {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            if let Ok(text) = el.text().await {
                if ok(&text) {
                    return text;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_text(c, css, ok).await
}

async fn scenarios(c: &Client, relay: SocketAddr) {
    let bytes = file_bytes();
    let dir = std::env::temp_dir().join(format!("wirelab-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("photo.png");
    std::fs::write(&path, &bytes).unwrap();

    open(c, relay, "p=morpheus&t=echo").await;
    c.find(Locator::Css("#file"))
        .await
        .expect("a file picker in the composer")
        .send_keys(path.to_str().unwrap())
        .await
        .expect("pick the file");
    let info = wait_long(c, "#file-info", |t| t.contains("bytes")).await;
    assert!(info.contains("\"photo.png\", 16777216 bytes"), "{info}");

    let message = Message::binary("image/png", bytes.clone()).with_byteorder("big");
    let frame = encode(&message).unwrap().bytes;
    let content_type = c
        .find(Locator::Css("#content-type"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(content_type.as_deref(), Some("image/png"));
    let status = wait_text(c, ".composer .status-line", |t| !t.is_empty()).await;
    assert!(
        status.contains(&format!("{} bytes, a valid frame", frame.len())),
        "{status}"
    );
    // The link carries the settings, not 16 MiB.
    let note = wait_text(c, "#link-note", |t| !t.is_empty()).await;
    assert!(note.contains("Too big for a link"), "{note}");
    let url = c.current_url().await.unwrap();
    let fragment = url.fragment().unwrap_or_default().to_owned();
    assert!(fragment.contains("cut=1"), "{fragment}");
    assert!(fragment.len() < 200, "a {}-byte link", fragment.len());

    let hint = text_of(c, "#segments-hint").await;
    let messages = frame.len().div_ceil(RELAY_LIMIT);
    assert!(
        hint.starts_with(&format!(
            "{} bytes go out as {messages} WebSocket messages, back to back: the relay takes \
             at most {RELAY_LIMIT} bytes in one message",
            frame.len()
        )),
        "{hint}"
    );
    click(c, "#send").await;
    let expected = format!(
        "Got response: {} … and {} more bytes",
        python_bytes_repr(&bytes[..SHOWN]),
        SIZE - SHOWN
    );
    let outcome = wait_long(c, "[data-testid=outcome]", |t| !t.is_empty()).await;
    assert_eq!(outcome, expected);
    let decoded = wait_text(c, ".decoded", |t| !t.is_empty()).await;
    assert!(
        decoded.contains(&format!("bytes 0..{} ({} B)", frame.len(), frame.len())),
        "{decoded}"
    );
    let received = wait_text(c, "#hex-in .hex-foot .count", |t| !t.is_empty()).await;
    assert_eq!(received, format!("{} bytes", frame.len()));

    // Sent in messages of at most the relay's limit (16 whole ones and the
    // rest), as the hint said before Send: the hint and the send come from
    // the same cut. (The transcript table shows only its newest events; the
    // echo's thousand reads push the sends out of it.) The server received
    // every byte of them.
    let server = wait_text(c, "#server-totals", |t| t.contains("bytes in all")).await;
    assert!(
        server.ends_with(&format!(", {} bytes in all", frame.len())),
        "{server}"
    );
    let state = wait_text(c, "#conn-state", |t| !t.is_empty()).await;
    assert!(!state.contains("1009"), "{state}");
    screenshot(c, "big-16mib-echo", "#decode").await;
    let _ = std::fs::remove_dir_all(&dir);

    // A file dropped on the composer: its MIME type becomes the content-type.
    open(c, relay, "p=morpheus&t=echo").await;
    c.execute(
        "const dt = new DataTransfer();
         dt.items.add(new File([new Uint8Array(1000).fill(7)], 'report.pdf', {type: 'application/pdf'}));
         document.querySelector('.composer').dispatchEvent(
             new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));",
        vec![],
    )
    .await
    .expect("drop a file");
    let info = wait_text(c, "#file-info", |t| t.contains("bytes")).await;
    assert!(info.contains("\"report.pdf\", 1000 bytes"), "{info}");
    let dropped = Message::binary("application/pdf", vec![7u8; 1000]).with_byteorder("big");
    let status = wait_text(c, ".composer .status-line", |t| !t.is_empty()).await;
    assert!(
        status.contains(&format!(
            "{} bytes, a valid frame",
            encode(&dropped).unwrap().bytes.len()
        )),
        "{status}"
    );
    click(c, "#send").await;
    let outcome = wait_text(c, "[data-testid=outcome]", |t| !t.is_empty()).await;
    assert_eq!(
        outcome,
        format!("Got response: {}", python_bytes_repr(&[7u8; 1000]))
    );
}
