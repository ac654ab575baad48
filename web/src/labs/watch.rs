//! **Watch your own client**: the relay's `--expose NAME=HOST:PORT` makes
//! an embedded server listen for the learner's own programs too; this tab
//! opens its watch stream (`/ws?watch=NAME`) and shows each connection that
//! arrives there as the playground shows a session's server side: the
//! server's calls and log, its decoder after each `recv()`, its socket, and
//! the bytes it received in the hex view, chunk by chunk.
//!
//! [`watch_model`](super::watch_model) holds the state; the stream is the
//! playground's socket hook (`hooks::use_websocket`) with its own reducer.

use web_sys::HtmlSelectElement;
use yew::prelude::*;

pub use super::watch_model::*;
use crate::components::{HexSource, HexView, ServerPanel, SocketTable};
use crate::hooks::use_websocket;
use crate::model::{counted, SessionAction};

/// The Watch tab.
#[component]
pub fn WatchLab() -> Html {
    // Reduced in place and redrawn, as the Many connections lab is.
    let lab = use_mut_ref(Watching::new);
    let redraw = use_force_update();
    // The exposed targets and their addresses, once the relay said.
    let targets = use_state(|| None::<Result<Vec<(String, String)>, String>>);
    let dispatch = {
        let lab = lab.clone();
        Callback::from(move |a| {
            lab.borrow_mut().apply(a);
            redraw.force_update();
        })
    };
    let socket = use_websocket({
        let dispatch = dispatch.clone();
        Callback::from(move |action| {
            let mut actions = Vec::new();
            watch_actions(action, &mut actions);
            for action in actions {
                dispatch.emit(action);
            }
        })
    });
    let start = Callback::from(move |target: String| {
        socket.connect(&crate::socket_url::watch_url(&target), &target)
    });
    {
        let targets = targets.clone();
        let start = start.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let loaded = crate::relay_http::fetch_targets()
                    .await
                    .map(|l| exposed(&l));
                if let Some((name, _)) = loaded.as_ref().ok().and_then(|l| l.first()) {
                    start.emit(name.clone());
                }
                targets.set(Some(loaded));
            });
        });
    }
    let lab = lab.borrow();
    let list = match &*targets {
        Some(Ok(list)) => list.as_slice(),
        _ => &[],
    };
    let address = list
        .iter()
        .find(|(name, _)| *name == lab.target)
        .map(|(_, a)| a);
    let status = match (&*targets, address, &lab.stream) {
        (None, ..) => "asking the relay for its targets…".to_owned(),
        (Some(Err(e)), ..) => e.clone(),
        (_, None, _) => "The relay exposes no target: start it with --expose app=127.0.0.1:65432 and reload. The app server then also listens at that address for your own client, and each connection to it shows here.".to_owned(),
        (_, Some(a), Stream::Open) => format!("watching {a}: connections show here as they arrive"),
        (_, _, Stream::Closed(code, reason)) => format!("the watch stream closed ({code} {reason}); pick the target again to reopen it"),
        _ => "opening the watch stream…".to_owned(),
    };
    let on_pick_target = start.reform(|e: Event| {
        e.target_dyn_into::<HtmlSelectElement>()
            .map(|s| s.value())
            .unwrap_or_default()
    });
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
                if let Some(address) = address {
                    <select id="watch-target" aria-label="exposed target" onchange={on_pick_target}>
                        { for list.iter().map(|(name, address)| html! {
                            <option value={name.clone()} selected={*name == lab.target}>{ format!("{name} at {address}") }</option>
                        }) }
                    </select>
                    <p id="watch-run">{ "Run " }<code id="watch-command">{ client_command(&lab.target, address) }</code>{ " and watch it arrive." }</p>
                }
                <p class="hint" id="watch-status" role="status">{ status }</p>
                if lab.arrived > 0 {
                    <ol class="watch-arrivals" id="watch-arrivals" aria-label="connections, newest first">{ for picks }</ol>
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

/// One connection: the server's calls and socket, the bytes it received.
fn arrival(a: &Arrival, target: &str) -> Html {
    let target = AttrValue::from(target.to_owned());
    let whose = AttrValue::from(format!("wirelab's {target} server; the client is yours"));
    html! {
        <>
        <section class="panel" id="server-panel" aria-labelledby="watch-server-h">
            <h2 id="watch-server-h">{ format!("Server: connection #{}", a.conn) }</h2>
            <ServerPanel observe={a.observe.clone()} target={target.clone()} opened=true {whose} />
            <SocketTable observe={a.observe.clone()} {target} opened=true flood={None}
                client={AttrValue::from("yours (not observed: its address is the server's Foreign Address)")} />
        </section>
        <section class="panel" id="watch-bytes" aria-labelledby="watch-bytes-h">
            <h2 id="watch-bytes-h">{ "The bytes the server received" }</h2>
            if a.missing > 0 {
                <p class="error" id="watch-missing">{ format!("{} more bytes were received that the relay did not pass on (this page read too slowly): the bytes below stop there", a.missing) }</p>
            }
            <HexView source={HexSource::Incoming(a.inbound.clone())} highlight={None} selected={None}
                on_hover={Callback::noop()} on_select={Callback::noop()} on_notice={Callback::noop()} id="hex-watch"
                chunk={AttrValue::Static("one recv() of the server")} />
        </section>
        </>
    }
}

/// What the watch stream's socket events mean to the Watch tab; the socket
/// hook gathers observations into batches ([`SessionAction::Batch`]), which
/// are unfolded here in order.
fn watch_actions(action: SessionAction, out: &mut Vec<WatchAction>) {
    match action {
        SessionAction::Batch(actions) => {
            for action in actions {
                watch_actions(action, out);
            }
        }
        SessionAction::Connecting { target, .. } => out.push(WatchAction::Start(target)),
        SessionAction::Opened { .. } => out.push(WatchAction::Opened),
        SessionAction::Observed {
            at, observation, ..
        } => out.push(WatchAction::Observed(at, observation)),
        SessionAction::Closed { code, reason, .. } => out.push(WatchAction::Closed(code, reason)),
        _ => {}
    }
}
