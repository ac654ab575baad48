//! The verbs a scenario uses on the page.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::harness::screenshot_dir;
use crate::webdriver::POLLS;

/// Page loads so far, to make each visit's URL its own.
static LOADS: AtomicUsize = AtomicUsize::new(0);

/// Waits until the element's text satisfies `ok`; returns the text. On
/// failure, leaves `failed.png` beside the screenshots.
pub async fn wait_text(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..POLLS {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            if let Ok(text) = el.text().await {
                if ok(&text) {
                    return text;
                }
                last = text;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shot = c.screenshot().await.unwrap_or_default();
    let _ = std::fs::write(screenshot_dir().join("failed.png"), shot);
    panic!("{css} never matched; last text {last:?} (screenshot: target/screenshots/failed.png)");
}

/// Saves what a reviewer should look at: the page scrolled to `panel`.
pub async fn screenshot(c: &Client, name: &str, panel: &str) {
    c.execute(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'start'})",
        vec![json!(panel)],
    )
    .await
    .expect("scroll to the panel");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).expect("write screenshot");
}

/// Opens a share link in a fresh page and waits for the relay's target list.
pub async fn open(c: &Client, relay: SocketAddr, hash: &str) {
    // A query of its own makes each visit a new page load, not a hash change.
    let visit = LOADS.fetch_add(1, Ordering::Relaxed);
    c.goto(&format!("http://{relay}/?visit={visit}#{hash}"))
        .await
        .expect("open the playground");
    wait_text(c, "#target-description, #targets-status", |t| {
        !t.is_empty() && !t.contains("asking")
    })
    .await;
}

/// Clicks the element `css` names.
pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// The first row of received bytes in the hex view, as `00 67 7b ...`.
pub async fn first_reply_row(c: &Client) -> String {
    let row = c
        .find(Locator::Css("#hex-in .hex-row:first-child .hx"))
        .await
        .expect("reply hex row");
    let text = row.text().await.expect("hex row text");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
