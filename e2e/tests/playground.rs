//! The playground end to end: every tutorial preset sent through the relay
//! to the real app server (compose via its share link, send, read the result
//! and the reply's first bytes), a segmented send, a malformed frame the
//! server refuses, an unreachable target. A screenshot of each goes to
//! `target/screenshots/`; the browser console must hold no errors.

use std::net::SocketAddr;

use e2e::harness::run;
use e2e::page::{click, first_reply_row, open, screenshot, wait_text};
use fantoccini::Client;
use protocol::app::{self, Outcome};
use protocol::{encode, Message};
use web::model::compose;
use web::model::presets::{self, Group};

/// Tutorial presets: (id, the request it sends), every one the page's own
/// list (`presets::ALL`) has, composed as the page composes it.
fn tutorial() -> Vec<(&'static str, Message)> {
    let tutorial: Vec<_> = presets::ALL
        .iter()
        .filter(|p| p.group == Group::Tutorial)
        .map(|p| {
            let request = compose(&p.composer())
                .message
                .unwrap_or_else(|| panic!("preset {} composes a valid frame", p.id));
            (p.id, request)
        })
        .collect();
    assert!(tutorial.len() >= 6, "{} tutorial presets", tutorial.len());
    tutorial
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_sends_every_tutorial_message_through_the_relay() {
    run(scenarios).await;
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
