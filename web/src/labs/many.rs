//! **Many connections**: the tutorial's multi-connection client, in the
//! browser, against its event-loop server (`multiconn`). 2–8 WebSockets
//! (each one TCP connection from the relay) send "Message 1 from client."
//! on every connection, then "Message 2 from client." on every connection,
//! and half-close once all they sent came back. Beside them: the server's
//! loop, one row per iteration (which of these sockets were ready, for what,
//! and what the server did), and one lane per connection.
//!
//! The sockets live here rather than in `hooks::use_websocket`, which holds
//! the playground's one session and reports to its reducer; these are N
//! sockets reporting to [`Lab`].

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use js_sys::{ArrayBuffer, Uint8Array};
use protocol::python::python_bytes_repr;
use protocol::relay_api::{Observation, Readiness};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, Event, HtmlSelectElement, MessageEvent, WebSocket};
use yew::prelude::*;

use crate::components::lessons::{LessonHub, LessonMsg};
use crate::model::lessons::{Evidence, ManyFacts, Place, Setup};

pub use super::many_model::*;

/// The relay's target running the event-loop server.
pub const TARGET: &str = "multiconn";
/// Pause between the two rounds of messages, so the loop's iterations for
/// the first can be told from the second's.
const ROUND_MS: u32 = 300;
/// How long the lab waits for its sockets to open before sending anyway.
const OPEN_WAIT_MS: u32 = 5000;

/// One open WebSocket and the handlers it calls.
struct Socket {
    ws: WebSocket,
    _handlers: [Closure<dyn FnMut(Event)>; 3],
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// Opens connection `n` of run `run`; it half-closes once `expect` bytes came back.
fn open(
    url: &str,
    run: u32,
    n: usize,
    expect: usize,
    dispatch: Callback<ManyAction>,
) -> Option<Socket> {
    let emit = move |dispatch: &Callback<ManyAction>, event| {
        dispatch.emit(ManyAction::Conn {
            run,
            conn: n,
            event,
        })
    };
    let ws = WebSocket::new(url).ok()?;
    ws.set_binary_type(web_sys::BinaryType::Arraybuffer);
    let on_open = {
        let dispatch = dispatch.clone();
        Closure::<dyn FnMut(Event)>::new(move |_: Event| emit(&dispatch, ConnEvent::Opened))
    };
    let on_message = {
        let dispatch = dispatch.clone();
        let ws = ws.clone();
        let mut received = 0;
        Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let Ok(event) = event.dyn_into::<MessageEvent>() else {
                return;
            };
            let data = event.data();
            if let Some(text) = data.as_string() {
                if let Ok(observation) = Observation::from_json(&text) {
                    emit(&dispatch, ConnEvent::Observed(observation));
                }
            } else if let Ok(buffer) = data.dyn_into::<ArrayBuffer>() {
                let bytes = Uint8Array::new(&buffer).to_vec();
                received += bytes.len();
                emit(&dispatch, ConnEvent::Received(bytes));
                // The tutorial's client closes once it has all it sent; here
                // the close is a half-close, so the server's recv() → b''
                // and its close() are seen too.
                if received == expect && ws.send_with_u8_array(&[]).is_ok() {
                    emit(&dispatch, ConnEvent::HalfClosed);
                }
            }
        })
    };
    let on_close = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        if let Ok(event) = event.dyn_into::<CloseEvent>() {
            emit(&dispatch, ConnEvent::Closed(event.code()));
        }
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    Some(Socket {
        ws,
        _handlers: [on_open, on_message, on_close],
    })
}

/// Sends the tutorial's messages, round by round, on every socket of `run`.
async fn send_rounds(
    sockets: Rc<RefCell<Vec<Socket>>>,
    run: Rc<RefCell<u32>>,
    this_run: u32,
    dispatch: Callback<ManyAction>,
) {
    let mut waited = 0;
    let all_open = |sockets: &Rc<RefCell<Vec<Socket>>>| {
        sockets
            .borrow()
            .iter()
            .all(|s| s.ws.ready_state() != WebSocket::CONNECTING)
    };
    while !all_open(&sockets) && waited < OPEN_WAIT_MS {
        TimeoutFuture::new(20).await;
        waited += 20;
    }
    for (round, message) in MESSAGES.iter().enumerate() {
        if round > 0 {
            TimeoutFuture::new(ROUND_MS).await;
        }
        if *run.borrow() != this_run {
            return;
        }
        for (i, socket) in sockets.borrow().iter().enumerate() {
            if socket.ws.ready_state() == WebSocket::OPEN
                && socket.ws.send_with_u8_array(message.as_bytes()).is_ok()
            {
                dispatch.emit(ManyAction::Conn {
                    run: this_run,
                    conn: i + 1,
                    event: ConnEvent::Sent(message.as_bytes().to_vec()),
                });
            }
        }
    }
}

/// The Many connections lab.
#[component]
pub fn ManyConnections() -> Html {
    // Reduced in place and redrawn: a reducer handle would clone the lab
    // per event (and its code weighs on the page budget).
    let lab = use_mut_ref(Lab::default);
    let redraw = use_force_update();
    let count = use_state(|| 4usize);
    let sockets = use_mut_ref(Vec::<Socket>::new);
    let run = use_mut_ref(|| 0u32);

    let hub = use_context::<LessonHub>();
    // A lesson's Set it up, on the render that brings it.
    if let Some(hub) = &hub {
        if let Some(Setup::Many { connections }) = hub.take_setup(Place::Many) {
            count.set(connections);
            hub.on
                .emit(LessonMsg::Applied(Place::Many, lab.borrow().run));
        }
    }

    let on_count = {
        let count = count.clone();
        Callback::from(move |e: Event| {
            if let Some(select) = e.target_dyn_into::<HtmlSelectElement>() {
                count.set(select.value().parse().unwrap_or(4));
            }
        })
    };
    let on_start = {
        let lab = lab.clone();
        let redraw = redraw.clone();
        let url = crate::socket_url::lab_socket_url(TARGET);
        let count = *count;
        let sockets = sockets.clone();
        let run = run.clone();
        Callback::from(move |_| {
            let this_run = {
                let mut run = run.borrow_mut();
                *run += 1;
                *run
            };
            let dispatch = Callback::from({
                let lab = lab.clone();
                let redraw = redraw.clone();
                move |a| {
                    lab.borrow_mut().reduce(a);
                    redraw.force_update();
                }
            });
            dispatch.emit(ManyAction::Start {
                run: this_run,
                count,
            });
            let expect = MESSAGES.iter().map(|m| m.len()).sum();
            let opened: Vec<Socket> = (1..=count)
                .filter_map(|n| open(&url, this_run, n, expect, dispatch.clone()))
                .collect();
            *sockets.borrow_mut() = opened;
            wasm_bindgen_futures::spawn_local(send_rounds(
                sockets.clone(),
                run.clone(),
                this_run,
                dispatch,
            ));
        })
    };

    let lab = lab.borrow();
    let conns = &lab.conns;
    let facts = ManyFacts {
        connections: conns.len(),
        echoed: conns.iter().filter(|c| c.echoed()).count(),
        iterations: lab.iterations.len(),
        key: lab.run,
    };
    let lesson_bar = crate::components::lessons::bar(&hub, &Evidence::Many(facts));
    html! {
        <section class="panel wide many" id="many" aria-labelledby="many-h">
            { lesson_bar }
            <h2 id="many-h">{ "Many connections: the tutorial's event loop" }</h2>
            <p class="hint">{ format!("The multi-connection server runs one thread: each poll() (the tutorial's sel.select()) returns the sockets that are ready, and the loop serves each: accept() on the listening socket, recv() when readable, send() of what it owes when writable. Every connection sends \"Message 1 from client.\", then, {ROUND_MS} ms later, every connection sends \"Message 2 from client.\"; once all of it is back on a connection, the browser half-closes it: the server's recv() returns b'' and it closes that socket.") }</p>
            <p class="hint" id="many-trigger">{ "One difference from selectors: sel.select() is level-triggered (it returns a socket for as long as it is ready), while this server's poll() (Rust's mio) is edge-triggered (it reports a readiness once, when it appears). So after every call that moved bytes the server registers the socket again, and a socket still ready comes back at the next poll(), as with selectors. What changes: a socket that is writable with nothing to send is reported once, not at every poll(), so this loop does not spin the way the tutorial's does." }</p>
            <div class="many-controls">
                <label>{ "Connections " }
                    <select id="many-count" onchange={on_count}>
                        { for (MIN_CONNECTIONS..=MAX_CONNECTIONS).map(|n| html! {
                            <option value={n.to_string()} selected={n == *count}>{ n }</option>
                        }) }
                    </select>
                </label>
                <button type="button" id="many-start" onclick={on_start}>{ "Open and send" }</button>
            </div>
            <table class="many-conns" id="many-conns">
                <thead><tr><th>{ "connection" }</th><th>{ "sent" }</th><th>{ "came back" }</th><th>{ "state" }</th></tr></thead>
                <tbody>
                { for conns.iter().enumerate().map(|(i, c)| html! {
                    <tr data-conn={(i + 1).to_string()} class={if c.echoed() { "ok" } else { "" }}>
                        <td>{ i + 1 }</td>
                        <td class="mono sent">{ python_bytes_repr(&c.sent) }</td>
                        <td class="mono back">{ python_bytes_repr(&c.received) }</td>
                        <td class="state">{ status_words(c) }</td>
                    </tr>
                }) }
                </tbody>
            </table>
            <div class="many-grid">
                { iteration_table(&lab) }
                { lanes(&lab) }
            </div>
        </section>
    }
}

fn status_words(conn: &Conn) -> String {
    let state = match conn.status {
        Status::Connecting => "connecting".to_owned(),
        Status::Open => "open".to_owned(),
        Status::HalfClosed => "half-closed".to_owned(),
        Status::Closed(code) => format!("closed ({code})"),
    };
    if conn.echoed() {
        state + ", echoed whole"
    } else {
        state
    }
}

/// A `<div>` with a class and a text: most of the lab's cells (one
/// `html!` for all of them keeps the page small).
fn div(class: String, text: String) -> Html {
    html! { <div {class}>{ text }</div> }
}

fn iteration_table(lab: &Lab) -> Html {
    let mut rows = Vec::new();
    for (number, it) in &lab.iterations {
        let others = (it.ready as usize).saturating_sub(it.entries.len());
        for (k, e) in it.entries.iter().enumerate() {
            let ready = if e.io == Readiness::Accept {
                ready_words(e.io).to_owned()
            } else {
                format!("connection {}: {}", e.conn, ready_words(e.io))
            };
            let mut calls: Vec<Html> = e
                .calls
                .iter()
                .map(|c| div(String::new(), call_words(c, e.conn)))
                .collect();
            if calls.is_empty() {
                calls.push(div(String::new(), idle_words(e.io).to_owned()));
            }
            let first = (k == 0).then(|| {
                let more = (others > 0).then(|| div("muted".into(), format!("+{others} other ready")));
                html! { <td rowspan={it.entries.len().to_string()}>{ format!("#{number}") }{ for more }</td> }
            });
            rows.push(html! {
                <tr data-iteration={number.to_string()}>
                    { for first }
                    <td class="ready" data-conn={e.conn.to_string()} data-io={io_name(e.io)}>{ ready }</td>
                    <td class="calls mono">{ for calls }</td>
                </tr>
            });
        }
    }
    html! {
        <table class="many-iterations" id="many-iterations">
            <thead><tr><th>{ "poll()" }</th><th>{ "ready socket" }</th><th>{ "what the loop did" }</th></tr></thead>
            <tbody>{ for rows }</tbody>
        </table>
    }
}

fn io_name(io: Readiness) -> &'static str {
    match io {
        Readiness::Accept => "accept",
        Readiness::Read => "read",
        Readiness::Write => "write",
        Readiness::ReadWrite => "read_write",
    }
}

/// One column per connection, one row per iteration: the loop serving
/// the connections in turn.
fn lanes(lab: &Lab) -> Html {
    let n = lab.conns.len();
    let style = format!("grid-template-columns: 3.5rem repeat({n}, minmax(4.5rem, 1fr))");
    let mut cells = vec![div("lane-h".into(), "poll()".into())];
    for c in 1..=n {
        cells.push(div("lane-h".into(), format!("conn {c}")));
    }
    for (number, it) in &lab.iterations {
        cells.push(div("lane-n".into(), format!("#{number}")));
        for c in 1..=n {
            cells.push(match it.entries.iter().find(|e| e.conn == c) {
                Some(e) => html! { <div class={format!("lane {}", io_name(e.io))} data-conn={c.to_string()}>{ lane_words(e) }</div> },
                None => div("lane empty".into(), String::new()),
            });
        }
    }
    html! {
        <div class="many-lanes" id="many-lanes" {style} role="table" aria-label="one lane per connection">
            { for cells }
        </div>
    }
}
