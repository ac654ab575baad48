//! A session to Wireshark and back: the page's ".pcapng" download is the
//! relay's real capture where it may capture (as root), else the protocol
//! crate's pcapng of the page's own exported transcript, byte for byte; and that transcript, reopened in the page and stepped to its end,
//! shows the live session's bytes and decoder states again. So does the
//! transcript the relay's `--record` wrote of a session.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::harness::run;
use e2e::page::{click, open, screenshot, screenshot_both, wait_text};
use e2e::webdriver::{download_dir, POLLS};
use fantoccini::{Client, Locator};
use protocol::app;
use protocol::capture::{pcapng, Transcript};
use protocol::encode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_downloads_as_the_crates_pcapng_and_replays_as_it_was_live() {
    run(scenario).await;
}

/// Waits until the browser has saved `name` (no partial file beside it).
async fn downloaded(name: &str) -> Vec<u8> {
    let path = download_dir().join(name);
    let partial = download_dir().join(format!("{name}.crdownload"));
    for _ in 0..POLLS {
        if path.is_file() && !partial.exists() {
            return std::fs::read(&path).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} was never downloaded", path.display());
}

/// The texts that show a session's state: the reply's bytes, each chunk's
/// size, bytes and decoder state (not the page-clock time), the outcome,
/// and the whole server panel (relay-clock times, as recorded).
async fn session_view(c: &Client) -> Vec<String> {
    let rows = c
        .execute(
            "return Array.from(document.querySelectorAll('#chunks tbody tr')).map(r =>
                Array.from(r.cells).filter((_, i) => i != 1).map(c => c.textContent).join(' | '))",
            vec![],
        )
        .await
        .expect("read the chunk rows");
    let mut view: Vec<String> = serde_json::from_value(rows).unwrap();
    assert!(!view.is_empty(), "the decode panel lists chunks");
    for css in [
        "#hex-in",
        "[data-testid=outcome]",
        "#server-panel",
        "#sockets",
    ] {
        let text = match c.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        view.push(format!("{css}: {text}"));
    }
    view
}

/// The text of the element `css` (empty if there is none).
async fn text_of(c: &Client, css: &str) -> String {
    match c.find(Locator::Css(css)).await {
        Ok(el) => el.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

fn remove(dir: &Path, names: &[&str]) {
    for name in names {
        let _ = std::fs::remove_file(dir.join(name));
    }
}

async fn scenario(c: &Client, relay: SocketAddr) {
    let (json_name, pcap_name) = ("wirelab-app.json", "wirelab-app.pcapng");
    remove(&download_dir(), &[json_name, pcap_name]);

    // Live: the morpheus search in 10-byte segments.
    open(c, relay, "p=morpheus&t=app&seg=10&d=20").await;
    click(c, "#send").await;
    let request = app::request("search", "morpheus").with_byteorder("big");
    let reply = app::respond(&request).unwrap();
    wait_text(c, "[data-testid=outcome]", |t| !t.is_empty()).await;
    wait_text(c, "#conn-state", |t| t.contains("closed")).await;
    wait_text(c, "#server-panel", |t| t.contains("close()")).await;
    let live = session_view(c).await;
    // One clock: the transcript table's times are the relay's, and say so.
    let live_times = text_of(c, "#transcript").await;
    assert!(live_times.contains("relay clock"), "{live_times}");
    let clock = text_of(c, "#sequence-clock").await;
    assert!(clock.contains("the relay's clock"), "{clock}");
    screenshot_both(c, "capture-session", "#timeline").await;

    click(c, "#export").await;
    click(c, "#download-pcapng").await;
    let text = downloaded(json_name).await;
    let file = downloaded(pcap_name).await;
    let transcript =
        Transcript::from_json(std::str::from_utf8(&text).unwrap()).expect("a transcript");
    let kind = wait_text(c, "#pcapng-kind", |t| !t.is_empty()).await;
    if kind.contains("is real") {
        // The relay may capture (this test runs as root): the file is its
        // capture of the connection, every 10-byte segment in it as sent.
        let head = String::from_utf8_lossy(&file[..file.len().min(600)]).into_owned();
        assert!(head.contains("CAPTURED by the wirelab relay"), "{head}");
        let request = encode(&request).unwrap().bytes;
        for segment in request.chunks(10) {
            assert!(
                file.windows(segment.len()).any(|w| w == segment),
                "{segment:?} is in a captured packet"
            );
        }
    } else {
        assert!(kind.contains("Reconstructed"), "{kind}");
        assert_eq!(
            file,
            pcapng(&transcript),
            "the page's reconstruction is the crate's"
        );
    }
    assert_eq!(transcript.stream(true), encode(&request).unwrap().bytes);
    assert_eq!(transcript.stream(false), encode(&reply).unwrap().bytes);
    assert_eq!(
        transcript
            .events
            .iter()
            .filter(|e| e.kind == protocol::capture::EventKind::Sent)
            .count(),
        15,
        "143 bytes in 10-byte messages"
    );
    assert!(transcript.client.is_some() && !transcript.observations.is_empty());

    // Reopened on a fresh page and stepped to the end.
    open(c, relay, "p=ring&t=app").await;
    let path: PathBuf = download_dir().join(json_name);
    let steps = open_transcript(c, &path).await;
    assert!(steps > 30, "{steps} steps");
    // A replay is not live: it says where it is, and nothing can be sent.
    let state = text_of(c, "#conn-state").await;
    assert!(
        state.contains(&format!("replay, step 1 of {steps}")),
        "{state}"
    );
    for button in ["#send", "#half-close", "#flood", "#connect"] {
        let enabled = c
            .find(Locator::Css(button))
            .await
            .unwrap()
            .is_enabled()
            .await
            .unwrap();
        assert!(!enabled, "{button} is disabled during a replay");
    }
    assert!(text_of(c, "#replay-note").await.contains("Leave replay"));
    screenshot_both(c, "capture-replay-start", "#send-panel").await;
    assert!(
        c.find(Locator::Css("#chunks")).await.is_err(),
        "nothing received yet at step 1"
    );
    step_to_end(c, steps).await;
    assert_eq!(
        session_view(c).await,
        live,
        "the replay ends as the live session did"
    );
    assert_eq!(
        text_of(c, "#transcript").await,
        live_times,
        "a session and its replay show the same times"
    );
    screenshot(c, "replay-end", "#timeline").await;

    // Back: one received chunk fewer at some point, and Forward restores it.
    let chunks = |c: &Client| {
        let c = c.clone();
        async move {
            let n = c
                .execute(
                    "return document.querySelectorAll('#chunks tbody tr').length",
                    vec![],
                )
                .await
                .unwrap();
            n.as_u64().unwrap()
        }
    };
    let at_end = chunks(c).await;
    let mut back = 0;
    while chunks(c).await == at_end {
        click(c, "#replay-back").await;
        back += 1;
        assert!(back < steps, "Back never undid a read");
    }
    for _ in 0..back {
        click(c, "#replay-forward").await;
    }
    assert_eq!(session_view(c).await, live);
    c.set_window_size(390, 844).await.expect("phone size");
    screenshot(c, "replay-phone", "#replay-bar").await;
    c.set_window_size(1280, 800).await.expect("laptop size");
    click(c, "#replay-close").await;
}

/// Opens the transcript at `path` in the page (at step 1); returns how
/// many steps it has.
async fn open_transcript(c: &Client, path: &Path) -> usize {
    c.find(Locator::Css("#open-transcript"))
        .await
        .expect("the file picker")
        .send_keys(path.to_str().unwrap())
        .await
        .expect("choose the transcript");
    let first = wait_text(c, "#replay-step", |t| t.contains("step 1 of")).await;
    first
        .split("step 1 of ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{first}"))
}

/// Forward from step 1 to the last of `steps`.
async fn step_to_end(c: &Client, steps: usize) {
    for _ in 1..steps {
        click(c, "#replay-forward").await;
    }
    wait_text(c, "#replay-step", |t| {
        t.contains(&format!("step {steps} of {steps}"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_the_relay_recorded_replays_in_the_page_as_it_was_live() {
    run(async |c: &Client, _: SocketAddr| {
        let dir = std::env::temp_dir().join(format!("wirelab-e2e-record-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let recording = e2e::harness::start_relay(relay::config::RelayConfig {
            record: Some(dir.clone()),
            ..Default::default()
        })
        .await;

        // Live, through the recording relay: the morpheus search in 10-byte segments.
        open(c, recording, "p=morpheus&t=app&seg=10&d=20").await;
        click(c, "#send").await;
        wait_text(c, "[data-testid=outcome]", |t| !t.is_empty()).await;
        wait_text(c, "#conn-state", |t| t.contains("closed")).await;
        wait_text(c, "#server-panel", |t| t.contains("close()")).await;
        let live = session_view(c).await;

        // The relay writes its files once the session has closed.
        let mut recorded = None;
        for _ in 0..POLLS {
            recorded = std::fs::read_dir(&dir)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .find(|p| {
                    p.extension().is_some_and(|x| x == "json")
                        && !p.file_name().unwrap().to_string_lossy().starts_with('.')
                });
            if recorded.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let recorded = recorded.expect("the relay recorded the session");
        let transcript = Transcript::from_json(&std::fs::read_to_string(&recorded).unwrap())
            .expect("the relay's transcript reads");
        assert!(
            !transcript.observations.is_empty(),
            "a recording carries the observations"
        );

        open(c, recording, "p=ring&t=app").await;
        let steps = open_transcript(c, &recorded).await;
        step_to_end(c, steps).await;
        assert_eq!(
            session_view(c).await,
            live,
            "the relay's recording replays as the page saw the session live"
        );
        screenshot(c, "replay-relay-recording", "#timeline").await;
        click(c, "#replay-close").await;
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}
