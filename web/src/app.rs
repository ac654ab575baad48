//! The root component: holds the reducer and connects it to the outside
//! world (the WebSocket, the relay's `/targets`, the URL hash, timers).

use gloo_timers::callback::Timeout;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;
use yew::prelude::*;

use crate::components::{
    Composer, DecodeView, EncodeSteps, HexSource, HexView, SequenceDiagram, StructureTree,
    TargetPicker, Transcript,
};
use crate::hooks::{use_websocket, SendPlan};
use crate::share::{self, Shared};
use crate::state::{parse_targets, Action, Pane, State, MAX_SEGMENTS};

/// How long a notice (copied, ...) stays up.
const NOTICE_MS: u32 = 3000;

/// The state a page starts from: the link's, else the defaults.
pub fn initial_state() -> State {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    match share::from_hash(&hash) {
        Some(Shared {
            composer,
            target,
            send,
        }) => State::with(composer, target, send),
        None => State::default(),
    }
}

/// `ws://host/ws?target=NAME` on the page's own origin.
fn socket_url(target: &str) -> String {
    let location = web_sys::window().map(|w| w.location());
    let (protocol, host) = location
        .map(|l| {
            (
                l.protocol().unwrap_or_default(),
                l.host().unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    let scheme = if protocol == "https:" { "wss:" } else { "ws:" };
    format!(
        "{scheme}//{host}/ws?target={}",
        share::percent_encode(target)
    )
}

async fn fetch_targets() -> Result<Vec<crate::state::TargetInfo>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let unreachable = |e: wasm_bindgen::JsValue| {
        let why = js_sys::Error::from(e).message();
        format!("relay unreachable: GET /targets failed ({why})")
    };
    let response: Response = JsFuture::from(window.fetch_with_str("/targets"))
        .await
        .map_err(unreachable)?
        .dyn_into()
        .map_err(|_| "GET /targets: not a response".to_owned())?;
    if !response.ok() {
        return Err(format!(
            "relay unreachable: GET /targets answered {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let text = JsFuture::from(response.text().map_err(unreachable)?)
        .await
        .map_err(unreachable)?
        .as_string()
        .unwrap_or_default();
    parse_targets(&text)
}

#[component]
pub fn App() -> Html {
    let state = use_reducer(initial_state);
    let dispatch: Callback<Action> = {
        let dispatcher = state.dispatcher();
        Callback::from(move |a| dispatcher.dispatch(a))
    };
    let socket = use_websocket(dispatch.clone());

    use_effect_with((), |_| {
        // Effects run once the first render is in the DOM: the budget script
        // (e2e/measure_budgets.py) reads this mark.
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark("wirelab-first-render");
        }
    });
    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                dispatch.emit(Action::TargetsLoaded(fetch_targets().await));
            });
        });
    }
    {
        // A link pasted into this tab changes only the hash: load it.
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                let hash = web_sys::window()
                    .and_then(|w| w.location().hash().ok())
                    .unwrap_or_default();
                if let Some(Shared {
                    composer,
                    target,
                    send,
                }) = share::from_hash(&hash)
                {
                    dispatch.emit(Action::Load {
                        composer: Box::new(composer),
                        target,
                        send,
                    });
                }
            });
            let window = web_sys::window();
            if let Some(w) = &window {
                let _ = w.add_event_listener_with_callback(
                    "hashchange",
                    listener.as_ref().unchecked_ref(),
                );
            }
            move || {
                if let Some(w) = window {
                    let _ = w.remove_event_listener_with_callback(
                        "hashchange",
                        listener.as_ref().unchecked_ref(),
                    );
                }
            }
        });
    }
    {
        // The link always reproduces what is on screen.
        let shared = Shared {
            composer: state.composer.clone(),
            target: state.target.clone(),
            send: state.send,
        };
        use_effect_with(shared, |shared| {
            let hash = format!("#{}", share::to_hash(shared));
            if let Some(window) = web_sys::window() {
                if window.location().hash().ok().as_deref() != Some(hash.as_str()) {
                    if let Ok(history) = window.history() {
                        let _ = history.replace_state_with_url(
                            &wasm_bindgen::JsValue::NULL,
                            "",
                            Some(&hash),
                        );
                    }
                }
            }
        });
    }
    {
        let dispatch = dispatch.clone();
        use_effect_with(state.notice.clone(), move |notice| {
            let timer = notice
                .is_some()
                .then(|| Timeout::new(NOTICE_MS, move || dispatch.emit(Action::Notice(None))));
            move || drop(timer)
        });
    }

    let on_connect = {
        let socket = socket.clone();
        let target = state.target.clone();
        Callback::from(move |()| socket.connect(&socket_url(&target), &target))
    };
    let on_send = {
        let socket = socket.clone();
        let target = state.target.clone();
        let plan = SendPlan {
            segments: Vec::new(),
            delay_ms: state.send.delay_ms,
        };
        let composed = state.composed.clone();
        let send = state.send;
        let dispatch = dispatch.clone();
        Callback::from(move |()| {
            let count = send.count(composed.bytes.len());
            if count > MAX_SEGMENTS {
                dispatch.emit(Action::Notice(Some(format!(
                    "{count} segments is more than {MAX_SEGMENTS}: raise the segment size"
                ))));
                return;
            }
            if !socket.is_live() {
                socket.connect(&socket_url(&target), &target);
            }
            socket.send(SendPlan {
                segments: send.segments(&composed.bytes),
                ..plan.clone()
            });
        })
    };
    let on_half_close = {
        let socket = socket.clone();
        Callback::from(move |()| socket.half_close())
    };
    let on_close = {
        let socket = socket.clone();
        Callback::from(move |()| socket.close())
    };
    let copy_link = {
        let dispatch = dispatch.clone();
        move |_| {
            let href = web_sys::window()
                .and_then(|w| w.location().href().ok())
                .unwrap_or_default();
            crate::components::copy_to_clipboard(
                href,
                "link to this message".into(),
                dispatch.clone(),
            );
        }
    };

    let outgoing = HexSource::Outgoing(state.composed.clone());
    let steps = state.steps();
    let focus = (state.step < 3 && !steps.is_empty()).then(|| steps[state.step].range.clone());
    let summary = state.session_summary().map(AttrValue::from);
    let d = dispatch;
    html! {
        <>
        <header class="top">
            <h1>{ "wirelab" }</h1>
            <p class="tagline">{ "A message of the Real Python socket tutorial's protocol, byte by byte: build it, send it to a real server, watch the reply arrive in chunks." }</p>
            <button type="button" class="small" id="copy-link" onclick={copy_link}>{ "Copy link to this message" }</button>
        </header>
        if let Some(notice) = &state.notice {
            <div class="notice" role="status" id="notice">{ notice }</div>
        }
        <main class="grid">
            <section class="panel" id="compose" aria-labelledby="compose-h">
                <h2 id="compose-h">{ "1 · Compose" }</h2>
                <Composer fields={state.composer.clone()} composed={state.composed.clone()} dispatch={d.clone()} />
            </section>
            <section class="panel" id="encode" aria-labelledby="encode-h">
                <h2 id="encode-h">{ "2 · Encode, step by step" }</h2>
                <EncodeSteps steps={steps.clone()} step={state.step} playing={state.playing}
                    bytes={state.composed.clone()} dispatch={d.clone()} />
            </section>
            <section class="panel wide" id="bytes" aria-labelledby="bytes-h">
                <h2 id="bytes-h">{ "3 · The bytes" }</h2>
                <div class="bytes-grid">
                    <HexView source={outgoing.clone()} highlight={state.highlight(Pane::Outgoing)}
                        selected={state.selected.filter(|(p, _)| *p == Pane::Outgoing).map(|(_, i)| i)}
                        {focus} dispatch={d.clone()} id="hex-out" />
                    <StructureTree source={outgoing} highlight={state.highlight(Pane::Outgoing)} dispatch={d.clone()} />
                </div>
            </section>
            <section class="panel" id="send-panel" aria-labelledby="send-h">
                <h2 id="send-h">{ "4 · Send" }</h2>
                <TargetPicker targets={state.targets.clone()} target={state.target.clone()} send={state.send}
                    conn={state.conn.clone()} frame_len={state.composed.bytes.len()} dispatch={d.clone()}
                    {on_connect} {on_send} {on_half_close} {on_close} />
            </section>
            <section class="panel" id="timeline" aria-labelledby="timeline-h">
                <h2 id="timeline-h">{ "Session" }</h2>
                <SequenceDiagram session={state.session.clone()} />
                <Transcript session={state.session.clone()} />
            </section>
            <section class="panel wide" id="decode" aria-labelledby="decode-h">
                <h2 id="decode-h">{ "5 · Decode, chunk by chunk" }</h2>
                <DecodeView inbound={state.inbound.clone()} {summary} local={state.local_decode}
                    highlight={state.highlight(Pane::Incoming)}
                    selected={state.selected.filter(|(p, _)| *p == Pane::Incoming).map(|(_, i)| i)}
                    dispatch={d.clone()} />
            </section>
        </main>
        </>
    }
}
