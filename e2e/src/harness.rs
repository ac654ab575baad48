//! What every browser scenario needs: the built playground, a relay with the
//! real servers behind it, a browser, and a verdict on the console at the end.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::Duration;

use fantoccini::Client;
use futures_util::FutureExt;
use relay::config::RelayConfig;
use relay::testing::TestRelay;

use crate::webdriver::{chromedriver_path, free_port, Driver};

/// Set to `1` to skip the browser tests knowingly where there is no browser.
pub const SKIP: &str = "WIRELAB_SKIP_BROWSER";

/// How long one test's scenarios may take before they count as hung.
pub const HANG_GUARD: Duration = Duration::from_secs(240);

/// The laptop window the scenarios use unless they say otherwise.
pub const LAPTOP: (u32, u32) = (1280, 800);

pub use crate::dirs::{screenshot_dir, workspace};

/// What is missing to run a browser test, if anything.
pub fn missing() -> Vec<String> {
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

/// A relay on port 0 serving `dist/`, with the embedded servers and
/// `down`, a loopback port nobody listens on (`relay::testing`, as the
/// relay's own tests start it). Everything stops when the test's runtime
/// does.
pub async fn start_relay(config: RelayConfig) -> SocketAddr {
    start_relay_exposing(config, &[]).await.0
}

/// [`start_relay`] with the embedded targets `expose` also listening on
/// loopback ports of their own (`relay --expose`); returns those too.
pub async fn start_relay_exposing(
    config: RelayConfig,
    expose: &[&str],
) -> (SocketAddr, Vec<SocketAddr>) {
    let down: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let extra = [("down", down, "nothing listens here")];
    let relay =
        TestRelay::start_exposing(config, &extra, Some(workspace().join("dist")), expose).await;
    (relay.addr, relay.exposed)
}

/// Runs `scenarios` in a fresh browser against a fresh relay: fails with
/// what to do when the browser or the build is missing (unless [`SKIP`]),
/// ends the browser session even when a scenario panics, and fails on any
/// console error the page logged.
pub async fn run(scenarios: impl AsyncFnOnce(&Client, SocketAddr)) {
    run_exposing(&[], async |c: &Client, relay, _| scenarios(c, relay).await).await
}

/// [`run`] against a relay that also exposes `expose` (their addresses
/// are the scenarios' third argument).
pub async fn run_exposing(
    expose: &[&str],
    scenarios: impl AsyncFnOnce(&Client, SocketAddr, Vec<SocketAddr>),
) {
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
    let driver = Driver::start();
    // One browser plays one learner through many tabs and lessons in a row;
    // sessions it closed linger while the relay follows their sockets
    // (`--observe-close-follow`), and a flooded one until it is unblocked.
    // The per-address limit is the relay tests' to check (relay_refusals).
    let config = RelayConfig {
        max_sessions_per_ip: 64,
        ..RelayConfig::default()
    };
    let (relay, exposed) = start_relay_exposing(config, expose).await;
    let (width, height) = LAPTOP;
    let c = driver.browser(width, height).await;
    let session = c.session_id().await.unwrap().expect("a session id");

    let result = tokio::time::timeout(
        HANG_GUARD,
        AssertUnwindSafe(scenarios(&c, relay, exposed)).catch_unwind(),
    )
    .await;
    let (driver, errors) = tokio::task::spawn_blocking(move || {
        let errors = driver.console_errors(&session);
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
