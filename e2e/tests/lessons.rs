//! The twelve lessons (issue 20) in headless Chromium against a real relay
//! and its real servers: for each, one scenario sets it up, presses what
//! the lesson says, sees **Done**, makes the Your-turn variation and sees
//! **Done** again; another does the variation wrong and reads why not.
//! One browser serves six lessons (two tests, so each stays under the
//! harness's hang guard); every scenario opens its `#lesson=N` link in a
//! fresh page.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use e2e::harness::run;
use e2e::page::{click, color_scheme, enabled, screenshot, text_of, wait_text};
use fantoccini::{Client, Locator};
use serde_json::json;

static VISITS: AtomicUsize = AtomicUsize::new(0);

/// Opens `#lesson=n` in a fresh page and presses **Set it up**.
async fn set_up(c: &Client, relay: SocketAddr, n: usize) {
    let visit = VISITS.fetch_add(1, Ordering::Relaxed);
    c.goto(&format!("http://{relay}/?lesson-visit={visit}#lesson={n}"))
        .await
        .expect("open the lesson link");
    wait_text(c, "#lesson-h", |t| t.starts_with(&format!("Lesson {n} ·"))).await;
    let source = text_of(c, ".lesson-source").await;
    assert!(source.starts_with("From the tutorial: "), "{source}");
    click(c, "#lesson-setup").await;
}

/// [`set_up`] for a Playground lesson: waits for the relay's targets and
/// for no session to be live.
async fn set_up_playground(c: &Client, relay: SocketAddr, n: usize, target: &str) {
    set_up(c, relay, n).await;
    wait_text(c, "#target-description", |t| !t.is_empty()).await;
    wait_picked(c, target).await;
    wait_text(c, "#conn-state", |t| !t.starts_with("connect")).await;
}

async fn wait_picked(c: &Client, target: &str) {
    for _ in 0..100 {
        // The picker may be drawn anew between finding it and reading it
        // (a stale element): read it again on the next turn.
        let picked = match c.find(Locator::Css("#target")).await {
            Ok(picker) => picker.prop("value").await.ok().flatten(),
            Err(_) => None,
        };
        if picked.as_deref() == Some(target) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the picker never showed {target}");
}

/// Loads a message, target and send options the way a share link does.
async fn load(c: &Client, hash: &str, target: &str) {
    c.execute("location.hash = arguments[0]", vec![json!(hash)])
        .await
        .expect("set the hash");
    wait_picked(c, target).await;
}

/// Closes the Playground's session and waits until it has ended.
async fn close(c: &Client) {
    if enabled(c, "#close").await {
        click(c, "#close").await;
    }
    wait_text(c, "#conn-state", |t| !t.starts_with("connect")).await;
}

async fn done(c: &Client, part: &str) -> String {
    wait_text(c, part, |t| t.starts_with("Done: ")).await
}

async fn not_yet(c: &Client, part: &str, why: &str) {
    wait_text(c, part, |t| t.starts_with("Not yet: ") && t.contains(why)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lessons_1_to_6_done_right_and_wrong() {
    run(async |c: &Client, relay: SocketAddr| {
        lesson_1_right(c, relay).await;
        lesson_1_wrong(c, relay).await;
        lesson_2_right(c, relay).await;
        lesson_2_wrong(c, relay).await;
        lesson_3_right(c, relay).await;
        lesson_3_wrong(c, relay).await;
        lesson_4_right(c, relay).await;
        lesson_4_wrong(c, relay).await;
        lesson_5_right(c, relay).await;
        lesson_5_wrong(c, relay).await;
        lesson_6_right(c, relay).await;
        lesson_6_wrong(c, relay).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lessons_7_to_12_done_right_and_wrong() {
    run(async |c: &Client, relay: SocketAddr| {
        lesson_7_right(c, relay).await;
        lesson_7_wrong(c, relay).await;
        lesson_8_right(c, relay).await;
        lesson_8_wrong(c, relay).await;
        lesson_9_right(c, relay).await;
        lesson_9_wrong(c, relay).await;
        lesson_10_right(c, relay).await;
        lesson_10_wrong(c, relay).await;
        lesson_11_right(c, relay).await;
        lesson_11_wrong(c, relay).await;
        lesson_12_right(c, relay).await;
        lesson_12_wrong(c, relay).await;
    })
    .await;
}

async fn lesson_1_right(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 1, "app").await;
    click(c, "#send").await;
    let seen = done(c, "#lesson-check").await;
    assert_eq!(
        seen,
        "Done: the app server decoded 1 request; 1 reply decoded here"
    );
    not_yet(c, "#lesson-turn", "accepted every byte").await;
    load(c, "p=not-json&t=app&seg=0&d=0", "app").await;
    click(c, "#send").await;
    let seen = done(c, "#lesson-turn").await;
    assert!(seen.contains("the server's decoder gave up"), "{seen}");
    screenshot(c, "lesson-1-done", "#lesson-bar").await;
}

async fn lesson_1_wrong(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 1, "app").await;
    load(c, "p=not-json&t=echo&seg=0&d=0", "echo").await;
    click(c, "#send").await;
    not_yet(
        c,
        "#lesson-turn",
        "this session went to echo: pick the target app",
    )
    .await;
}

async fn lesson_2_right(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 2, "app").await;
    click(c, "#send").await;
    let seen = done(c, "#lesson-check").await;
    assert!(seen.starts_with("Done: one request, read in "), "{seen}");
    load(c, "p=morpheus&t=echo&seg=5&d=50", "echo").await;
    click(c, "#send").await;
    done(c, "#lesson-turn").await;
}

async fn lesson_2_wrong(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 2, "app").await;
    load(c, "p=morpheus&t=echo&seg=0&d=0", "echo").await;
    click(c, "#send").await;
    wait_text(c, "#conn-state", |t| t.starts_with("connected")).await;
    not_yet(
        c,
        "#lesson-turn",
        "the echo came back in 1 chunk; 3 or more needed",
    )
    .await;
}

async fn lesson_3_right(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 3, "echo").await;
    click(c, "#send").await;
    let seen = done(c, "#lesson-check").await;
    assert!(
        seen.starts_with("Done: a whole message from 3 chunks"),
        "{seen}"
    );
    not_yet(c, "#lesson-turn", "came in 2 chunks").await;
    close(c).await;
    load(c, "p=morpheus&t=echo&seg=30&d=100", "echo").await;
    click(c, "#send").await;
    let seen = done(c, "#lesson-turn").await;
    assert_eq!(
        seen,
        "Done: the JSON header (bytes 2..102) reached the page in 4 chunks"
    );
}

async fn lesson_3_wrong(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 3, "echo").await;
    load(c, "p=morpheus&t=echo&seg=0&d=0", "echo").await;
    click(c, "#send").await;
    not_yet(c, "#lesson-check", "the message came in one chunk").await;
}

async fn lesson_4_right(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 4, "app").await;
    click(c, "#send").await;
    let seen = done(c, "#lesson-check").await;
    assert!(
        seen.contains("JSON header: 58 of 100 bytes first"),
        "{seen}"
    );
    not_yet(c, "#lesson-turn", "came in 2 recv() calls").await;
    load(c, "p=morpheus&t=app&seg=30&d=50", "app").await;
    click(c, "#send").await;
    let seen = done(c, "#lesson-turn").await;
    assert_eq!(
        seen,
        "Done: the server's recv() returned the JSON header (bytes 2..102) in 4 pieces"
    );
}

async fn lesson_4_wrong(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 4, "app").await;
    load(c, "p=morpheus&t=app&seg=0&d=0", "app").await;
    click(c, "#send").await;
    not_yet(
        c,
        "#lesson-turn",
        "the JSON header (bytes 2..102) came in 1 recv() call;",
    )
    .await;
}

async fn lesson_5_right(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 5, "blackhole").await;
    click(c, "#flood").await;
    let seen = done(c, "#lesson-check").await;
    assert!(seen.contains("the relay's send() calls"), "{seen}");
    click(c, "#stop-flood").await;
    // The relay cannot finish a close while its send() waits: a fresh page.
    set_up_playground(c, relay, 5, "blackhole").await;
    let big = "x".repeat(1000);
    load(
        c,
        &format!("m=custom&ct=text/plain&c={big}&t=blackhole&seg=0&d=0"),
        "blackhole",
    )
    .await;
    click(c, "#flood").await;
    let seen = done(c, "#lesson-turn").await;
    assert!(seen.starts_with("Done: 1"), "{seen}");
    click(c, "#stop-flood").await;
}

async fn lesson_5_wrong(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 5, "blackhole").await;
    click(c, "#send").await;
    wait_text(c, "#sock-server .recv-q", |t| t.trim() == "143").await;
    not_yet(c, "#lesson-check", "no send() has come up short yet").await;
    not_yet(c, "#lesson-turn", "the message is 143 bytes").await;
    close(c).await;
}

async fn lesson_6_right(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 6, "blackhole").await;
    click(c, "#send").await;
    let seen = done(c, "#lesson-check").await;
    assert_eq!(
        seen,
        "Done: the server's Recv-Q holds 143 of the 143 bytes you sent, unread"
    );
    // Seven sends of 143 bytes: 1,001 unread.
    for sent in 1..7 {
        not_yet(c, "#lesson-turn", "1,000 needed").await;
        wait_text(c, "#sock-server .recv-q", |t| {
            t.trim() == (143 * sent).to_string()
        })
        .await;
        click(c, "#send").await;
    }
    let seen = done(c, "#lesson-turn").await;
    assert_eq!(seen, "Done: the server's Recv-Q holds 1,001 bytes");
    close(c).await;
}

async fn lesson_6_wrong(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 6, "blackhole").await;
    load(c, "p=morpheus&t=echo&seg=0&d=0", "echo").await;
    click(c, "#send").await;
    not_yet(c, "#lesson-check", "the server's Recv-Q is empty").await;
    close(c).await;
}

async fn lesson_7_right(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 7, "blackhole").await;
    click(c, "#flood").await;
    let seen = done(c, "#lesson-check").await;
    assert!(
        seen.ends_with("both full, so the relay's send() waits"),
        "{seen}"
    );
    click(c, "#stop-flood").await;
    // The relay cannot finish a close while its send() waits: a fresh page.
    set_up_playground(c, relay, 7, "blackhole").await;
    load(c, "p=morpheus&t=echo&seg=0&d=0", "echo").await;
    click(c, "#send").await;
    let seen = done(c, "#lesson-turn").await;
    assert_eq!(
        seen,
        "Done: echo read all 143 bytes: its Recv-Q and the relay's Send-Q are at 0"
    );
}

async fn lesson_7_wrong(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 7, "blackhole").await;
    click(c, "#send").await;
    not_yet(
        c,
        "#lesson-check",
        "the server's Recv-Q holds 143 bytes and the relay's Send-Q 0; both must pass 100,000",
    )
    .await;
    close(c).await;
}

async fn lesson_8_right(c: &Client, relay: SocketAddr) {
    set_up(c, relay, 8).await;
    click(c, "#many-start").await;
    let seen = done(c, "#lesson-check").await;
    assert!(
        seen.starts_with("Done: 2 connections, every one echoed whole"),
        "{seen}"
    );
    c.find(Locator::Css("#many-count"))
        .await
        .expect("the count")
        .select_by_value("6")
        .await
        .expect("pick 6");
    click(c, "#many-start").await;
    let seen = done(c, "#lesson-turn").await;
    assert!(seen.starts_with("Done: 6 connections"), "{seen}");
    screenshot(c, "lesson-8-done", "#lesson-bar").await;
}

async fn lesson_8_wrong(c: &Client, relay: SocketAddr) {
    set_up(c, relay, 8).await;
    click(c, "#many-start").await;
    done(c, "#lesson-check").await;
    not_yet(c, "#lesson-turn", "2 connections ran; 6 or more needed").await;
}

async fn lesson_9_right(c: &Client, relay: SocketAddr) {
    set_up(c, relay, 9).await;
    click(c, "#framing-send").await;
    let seen = done(c, "#lesson-check").await;
    assert_eq!(
        seen,
        "Done: fixed cut 1, lines 1, prefix 1; close cuts only at the FIN"
    );
    click(c, "#preset-newline").await;
    click(c, "#framing-send").await;
    let seen = done(c, "#lesson-turn").await;
    assert_eq!(seen, "Done: lines cut one payload into 2 messages");
}

async fn lesson_9_wrong(c: &Client, relay: SocketAddr) {
    set_up(c, relay, 9).await;
    click(c, "#framing-send").await;
    done(c, "#lesson-check").await;
    not_yet(c, "#lesson-turn", "lines cut 1 message; a newline inside").await;
}

async fn lesson_10_right(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 10, "app").await;
    click(c, "#send").await;
    let seen = done(c, "#lesson-check").await;
    assert!(seen.contains("the server's FIN arrived"), "{seen}");
    load(c, "p=morpheus&t=reset&seg=0&d=0", "reset").await;
    let description = text_of(c, "#target-description").await;
    assert!(
        description.contains("the kernel sends RST"),
        "{description}"
    );
    click(c, "#send").await;
    done(c, "#lesson-turn").await;
}

async fn lesson_10_wrong(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 10, "app").await;
    load(c, "p=morpheus&t=echo&seg=0&d=0", "echo").await;
    click(c, "#send").await;
    not_yet(c, "#lesson-turn", "pick the target reset").await;
    close(c).await;
}

async fn lesson_11_right(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 11, "echo").await;
    click(c, "#send").await;
    wait_text(c, "#conn-state", |t| t.starts_with("connected")).await;
    not_yet(c, "#lesson-check", "press Half-close").await;
    // As a learner would: the echo first, then the FIN.
    wait_text(c, "[data-testid=outcome]", |t| t == "Got result: None").await;
    click(c, "#half-close").await;
    let seen = done(c, "#lesson-check").await;
    assert!(seen.contains("all 143 bytes still came back"), "{seen}");
    not_yet(c, "#lesson-turn", "done in the Framing tab").await;
    click(c, "#tab-framing").await;
    click(c, "#framing-send").await;
    for _ in 0..100 {
        if enabled(c, "#col-close #half-close").await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_text(c, "#col-close .waits", |t| {
        t.contains("FIN") || t.contains("EOF")
    })
    .await;
    click(c, "#col-close #half-close").await;
    let seen = done(c, "#lesson-turn").await;
    assert_eq!(seen, "Done: close cut 1 message at your FIN");
}

async fn lesson_11_wrong(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 11, "echo").await;
    click(c, "#send").await;
    not_yet(c, "#lesson-check", "not half-closed yet: press Half-close").await;
    close(c).await;
}

async fn lesson_12_right(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 12, "refused").await;
    let description = text_of(c, "#target-description").await;
    assert!(description.contains("ECONNREFUSED"), "{description}");
    click(c, "#send").await;
    let seen = done(c, "#lesson-check").await;
    assert!(
        seen.contains("failed: connection refused (ECONNREFUSED)"),
        "{seen}"
    );
    load(c, "p=morpheus&t=reset&seg=0&d=0", "reset").await;
    click(c, "#send").await;
    let seen = done(c, "#lesson-turn").await;
    assert!(seen.contains("ECONNRESET"), "{seen}");
    screenshot(c, "lesson-12-done", "#lesson-bar").await;
}

async fn lesson_12_wrong(c: &Client, relay: SocketAddr) {
    set_up_playground(c, relay, 12, "refused").await;
    load(c, "p=morpheus&t=app&seg=0&d=0", "app").await;
    click(c, "#send").await;
    not_yet(
        c,
        "#lesson-check",
        "no refused connection yet: send to refused",
    )
    .await;
}

/// Issue 20's navigation: switching tabs keeps the Playground's session
/// (connection, bytes, events); its picker leaves out the framing lab's
/// targets and offers lesson 12's. Then the Lessons tab and a lesson bar,
/// light and dark, at 1280 and 390 px (screenshots `lessons-*.png`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tabs_keep_the_playground_and_the_lessons_look_right() {
    run(async |c: &Client, relay: SocketAddr| {
        let visit = VISITS.fetch_add(1, Ordering::Relaxed);
        c.goto(&format!("http://{relay}/?lesson-visit={visit}#p=morpheus&t=echo&seg=0&d=0"))
            .await
            .expect("open the playground");
        wait_picked(c, "echo").await;
        let options = c
            .execute(
                "return [...document.querySelectorAll('#target option')].map(o => o.value)",
                vec![],
            )
            .await
            .expect("the picker's options");
        let options: Vec<String> = serde_json::from_value(options).unwrap();
        for lab in ["fixed", "lines", "prefix", "close"] {
            assert!(!options.iter().any(|o| o == lab), "{options:?}");
        }
        for name in ["app", "echo", "blackhole", "refused", "reset"] {
            assert!(options.iter().any(|o| o == name), "{options:?}");
        }
        click(c, "#send").await;
        wait_text(c, "#conn-state", |t| t == "connected").await;
        let transcript = wait_text(c, "#transcript", |t| t.contains("received 143 bytes")).await;
        click(c, "#tab-framing").await;
        wait_text(c, "#framing-h", |t| !t.is_empty()).await;
        click(c, "#tab-lessons").await;
        wait_text(c, "#lesson-h", |t| t.starts_with("Lesson 1 ·")).await;
        click(c, "#tab-playground").await;
        assert_eq!(text_of(c, "#conn-state").await, "connected");
        assert_eq!(text_of(c, "#transcript").await, transcript);

        for scheme in ["light", "dark"] {
            color_scheme(c, scheme).await;
            for (w, h) in [(1280, 800), (390, 844)] {
                c.set_window_size(w, h).await.expect("window size");
                let visit = VISITS.fetch_add(1, Ordering::Relaxed);
                c.goto(&format!("http://{relay}/?lesson-visit={visit}#lesson=4"))
                    .await
                    .expect("open lesson 4");
                wait_text(c, "#lesson-h", |t| t.starts_with("Lesson 4 ·")).await;
                screenshot(c, &format!("lessons-tab-{w}-{scheme}"), "body").await;
                let wide = c
                    .execute("return [document.documentElement.scrollWidth - document.documentElement.clientWidth, [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1).map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 8)]", vec![])
                    .await
                    .expect("measure");
                assert_eq!(wide, json!([0, []]), "wider than the window at {w} px: {wide}");
                click(c, "#lesson-setup").await;
                wait_text(c, "#target-description", |t| !t.is_empty()).await;
                click(c, "#send").await;
                done(c, "#lesson-check").await;
                screenshot(c, &format!("lessons-bar-{w}-{scheme}"), "#lesson-bar").await;
            }
        }
        c.set_window_size(1280, 800).await.expect("window size");
    })
    .await;
}
