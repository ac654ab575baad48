//! Issue 20, item 3: what confused a newcomer, each checked in real
//! Chromium. The bytes are not drawn faded on arrival; Connect and Send say
//! what each does; "Got result: None" after an echo says why; Send covers
//! no text at 1280 px or 390 px; at 390 px the sequence diagram fits with
//! its server lane and the socket table does not scroll sideways.
//! Screenshots go to `target/screenshots/newcomer-*.png`.

use std::net::SocketAddr;

use e2e::harness::run;
use e2e::page::{click, open, screenshot_both, text_of, wait_text};
use fantoccini::Client;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_confused_a_newcomer_is_said_or_fixed() {
    run(scenarios).await;
}

async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect(script)
}

/// Sweeps the page from top to bottom and lists every tree node or "Edit
/// these bytes as hex" whose visible part (above the Send bar, if any) lies
/// under the Send button.
const UNDER_SEND: &str = r#"
const send = document.querySelector('#send');
const bar = document.querySelector('.send-bar');
const targets = [...document.querySelectorAll('#bytes .tree .node, .composer button')]
  .filter(b => b.matches('#bytes .tree .node') || b.textContent === 'Edit these bytes as hex');
const hits = [];
const max = document.documentElement.scrollHeight - innerHeight;
for (let y = 0; y <= max + 40; y += 40) {
  window.scrollTo(0, Math.min(y, max));
  const s = send.getBoundingClientRect();
  const bottom = bar ? bar.getBoundingClientRect().top : innerHeight;
  for (const t of targets) {
    const r = t.getBoundingClientRect();
    const top = Math.max(r.top, 0), low = Math.min(r.bottom, bottom);
    if (low - top < 1) continue;
    if (r.left < s.right && r.right > s.left && top < s.bottom && low > s.top) {
      hits.push(`${t.textContent.trim().slice(0, 30)} at scroll ${Math.min(y, max)}`);
    }
  }
}
window.scrollTo(0, 0);
return [hits.length, hits.slice(0, 5), targets.length];
"#;

async fn nothing_under_send(c: &Client, size: &str) {
    let v = js(c, UNDER_SEND).await;
    assert!(v[2].as_u64().unwrap() > 3, "{size}: nothing to check: {v}");
    assert_eq!(v[0], json!(0), "{size}: text under Send: {v}");
    // Beside Send is the bar, not the page's text.
    let beside = js(
        c,
        "const el = document.elementFromPoint(8, innerHeight - 8); return !!(el && el.closest('.send-bar'));",
    )
    .await;
    assert_eq!(beside, json!(true), "{size}: page text shows beside Send");
}

async fn scenarios(c: &Client, relay: SocketAddr) {
    // Arrival: step 1 is current, and every byte is drawn at full strength.
    open(c, relay, "p=morpheus&t=echo").await;
    let current = text_of(c, "#encode .step.current .step-title").await;
    assert!(current.starts_with("1. "), "{current}");
    let dim = js(
        c,
        "return document.querySelectorAll('#hex-out .dim').length",
    )
    .await;
    assert_eq!(dim, json!(0), "bytes drawn faded on arrival");
    // Walking the steps dims the bytes outside the current one.
    click(c, "#step-next").await;
    let dim = js(
        c,
        "return document.querySelectorAll('#hex-out .dim').length",
    )
    .await;
    assert!(dim.as_u64().unwrap() > 0, "Next dims the other bytes");

    // Connect and Send, each said.
    let words = text_of(c, "#connect-vs-send").await;
    assert!(
        words.starts_with("Connect only opens the connection")
            && words.contains("no byte of the message moves")
            && words.contains("Send connects first if needed, then sends the bytes"),
        "{words}"
    );

    // Send covers no text: at 1280 px (the structure tree) and 390 px.
    nothing_under_send(c, "1280").await;
    c.set_window_size(390, 844).await.expect("phone size");
    open(c, relay, "p=morpheus&t=echo").await;
    nothing_under_send(c, "390").await;
    c.set_window_size(1280, 800).await.expect("laptop size");

    // An echo: "Got result: None", and why.
    open(c, relay, "p=morpheus&t=echo").await;
    click(c, "#send").await;
    let outcome = wait_text(c, "[data-testid=outcome]", |t| !t.is_empty()).await;
    assert_eq!(outcome, "Got result: None");
    let why = wait_text(c, ".why-none", |t| !t.is_empty()).await;
    assert!(
        why.starts_with("The reply's JSON has no \"result\" key")
            && why.contains("the request you sent, byte for byte")
            && why.contains("echo server sends back whatever it receives"),
        "{why}"
    );
    screenshot_both(c, "newcomer-why-none", "#decode").await;
    // The app answers with a result: no note.
    open(c, relay, "p=morpheus&t=app").await;
    click(c, "#send").await;
    wait_text(c, "[data-testid=outcome]", |t| {
        t.starts_with("Got result: Follow")
    })
    .await;
    assert_eq!(text_of(c, ".why-none").await, "");

    // A phone: the diagram fits with its server lane; the socket table
    // does not scroll sideways.
    c.set_window_size(390, 844).await.expect("phone size");
    open(c, relay, "p=morpheus&t=app&seg=40&d=20").await;
    click(c, "#send").await;
    wait_text(c, "#session-summary", |t| !t.is_empty()).await;
    let fit = js(
        c,
        "const w = document.querySelector('.sequence-wrap'); const svg = document.querySelector('#sequence');
         const s = svg.getBoundingClientRect();
         const out = [...svg.querySelectorAll('text')].filter(t => {
           const r = t.getBoundingClientRect();
           return r.width > 0 && (r.left < s.left - 1 || r.right > s.right + 1 || r.right > innerWidth);
         }).map(t => t.textContent);
         const server = [...svg.querySelectorAll('.lifeline text')].find(t => t.textContent === 'server').getBoundingClientRect();
         return [w.scrollWidth <= w.clientWidth, server.right <= innerWidth, out];",
    )
    .await;
    assert_eq!(fit, json!([true, true, []]), "the diagram at 390 px");
    let label = js(
        c,
        "const t = document.querySelector('#sequence .label');
         return parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;",
    )
    .await;
    assert!(label.as_f64().unwrap() >= 11.0, "labels {label} px");
    let table = js(
        c,
        "const w = document.querySelector('.netstat-wrap'); return [w.scrollWidth, w.clientWidth];",
    )
    .await;
    assert!(
        table[0].as_i64() <= table[1].as_i64(),
        "the socket table scrolls sideways: {table}"
    );
    screenshot_both(c, "newcomer-sockets", "#send-panel").await;
    screenshot_both(c, "newcomer-sequence", "#timeline").await;
}
