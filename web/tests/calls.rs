//! The Server panel's calls, from the events a `--run` program's tracer
//! sends (JSON text, as the relay writes it), mounted in headless Chromium:
//! each call as the program made it, and a blocked call counted live.
#![cfg(target_arch = "wasm32")]

use protocol::relay_api::Observation;
use std::rc::Rc;
use wasm_bindgen_test::*;
use web::components;
use web::model::Observe;

mod support;

use support::*;

wasm_bindgen_test_configure!(run_in_browser);

fn observed(events: &[&str]) -> Rc<Observe> {
    let mut observe = Observe::default();
    for (i, json) in events.iter().enumerate() {
        let o = Observation::from_json(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        observe.take(i as f64, o);
    }
    Rc::new(observe)
}

#[wasm_bindgen_test]
async fn the_server_panel_lists_a_programs_calls_as_it_made_them() {
    let observe = observed(&[
        r#"{"t_us":0,"kind":"observing","target":"mine","server":true}"#,
        r#"{"t_us":10,"kind":"server_accept","local":"127.0.0.1:65432","peer":"127.0.0.1:50112"}"#,
        r#"{"t_us":48200,"kind":"server_recv","len":10,"count":1,"asked":4096,"blocked_us":48000}"#,
        r#"{"t_us":48300,"kind":"server_recv","len":0,"count":1,"asked":4096,"error":"EAGAIN"}"#,
        r#"{"t_us":48400,"kind":"server_send","len":200,"sent":120,"count":1}"#,
        r#"{"t_us":60000,"kind":"server_pending","call":"recv","asked":4096}"#,
    ]);
    let panel = mount::<components::ServerPanel>(components::server_panel::Props {
        observe,
        target: "mine".into(),
        opened: true,
        whose: "your program, pid 1234: python3 server.py".into(),
    })
    .await;
    assert_eq!(
        text(&panel, "#server-whose"),
        "calls of your program, pid 1234: python3 server.py"
    );
    let calls = texts(&panel, "#server-calls li");
    assert_eq!(
        calls[..3],
        [
            "recv(4096) → 10 B after 48 ms",
            "recv(4096) → BlockingIOError (EAGAIN)",
            "send(200) → 120 B (short send)",
        ]
    );
    assert!(
        calls[3].starts_with("recv(4096) waiting for over "),
        "{calls:?}"
    );
}

#[wasm_bindgen_test]
async fn a_calls_own_event_ends_its_wait() {
    let observe = observed(&[
        r#"{"t_us":0,"kind":"observing","target":"mine","server":true}"#,
        r#"{"t_us":600000,"kind":"server_pending","call":"recv","asked":4096}"#,
        r#"{"t_us":900000,"kind":"server_recv","len":5,"count":1,"asked":4096,"blocked_us":900000}"#,
    ]);
    let panel = mount::<components::ServerPanel>(components::server_panel::Props {
        observe,
        target: "mine".into(),
        opened: true,
        whose: "wirelab's app server".into(),
    })
    .await;
    assert_eq!(
        texts(&panel, "#server-calls li"),
        ["recv(4096) → 5 B after 900 ms"]
    );
    assert!(all(&panel, "#server-pending").is_empty());
}
