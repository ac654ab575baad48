//! **Watch your own client**: the relay's `--expose NAME=HOST:PORT` makes
//! an embedded server listen for the learner's own programs too; this tab
//! opens its watch stream (`/ws?watch=NAME`) and shows each connection that
//! arrives there as the playground shows a session's server side: the
//! server's calls and log, its decoder after each `recv()`, its socket, and
//! the bytes it received in the hex view, chunk by chunk.
//!
//! [`watch_model`](super::watch_model) holds the state; the one socket lives
//! here, as the Many connections lab's do.

use std::cell::RefCell;
use std::rc::Rc;

use protocol::relay_api::{Observation, TargetInfo};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, Event, HtmlSelectElement, MessageEvent, WebSocket};
use yew::prelude::*;

pub use super::watch_model::*;
use crate::components::{HexSource, HexView, ServerPanel, SocketTable};
use crate::model::{counted, request_line};

/// The open watch stream and the handlers it calls.
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

fn open(url: &str, dispatch: Callback<WatchAction>) -> Option<Socket> {
    let ws = WebSocket::new(url).ok()?;
    let now = || js_sys::Date::now();
    let on_open = {
        let dispatch = dispatch.clone();
        Closure::<dyn FnMut(Event)>::new(move |_: Event| dispatch.emit(WatchAction::Opened))
    };
    let on_message = {
        let dispatch = dispatch.clone();
        Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let Some(text) = event
                .dyn_into::<MessageEvent>()
                .ok()
                .and_then(|e| e.data().as_string())
            else {
                return;
            };
            dispatch.emit(match Observation::from_json(&text) {
                Ok(observation) => WatchAction::Observed(now(), observation),
                Err(_) => WatchAction::Unreadable,
            });
        })
    };
    let on_close = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
        if let Ok(e) = event.dyn_into::<CloseEvent>() {
            dispatch.emit(WatchAction::Closed(e.code(), e.reason()));
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

/// The Watch tab.
#[component]
pub fn WatchLab() -> Html {
    // Reduced in place and redrawn, as the Many connections lab is.
    let lab = use_mut_ref(Watching::new);
    let redraw = use_force_update();
    let socket: Rc<RefCell<Option<Socket>>> = use_mut_ref(|| None);
    let targets = use_state(|| None::<Result<Vec<TargetInfo>, String>>);
    let dispatch = {
        let lab = lab.clone();
        Callback::from(move |a| {
            lab.borrow_mut().apply(a);
            redraw.force_update();
        })
    };
    let start = {
        let dispatch = dispatch.clone();
        Callback::from(move |target: String| {
            // The old stream's handlers go before the new state comes.
            socket.borrow_mut().take();
            dispatch.emit(WatchAction::Start(target.clone()));
            *socket.borrow_mut() = open(&crate::app::watch_url(&target), dispatch.clone());
        })
    };
    {
        let targets = targets.clone();
        let start = start.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let loaded = crate::app::fetch_targets().await;
                let first = loaded
                    .as_deref()
                    .ok()
                    .and_then(|l| exposed(l).into_iter().next());
                if let Some((name, _)) = first {
                    start.emit(name);
                }
                targets.set(Some(loaded));
            });
        });
    }
    let list = match &*targets {
        Some(Ok(list)) => exposed(list),
        _ => Vec::new(),
    };
    let lab = lab.borrow();
    let address = list
        .iter()
        .find(|(name, _)| *name == lab.target)
        .map(|(_, address)| address.clone());
    let on_pick_target = start.reform(|e: Event| {
        e.target_dyn_into::<HtmlSelectElement>()
            .map(|s| s.value())
            .unwrap_or_default()
    });
    let intro = match (&*targets, &address) {
        (None, _) => {
            html! { <p class="hint" id="watch-status">{ "asking the relay for its targets…" }</p> }
        }
        (Some(Err(e)), _) => html! { <p class="error" id="watch-status">{ e }</p> },
        (Some(Ok(_)), None) => html! {
            <p class="hint" id="watch-status">{ "The relay exposes no target. Start it with " }<code>{ "--expose app=127.0.0.1:65432" }</code>{ " and reload: the app server then also listens at that address for your own client, and each connection to it shows here." }</p>
        },
        (Some(Ok(_)), Some(address)) => html! {
            <>
            <label>{ "exposed target " }
                <select id="watch-target" onchange={on_pick_target}>
                    { for list.iter().map(|(name, address)| html! {
                        <option value={name.clone()} selected={*name == lab.target}>{ format!("{name} at {address}") }</option>
                    }) }
                </select>
            </label>
            <p id="watch-run">{ "Run " }<code id="watch-command">{ client_command(&lab.target, address) }</code>{ " and watch it arrive." }</p>
            <p class="hint" id="watch-status" role="status">{ stream_words(&lab.stream, address) }</p>
            </>
        },
    };
    let shown = lab.shown().map(|a| a.conn);
    let picks = lab.arrivals.iter().rev().map(|a| {
        let conn = a.conn;
        let pick = dispatch.reform(move |_: MouseEvent| WatchAction::Pick(conn));
        html! {
            <li><button type="button" class={classes!("small", (shown == Some(conn)).then_some("on"))}
                data-conn={conn.to_string()} onclick={pick}>
                { format!("#{conn} from {}", a.peer().unwrap_or("…")) }
            </button></li>
        }
    });
    html! {
        <main class="grid">
            <section class="panel wide" id="watch" aria-labelledby="watch-h">
                <h2 id="watch-h">{ "Watch your own client" }</h2>
                { intro }
                if lab.arrived > 0 {
                    <p class="hint">{ format!("{} arrived; newest first:", counted(lab.arrived, "connection", "connections")) }</p>
                    <ol class="watch-arrivals" id="watch-arrivals">{ for picks }</ol>
                }
                if lab.lost > 0 {
                    <p class="error" id="watch-lost">{ format!("{} lost: this page read too slowly for the relay", counted(lab.lost, "observation", "observations")) }</p>
                }
            </section>
            if let Some(a) = lab.shown() {
                { arrival(a, &lab.target) }
            }
        </main>
    }
}

fn stream_words(stream: &Stream, address: &str) -> String {
    match stream {
        Stream::Idle | Stream::Connecting => "opening the watch stream…".to_owned(),
        Stream::Open => format!("watching {address}: connections show here as they arrive"),
        Stream::Closed(code, reason) => {
            format!("the watch stream closed ({code} {reason}); pick the target again to reopen it")
        }
    }
}

/// One connection: the server's calls, its socket, the bytes it received.
fn arrival(a: &Arrival, target: &str) -> Html {
    let whose = format!("wirelab's {target} server; the client is yours");
    let client = "your client (not observed; its address is the server's Foreign Address)";
    let requests = a.inbound.messages.iter().map(|d| {
        html! { <p class="server-request" data-testid="watch-request">{ request_line(&d.message) }</p> }
    });
    html! {
        <>
        <section class="panel" id="server-panel" aria-labelledby="watch-server-h">
            <h2 id="watch-server-h">{ format!("Server: connection #{}", a.conn) }</h2>
            <ServerPanel observe={a.observe.clone()} target={AttrValue::from(target.to_owned())} opened=true whose={AttrValue::from(whose)} />
        </section>
        <section class="panel" id="watch-sockets" aria-labelledby="watch-sockets-h">
            <h2 id="watch-sockets-h">{ "Sockets (like netstat -an)" }</h2>
            <SocketTable observe={a.observe.clone()} target={AttrValue::from(target.to_owned())} opened=true flood={None}
                client={AttrValue::from(client)} />
        </section>
        <section class="panel wide" id="watch-bytes" aria-labelledby="watch-bytes-h">
            <h2 id="watch-bytes-h">{ "The bytes the server received" }</h2>
            if a.missing > 0 {
                <p class="error" id="watch-missing">{ format!("{} more bytes were received that the relay did not pass on (this page read too slowly): the bytes below stop there", a.missing) }</p>
            }
            { for requests }
            if let Some(e) = &a.inbound.error {
                <p class="error" id="watch-decode-error">{ format!("decoder stopped: {e}") }</p>
            }
            if a.inbound.bytes.is_empty() {
                <p class="hint">{ "Nothing received yet." }</p>
            } else {
                <HexView source={HexSource::Incoming(a.inbound.clone())} highlight={None} selected={None}
                    on_hover={Callback::noop()} on_select={Callback::noop()} on_notice={Callback::noop()} id="hex-watch" />
            }
        </section>
        </>
    }
}
