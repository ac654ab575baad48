//! End to end: the relay (embedded app and echo servers, plus a target nobody
//! listens on) serves the playground's release build from `dist/`; a WebDriver
//! client drives headless Chromium through chromedriver.
//!
//! Scenarios: every tutorial preset (compose via its share link, send, read the
//! result and the reply's first bytes), a segmented send, a malformed frame the
//! server refuses, an unreachable target. A screenshot of each goes to
//! `target/screenshots/`. Finally the browser's console must hold no errors.
//!
//! Needs `dist/` (`trunk build --release`), chromedriver and Chromium. Missing
//! any of them fails the test with what to do, unless `WIRELAB_SKIP_BROWSER=1`.
//! `CHROMEDRIVER` and `CHROME` override `/usr/bin/chromedriver` and
//! `/usr/bin/chromium`.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use protocol::app::{self, Outcome};
use protocol::json::{Json, Object};
use protocol::{encode, Message};
use relay::config::RelayConfig;
use serde_json::json;

const SKIP: &str = "WIRELAB_SKIP_BROWSER";
/// Page loads so far, to make each visit's URL its own.
static LOADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
/// Polls of a condition before a scenario gives up (a hang guard, 100 ms apart).
const POLLS: usize = 200;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("relay/ sits in the workspace")
        .to_path_buf()
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// What is missing to run the test, if anything.
fn missing() -> Vec<String> {
    let mut missing = Vec::new();
    let dist = workspace().join("dist");
    let has_wasm = std::fs::read_dir(&dist)
        .map(|d| {
            d.flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        })
        .unwrap_or(false);
    if !dist.join("index.html").is_file() || !has_wasm {
        missing.push(format!(
            "{} holds no built playground: run `trunk build --release` at the workspace root",
            dist.display()
        ));
    }
    if !Path::new(&chromedriver_path()).is_file() {
        missing.push(format!(
            "chromedriver not found at {} (set CHROMEDRIVER)",
            chromedriver_path()
        ));
    }
    missing
}

fn chromedriver_path() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned())
}

fn chrome_path() -> Option<String> {
    std::env::var("CHROME").ok().or_else(|| {
        Path::new("/usr/bin/chromium")
            .is_file()
            .then(|| "/usr/bin/chromium".into())
    })
}

/// chromedriver on a free loopback port; killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

fn start_chromedriver() -> Driver {
    let port = free_port();
    let child = Command::new(chromedriver_path())
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver { child, port };
    for _ in 0..POLLS {
        if StdStream::connect(("127.0.0.1", port)).is_ok() {
            return driver;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("chromedriver did not listen on port {port}");
}

/// The relay with its embedded servers, and `down`, a port nobody listens on.
async fn start_relay() -> SocketAddr {
    let down: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let relay = support::start_serving(
        RelayConfig::default(),
        &[("down", down)],
        Some(workspace().join("dist")),
    )
    .await;
    relay.addr
}

async fn browser(driver: &Driver) -> Client {
    let mut options = json!({
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update",
            "--window-size=1280,800"
        ]
    });
    if let Some(chrome) = chrome_path() {
        options["binary"] = json!(chrome);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("start a Chromium session through chromedriver")
}

/// Waits until the element's text satisfies `ok`; returns the text.
async fn wait_text(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
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
async fn screenshot(c: &Client, name: &str, panel: &str) {
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
async fn open(c: &Client, relay: SocketAddr, hash: &str) {
    // A query of its own makes each visit a new page load, not a hash change.
    let visit = LOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    c.goto(&format!("http://{relay}/?visit={visit}#{hash}"))
        .await
        .expect("open the playground");
    wait_text(c, "#target-description, #targets-status", |t| {
        !t.is_empty() && !t.contains("asking")
    })
    .await;
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// The first row of received bytes in the hex view, as `00 67 7b ...`.
async fn first_reply_row(c: &Client) -> String {
    let row = c
        .find(Locator::Css("#hex-in .hex-row:first-child .hx"))
        .await
        .expect("reply hex row");
    let text = row.text().await.expect("hex row text");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn search(action: &str, value: &str) -> Message {
    let content: Object = [("action", action), ("value", value)].into_iter().collect();
    Message::json(Json::from(content))
}

/// Tutorial presets: (id, the request it sends).
fn tutorial() -> Vec<(&'static str, Message)> {
    vec![
        ("morpheus", app::request("search", "morpheus")),
        ("ring", app::request("search", "ring")),
        ("dog", app::request("search", "🐶")),
        ("miss", app::request("search", "neo")),
        ("invalid", search("find", "morpheus")),
        ("binary", app::request("binary", "😃")),
    ]
}

/// Browser console entries at level SEVERE, read from chromedriver's log endpoint.
fn console_errors(driver: &Driver, session: &str) -> Vec<String> {
    let body = r#"{"type": "browser"}"#;
    let mut stream = StdStream::connect(("127.0.0.1", driver.port)).expect("reach chromedriver");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /session/{session}/se/log HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // chromedriver keeps the connection open: read the head, then Content-Length bytes.
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let body_start = loop {
        let n = stream.read(&mut buf).expect("read chromedriver's answer");
        assert!(n > 0, "chromedriver closed before answering");
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&raw[..body_start]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("chromedriver's answer has a Content-Length");
    while raw.len() < body_start + length {
        let n = stream.read(&mut buf).expect("read chromedriver's answer");
        assert!(n > 0, "chromedriver closed mid-answer");
        raw.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&raw[body_start..body_start + length]).into_owned();
    let value: serde_json::Value = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("chromedriver's log answer is not JSON ({e}): {body}"));
    value["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_sends_every_tutorial_message_through_the_relay() {
    let missing = missing();
    if !missing.is_empty() {
        if std::env::var(SKIP).as_deref() == Ok("1") {
            eprintln!("skipped ({SKIP}=1): {}", missing.join("; "));
            return;
        }
        panic!(
            "the browser test cannot run: {}. Set {SKIP}=1 to skip it knowingly.",
            missing.join("; ")
        );
    }
    let driver = start_chromedriver();
    let relay = start_relay().await;
    let c = browser(&driver).await;
    let session = c.session_id().await.unwrap().expect("a session id");

    // A failed assertion must still end the browser session, or Chromium outlives the test.
    let run = AssertUnwindSafe(scenarios(&c, relay)).catch_unwind();
    let result = tokio::time::timeout(Duration::from_secs(240), run).await;
    let (driver, errors) = tokio::task::spawn_blocking(move || {
        let errors = console_errors(&driver, &session);
        (driver, errors)
    })
    .await
    .expect("read the console log");
    let _ = c.close().await;
    drop(driver);
    if let Err(panic) = result.expect("the scenarios finished (hang guard)") {
        std::panic::resume_unwind(panic);
    }
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

async fn scenarios(c: &Client, relay: SocketAddr) {
    for (id, request) in tutorial() {
        open(c, relay, &format!("p={id}&t=app")).await;
        click(c, "#send").await;
        let reply = app::respond(&request).expect("the tutorial server answers");
        let expected = Outcome::of(&reply).to_string();
        let outcome = wait_text(c, "[data-testid=outcome]", |t| !t.is_empty()).await;
        assert_eq!(outcome, expected, "preset {id}");
        let reply_bytes = encode(&reply).unwrap().bytes;
        assert_eq!(
            first_reply_row(c).await,
            protocol::hexdump::hex_string(&reply_bytes[..16]),
            "preset {id}: first reply bytes"
        );
        wait_text(c, "#conn-state", |t| t.contains("closed")).await;
        screenshot(c, &format!("preset-{id}"), "#decode").await;
    }

    // Segmented: 143 bytes in 10-byte segments, 50 ms apart; the reply still comes.
    open(c, relay, "p=morpheus&t=app&seg=10&d=50").await;
    click(c, "#send").await;
    wait_text(c, "[data-testid=outcome]", |t| {
        t == "Got result: Follow the white rabbit. 🐰"
    })
    .await;
    let transcript = wait_text(c, "#transcript", |t| t.contains("received")).await;
    assert_eq!(
        transcript.matches("sent 10 bytes").count(),
        14,
        "{transcript}"
    );
    assert!(
        transcript.contains("sent 3 bytes (bytes 140..143)"),
        "{transcript}"
    );
    screenshot(c, "segmented-send", "#send-panel").await;

    // Malformed: no content-type; the server refuses the header and hangs up.
    open(c, relay, "p=missing-header&t=app").await;
    click(c, "#send").await;
    let summary = wait_text(c, "#session-summary", |t| !t.is_empty()).await;
    assert!(
        summary.contains("the server closed the connection without a reply"),
        "{summary}"
    );
    screenshot(c, "malformed-missing-header", "#decode").await;

    // Unreachable: the relay knows the target but nothing listens there.
    open(c, relay, "p=morpheus&t=down").await;
    click(c, "#send").await;
    let state = wait_text(c, "#conn-state", |t| t.contains("failed")).await;
    assert!(state.contains("target \"down\" unreachable"), "{state}");
    assert!(state.to_lowercase().contains("refused"), "{state}");
    screenshot(c, "unreachable-target", "#send-panel").await;
}
