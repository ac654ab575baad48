//! The verbs a scenario uses on the page.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::harness::{screenshot_dir, LAPTOP};
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

/// Clicks the element `css` names, first scrolled to the middle of the
/// window as a reader brings a control into view: WebDriver clicks an
/// element where it already is, and the floating Send button (bottom right)
/// may be over it there.
pub async fn click(c: &Client, css: &str) {
    let el = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
    let arg = serde_json::to_value(&el).expect("element as a script argument");
    // The page may still move under it (a late answer from the relay adds a
    // line above): scrolled again and retried while the click would land on
    // something else, such as the Send bar.
    for attempt in 0.. {
        c.execute(
            "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'});",
            vec![arg.clone()],
        )
        .await
        .unwrap_or_else(|e| panic!("scroll {css} into view: {e}"));
        settle(c, &arg).await;
        match el.click().await {
            Ok(()) => return,
            Err(e) if attempt < 5 && e.to_string().contains("click intercepted") => {
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            Err(e) => panic!("click {css}: {e}"),
        }
    }
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

/// Presses and releases `key` where the focus is, as a keyboard does
/// (WebDriver actions, so the page sees real keydown/keyup events).
pub async fn press(c: &Client, key: Key) {
    let value = char::from(key);
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value })
        .then(KeyAction::Up { value });
    c.perform_actions(keys).await.expect("press a key");
}

/// The focused element's `id` (empty when it has none, e.g. the body).
pub async fn focused_id(c: &Client) -> String {
    let el = c.active_element().await.expect("the focused element");
    el.attr("id").await.expect("read id").unwrap_or_default()
}

/// The focused element's attribute `name`, if it has it.
pub async fn focused_attr(c: &Client, name: &str) -> Option<String> {
    let el = c.active_element().await.expect("the focused element");
    el.attr(name).await.expect("read an attribute")
}

/// Replaces the text of the input or textarea `css` by typing `text` into it
/// (after clearing it), so the page gets real input events.
pub async fn type_into(c: &Client, css: &str, text: &str) {
    let el = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
    el.clear()
        .await
        .unwrap_or_else(|e| panic!("clear {css}: {e}"));
    el.send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

/// Whether the element `css` names can be used (not `disabled`).
/// Waits until the element stops moving (two reads of its place 50 ms
/// apart agree, at most a second): a render that lands between finding
/// where to click and the click would move it, and the click would go to
/// whatever took its place.
async fn settle(c: &Client, element: &Value) {
    let place = async || {
        c.execute(
            "const r = arguments[0].getBoundingClientRect(); return [r.x, r.y, r.width, r.height];",
            vec![element.clone()],
        )
        .await
        .ok()
    };
    let mut last = place().await;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = place().await;
        if now == last {
            return;
        }
        last = now;
    }
}

pub async fn enabled(c: &Client, css: &str) -> bool {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .is_enabled()
        .await
        .expect("read enabled")
}

/// The element's text, as shown (empty when it is not there).
pub async fn text_of(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(el) => el.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Screenshots of `panel` at the laptop size and at a phone's 390×844
/// (`NAME-1280.png`, `NAME-390.png`); the window is left at the laptop size.
pub async fn screenshot_both(c: &Client, name: &str, panel: &str) {
    let (w, h) = LAPTOP;
    screenshot(c, &format!("{name}-1280"), panel).await;
    c.set_window_size(390, 844).await.expect("phone size");
    screenshot(c, &format!("{name}-390"), panel).await;
    c.set_window_size(w, h).await.expect("laptop size");
}

/// A Chrome DevTools command through chromedriver (`goog/cdp/execute`):
/// fantoccini has no call for emulated media.
#[derive(Debug)]
struct Cdp(&'static str, Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.0, "params": self.1 });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Emulates `prefers-color-scheme: scheme` (`light` or `dark`).
pub async fn color_scheme(c: &Client, scheme: &str) {
    c.issue_cmd(Cdp(
        "Emulation.setEmulatedMedia",
        json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
    ))
    .await
    .expect("emulate prefers-color-scheme");
}
