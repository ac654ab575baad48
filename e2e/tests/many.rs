//! The Many connections lab end to end: four WebSockets from real Chromium
//! to the relay's embedded event-loop server (`multiconn`). The iteration
//! table shows each connection accepted before it is read, and every
//! connection gets its own messages back. Screenshots at 1280×800 and
//! 390×844 go to `target/screenshots/`.

use std::net::SocketAddr;

use e2e::harness::run;
use e2e::page::{click, open, screenshot, wait_text};
use fantoccini::{Client, Locator};

const ECHO: &str = "b'Message 1 from client.Message 2 from client.'";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_connections_are_accepted_before_they_are_read_and_each_gets_its_own_echo() {
    run(scenarios).await;
}

/// Texts of every element `css` names, in document order.
async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for el in c.find_all(Locator::Css(css)).await.expect("find") {
        out.push(el.text().await.expect("text"));
    }
    out
}

async fn attr_all(c: &Client, css: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for el in c.find_all(Locator::Css(css)).await.expect("find") {
        out.push(el.attr(name).await.expect("attr").unwrap_or_default());
    }
    out
}

async fn scenarios(c: &Client, relay: SocketAddr) {
    open(c, relay, "").await;
    screenshot(c, "many-tabs", "header.top").await;
    click(c, "#tab-many").await;
    c.find(Locator::Css("#many-count option[value='4']"))
        .await
        .expect("a choice of 4")
        .click()
        .await
        .expect("choose 4");
    click(c, "#many-start").await;
    for n in 1..=4 {
        let row = format!("#many-conns tr[data-conn='{n}'] .state");
        let state = wait_text(c, &row, |t| t.starts_with("closed")).await;
        assert_eq!(state, "closed (1000), echoed whole", "connection {n}");
        let sent = wait_text(c, &format!("#many-conns tr[data-conn='{n}'] .sent"), |_| {
            true
        })
        .await;
        let back = wait_text(c, &format!("#many-conns tr[data-conn='{n}'] .back"), |_| {
            true
        })
        .await;
        assert_eq!(sent, ECHO, "connection {n}");
        assert_eq!(back, ECHO, "connection {n}: its own bytes back");
    }

    // Per connection, in iteration order: accepted first, read later. Each
    // row is one ready socket of one iteration and what the loop did with it.
    let rows = c
        .find_all(Locator::Css("#many-iterations tbody tr"))
        .await
        .expect("iteration rows");
    let mut accepted_at = [None; 5];
    let mut first_read_at = [None; 5];
    let mut last_iteration = 0;
    for (i, row) in rows.iter().enumerate() {
        let iteration: u64 = row
            .attr("data-iteration")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        assert!(iteration >= last_iteration, "rows in the loop's order");
        last_iteration = iteration;
        let ready = row.find(Locator::Css(".ready")).await.unwrap();
        let n: usize = ready
            .attr("data-conn")
            .await
            .unwrap()
            .unwrap()
            .parse()
            .unwrap();
        let io = ready.attr("data-io").await.unwrap().unwrap();
        let calls = row
            .find(Locator::Css(".calls"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if io == "accept" {
            assert!(accepted_at[n].is_none(), "connection {n} accepted twice");
            assert!(
                calls.starts_with(&format!("accept() → connection {n}")),
                "{calls}"
            );
            accepted_at[n] = Some(i);
        }
        if calls.lines().any(|l| l.starts_with("recv(1024) →")) {
            assert!(
                io.starts_with("read"),
                "row {i}: a recv() on a socket ready for {io}"
            );
            first_read_at[n].get_or_insert(i);
        }
    }
    for n in 1..=4 {
        let (Some(accept), Some(read)) = (accepted_at[n], first_read_at[n]) else {
            panic!(
                "connection {n}: accept {:?}, read {:?}",
                accepted_at[n], first_read_at[n]
            );
        };
        assert!(
            accept < read,
            "connection {n}: accepted in row {accept}, read in row {read}"
        );
    }
    let calls = texts(c, "#many-iterations .calls").await.join("\n");
    for n in 1..=4 {
        assert!(
            calls.contains(&format!("accept() → connection {n}")),
            "{calls}"
        );
    }
    assert_eq!(
        calls
            .lines()
            .filter(|l| l.starts_with("Accepted connection from ('127.0.0.1', "))
            .count(),
        4,
        "{calls}"
    );
    assert_eq!(
        calls
            .lines()
            .filter(|l| l.starts_with("Closing connection to ('127.0.0.1', "))
            .count(),
        4,
        "{calls}"
    );
    assert!(
        calls.contains("Echoing b'Message 1 from client."),
        "{calls}"
    );
    // Each close follows the recv() → b'' that caused it (the browser's FIN).
    let lines: Vec<&str> = calls.lines().collect();
    let eofs = lines
        .iter()
        .filter(|l| l.starts_with("recv() → b''"))
        .count();
    assert_eq!(eofs, 4, "{calls}");
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("Closing connection to") {
            assert!(
                lines[..i]
                    .iter()
                    .rev()
                    .take(2)
                    .any(|l| l.starts_with("recv() → b''")),
                "a close without its b'': {calls}"
            );
        }
    }
    // The loop's trigger, said as it is.
    let hint = wait_text(c, "#many-trigger", |t| !t.is_empty()).await;
    assert!(
        hint.contains("edge-triggered") && hint.contains("level-triggered"),
        "{hint}"
    );
    // Each lane says what its own connection did; four lanes.
    let lanes = attr_all(c, "#many-lanes .lane[data-conn]", "data-conn").await;
    for n in 1..=4 {
        assert!(
            lanes.contains(&n.to_string()),
            "no lane entry for connection {n}"
        );
    }

    screenshot(c, "many-laptop", "#many").await;
    c.set_window_size(390, 844).await.expect("phone size");
    screenshot(c, "many-phone", "#many").await;
    c.set_window_size(1280, 800)
        .await
        .expect("back to laptop size");
}
