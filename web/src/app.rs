//! The root component: holds the reducer and connects it to the outside
//! world (the WebSocket, the relay's `/targets`, the URL hash, timers), and
//! turns each panel's narrow callbacks into actions.

use gloo_timers::callback::Timeout;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::components::lessons::{self as lesson, LessonHub, LessonMsg, Lessons};
use crate::components::{
    Composer, DecodeView, EncodeSteps, HexSource, HexView, ReplayBar, SequenceDiagram, ServerPanel,
    SocketTable, StructureTree, TargetPicker, Transcript,
};
use crate::hooks::{use_websocket, FloodPlan, SendPlan};
use crate::labs::many::ManyConnections;
use crate::model::lessons::{lesson_from_hash, Evidence, Place, Setup, LESSONS};
use crate::model::send::flood_message_len;
use crate::model::{
    offence, Action, ComposeAction, Pane, ReplayAction, SendAction, State, ViewAction, FLOOD_LIMIT,
};
use crate::relay_http::{fetch_limits, fetch_targets};
use crate::share::{self, Shared};
use crate::socket_url::socket_url;

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

/// A callback that dispatches the action `make` builds from what a panel
/// reports (yew's `function_todomvc` example wires its panels the same way).
fn make_callback<T: 'static>(
    dispatcher: &UseReducerDispatcher<State>,
    make: impl Fn(T) -> Action + 'static,
) -> Callback<T> {
    let dispatcher = dispatcher.clone();
    Callback::from(move |value| dispatcher.dispatch(make(value)))
}

/// Hover and selection callbacks for the spans of one pane's bytes.
fn span_callbacks(
    dispatcher: &UseReducerDispatcher<State>,
    pane: Pane,
) -> (Callback<Option<usize>>, Callback<usize>) {
    (
        make_callback(dispatcher, move |span: Option<usize>| {
            Action::View(ViewAction::Hover(span.map(|s| (pane, s))))
        }),
        make_callback(dispatcher, move |span| {
            Action::View(ViewAction::Select(Some((pane, span))))
        }),
    )
}

/// Whose calls the Server panel shows: a `--run` program's or wirelab's.
fn server_whose(state: &State) -> AttrValue {
    match &state.targets {
        crate::model::Targets::Loaded(list) => {
            crate::model::calls::whose_calls(&state.session.target, list).into()
        }
        _ => AttrValue::default(),
    }
}

/// The page's modes, one tab each (labs add theirs here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// The lessons: a path through the tutorial.
    Lessons,
    /// One message, byte by byte.
    Playground,
    /// The four ways to find a message's end.
    Framing,
    /// The event-loop server serving several connections at once.
    Many,
    /// The learner's own client at an `--expose`d target.
    Watch,
}

impl Tab {
    /// Every tab, in the bar's order.
    pub const ALL: [Tab; 5] = [
        Tab::Lessons,
        Tab::Playground,
        Tab::Framing,
        Tab::Many,
        Tab::Watch,
    ];

    /// The tab button's label.
    pub fn label(self) -> &'static str {
        match self {
            Tab::Lessons => "Lessons",
            Tab::Playground => "Playground",
            Tab::Framing => "Framing",
            Tab::Many => "Many connections",
            Tab::Watch => "Watch your own client",
        }
    }

    /// The tab button's element id.
    pub fn id(self) -> &'static str {
        match self {
            Tab::Lessons => "tab-lessons",
            Tab::Playground => "tab-playground",
            Tab::Framing => "tab-framing",
            Tab::Many => "tab-many",
            Tab::Watch => "tab-watch",
        }
    }

    fn view(self) -> Html {
        match self {
            Tab::Lessons => Html::default(),
            Tab::Playground => html! { <Playground /> },
            Tab::Framing => html! { <crate::labs::FramingLab /> },
            Tab::Many => html! { <main class="grid"><ManyConnections /></main> },
            Tab::Watch => html! { <crate::labs::watch::WatchLab /> },
        }
    }
}

impl From<Place> for Tab {
    fn from(place: Place) -> Tab {
        match place {
            Place::Playground => Tab::Playground,
            Place::Framing => Tab::Framing,
            Place::Many => Tab::Many,
        }
    }
}

/// The page's hash now.
fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Moves focus to Send; the link's own navigation would replace the hash,
/// which holds the message.
fn skip_to_send(e: MouseEvent) {
    e.prevent_default();
    let send = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("send"))
        .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(send) = send {
        send.scroll_into_view();
        let _ = send.focus();
    }
}

/// The tab bar over the page; the chosen tab's page below it. The
/// playground stays mounted (hidden) while another tab shows, so its
/// session, bytes and events survive a visit to the labs or the lessons.
#[component]
pub fn App() -> Html {
    let tab = use_state(|| match lesson_from_hash(&current_hash()) {
        Some(_) => Tab::Lessons,
        None => Tab::Playground,
    });
    let lessons = use_reducer(|| Lessons::load(lesson_from_hash(&current_hash())));
    let on_lesson = {
        let tab = tab.clone();
        let dispatcher = lessons.dispatcher();
        Callback::from(move |msg: LessonMsg| {
            match &msg {
                LessonMsg::Open(_) => tab.set(Tab::Lessons),
                LessonMsg::SetUp(n) => tab.set(LESSONS[*n].setup.place().into()),
                _ => {}
            }
            dispatcher.dispatch(msg);
        })
    };
    let hub = LessonHub {
        lessons: std::rc::Rc::new((*lessons).clone()),
        on: on_lesson,
    };
    let buttons = Tab::ALL.into_iter().map(|t| {
        let tab = tab.clone();
        let selected = *tab == t;
        html! {
            <button type="button" role="tab" id={t.id()}
                aria-selected={selected.to_string()} class={classes!(selected.then_some("on"))}
                onclick={move |_| tab.set(t)}>{ t.label() }</button>
        }
    });
    html! {
        <>
        if *tab == Tab::Playground {
            // First in the Tab order: the way past the tabs, presets and fields.
            <a class="skip-link" id="skip-to-send" href="#send-panel" onclick={skip_to_send}>{ "Skip to Send" }</a>
        }
        <nav class="tabs" role="tablist" aria-label="wirelab modes">{ for buttons }</nav>
        <ContextProvider<LessonHub> context={hub.clone()}>
            if *tab == Tab::Lessons {
                { lesson::page(&hub) }
            } else if *tab != Tab::Playground {
                { tab.view() }
            }
            // After the other tab: its element ids come first in the document.
            <div id="playground-tab" hidden={*tab != Tab::Playground}><Playground /></div>
        </ContextProvider<LessonHub>>
        </>
    }
}

/// The playground: compose, encode, send and decode one message.
#[component]
pub fn Playground() -> Html {
    let state = use_reducer(initial_state);
    let dispatcher = state.dispatcher();
    let on_notice = make_callback(&dispatcher, |notice| {
        Action::View(ViewAction::Notice(Some(notice)))
    });
    let socket = use_websocket(make_callback(&dispatcher, Action::Session));
    let hub = use_context::<LessonHub>();
    // A lesson's Set it up, on the render that brings it: a fresh session
    // with its message and options.
    if let Some(hub) = &hub {
        if let Some(Setup::Playground {
            preset,
            target,
            segment,
            delay_ms,
        }) = hub.take_setup(Place::Playground)
        {
            socket.close();
            let composer = crate::model::presets::find(preset)
                .map(|p| p.composer())
                .unwrap_or_default();
            dispatcher.dispatch(Action::Load {
                composer: Box::new(composer),
                target: target.into(),
                send: crate::model::SendOptions {
                    segment,
                    delay_ms,
                    max_message_size: None,
                },
            });
            hub.on
                .emit(LessonMsg::Applied(Place::Playground, state.session.id));
        }
    }

    use_effect_with((), |_| {
        // Effects run once the first render is in the DOM: the budget script
        // (e2e/measure_budgets.py) reads this mark.
        if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
            let _ = performance.mark("wirelab-first-render");
        }
    });
    {
        let dispatcher = dispatcher.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let loaded = fetch_targets().await;
                dispatcher.dispatch(Action::Send(SendAction::TargetsLoaded(loaded)));
                let limits = fetch_limits().await;
                dispatcher.dispatch(Action::Send(SendAction::LimitsLoaded(limits)));
            });
        });
    }
    {
        // A link pasted into this tab changes only the hash: load it.
        // (`#lesson=N` opens lesson N: one listener serves both.)
        let dispatcher = dispatcher.clone();
        let lesson_on = hub.as_ref().map(|h| h.on.clone());
        use_effect_with((), move |_| {
            let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                let hash = web_sys::window()
                    .and_then(|w| w.location().hash().ok())
                    .unwrap_or_default();
                if let (Some(n), Some(on)) = (lesson_from_hash(&hash), &lesson_on) {
                    on.emit(LessonMsg::Open(n));
                }
                if let Some(Shared {
                    composer,
                    target,
                    send,
                }) = share::from_hash(&hash)
                {
                    dispatcher.dispatch(Action::Load {
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
        let dispatcher = dispatcher.clone();
        use_effect_with(state.view.notice.clone(), move |notice| {
            let timer = notice.is_some().then(|| {
                Timeout::new(NOTICE_MS, move || {
                    dispatcher.dispatch(Action::View(ViewAction::Notice(None)))
                })
            });
            move || drop(timer)
        });
    }

    {
        // The result comes into view when it arrives, and again once the
        // session ends (the panels above it have grown): at 1280x800 it
        // sits far below Send.
        let ended = matches!(state.conn, crate::model::Conn::Closed { .. });
        use_effect_with((state.inbound.messages.len(), ended), |&(replies, _)| {
            let decoded = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.query_selector("#decode .decoded").ok().flatten());
            if let (true, Some(el)) = (replies > 0, decoded) {
                el.scroll_into_view();
            }
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
            delay_ms: state.send.pause_ms(),
        };
        let composed = state.composed.clone();
        let send = state.send;
        let on_notice = on_notice.clone();
        let dispatcher = dispatcher.clone();
        Callback::from(move |()| {
            let segments = match send.cut(&composed.bytes) {
                Ok(segments) => segments,
                Err(refused) => return on_notice.emit(refused.to_string()),
            };
            if !socket.is_live() {
                socket.connect(&socket_url(&target), &target);
            }
            let count = segments.len();
            socket.send(SendPlan {
                segments,
                ..plan.clone()
            });
            dispatcher.dispatch(Action::Send(SendAction::Started { segments: count }));
        })
    };
    let on_flood = {
        let socket = socket.clone();
        let target = state.target.clone();
        let composed = state.composed.clone();
        let frame_len = composed.bytes.len();
        let message_len = flood_message_len(
            frame_len,
            Some(
                state
                    .limits
                    .map_or(frame_len as u64, |l| l.max_message_size),
            ),
        );
        Callback::from(move |()| {
            if !socket.is_live() {
                socket.connect(&socket_url(&target), &target);
            }
            socket.flood(FloodPlan {
                frame: composed.bytes.clone(),
                message_len,
                limit: FLOOD_LIMIT,
            });
        })
    };
    let on_stop_flood = {
        let socket = socket.clone();
        Callback::from(move |()| socket.stop_flood())
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
        let on_notice = on_notice.clone();
        move |_| {
            let href = web_sys::window()
                .and_then(|w| w.location().href().ok())
                .unwrap_or_default();
            crate::components::copy_to_clipboard(
                href,
                "link to this message".into(),
                on_notice.clone(),
            );
        }
    };

    let outgoing = HexSource::Outgoing(state.composed.clone());
    let steps = state.steps();
    let view = &state.view;
    let focus = view
        .focus_step()
        .and_then(|step| steps.get(step))
        .map(|s| s.range.clone());
    let summary = state.session_summary().map(AttrValue::from);
    let on_preset = make_callback(&dispatcher, |id| Action::Compose(ComposeAction::Preset(id)));
    let on_mode = make_callback(&dispatcher, |mode| {
        Action::Compose(ComposeAction::SetMode(mode))
    });
    let on_field = make_callback(&dispatcher, |(field, value)| {
        Action::Compose(ComposeAction::Set(field, value))
    });
    let on_edit_as_hex = make_callback(&dispatcher, |()| Action::Compose(ComposeAction::EditAsHex));
    let on_file = make_callback(&dispatcher, |file| {
        Action::Compose(ComposeAction::Attach(file))
    });
    let on_step = make_callback(&dispatcher, |step| Action::View(ViewAction::Step(step)));
    let (on_hover_out, on_select_out) = span_callbacks(&dispatcher, Pane::Outgoing);
    let (on_hover_in, on_select_in) = span_callbacks(&dispatcher, Pane::Incoming);
    let on_target = make_callback(&dispatcher, |t| Action::Send(SendAction::SelectTarget(t)));
    let on_segment = make_callback(&dispatcher, |n| Action::Send(SendAction::SetSegment(n)));
    let on_delay = make_callback(&dispatcher, |ms| Action::Send(SendAction::SetDelay(ms)));
    let on_decode_here = make_callback(&dispatcher, |()| Action::Send(SendAction::DecodeLocally));
    let on_open = make_callback(&dispatcher, |(name, text)| {
        Action::Replay(ReplayAction::Open { name, text })
    });
    let on_back = make_callback(&dispatcher, |()| Action::Replay(ReplayAction::Back));
    let on_forward = make_callback(&dispatcher, |()| Action::Replay(ReplayAction::Forward));
    let on_leave = make_callback(&dispatcher, |()| Action::Replay(ReplayAction::Close));
    html! {
        <>
        <header class="top">
            <h1>{ "wirelab" }</h1>
            <p class="tagline">{ "A message of the Real Python socket tutorial's protocol, byte by byte: build it, send it to a real server, watch the reply arrive in chunks." }</p>
            <button type="button" class="small" id="copy-link" onclick={copy_link}>{ "Copy link to this message" }</button>
        </header>
        if let Some(notice) = &view.notice {
            <div class="notice" role="status" id="notice">{ notice }</div>
        }
        { lesson::bar(&hub, &Evidence::Playground(&state)) }
        <main class="grid">
            <section class="panel" id="compose" aria-labelledby="compose-h">
                <h2 id="compose-h">{ "1 · Compose" }</h2>
                <Composer fields={state.composer.clone()} composed={state.composed.clone()}
                    {on_preset} {on_mode} {on_field} {on_edit_as_hex} {on_file} />
            </section>
            <section class="panel" id="encode" aria-labelledby="encode-h">
                <h2 id="encode-h">{ "2 · Encode, step by step" }</h2>
                <EncodeSteps steps={steps.clone()} step={view.step} playing={view.playing}
                    bytes={state.composed.clone()} {on_step} />
            </section>
            <section class="panel wide" id="bytes" aria-labelledby="bytes-h">
                <h2 id="bytes-h">{ "3 · The bytes" }</h2>
                <div class="bytes-grid">
                    <HexView source={outgoing.clone()} highlight={view.highlight(Pane::Outgoing)}
                        selected={view.selected_in(Pane::Outgoing)} {focus} marked={offence(&state.composed)}
                        on_hover={on_hover_out.clone()} on_select={on_select_out.clone()}
                        on_notice={on_notice.clone()} id="hex-out" />
                    <StructureTree source={outgoing} highlight={view.highlight(Pane::Outgoing)}
                        on_hover={on_hover_out} on_select={on_select_out} />
                </div>
            </section>
            <section class="panel" id="send-panel" aria-labelledby="send-h">
                <h2 id="send-h">{ "4 · Send" }</h2>
                <TargetPicker targets={state.targets.clone()} target={state.target.clone()} send={state.send}
                    conn={state.conn.clone()} frame_len={state.composed.bytes.len()}
                    sending={state.conn.is_live() && state.session.sending()}
                    {on_target} {on_segment} {on_delay} {on_connect} {on_send} {on_half_close} {on_close}
                    flood={state.session.flood} {on_flood} {on_stop_flood}
                    replay={state.replay.as_ref().map(|r| AttrValue::from(r.position()))} />
                <h3 id="sockets-h">{ "Sockets (like netstat -an)" }</h3>
                <SocketTable observe={state.observe.clone()} target={state.session.target.clone()}
                    opened={state.session.opened}
                    flood={state.session.flood} />
            </section>
            <section class="panel" id="timeline" aria-labelledby="timeline-h">
                <h2 id="timeline-h">{ "Session" }</h2>
                <ReplayBar replay={state.replay.clone()} {on_open} {on_back} {on_forward} on_close={on_leave} />
                <SequenceDiagram session={state.session.clone()} observe={state.observe.clone()} />
                <Transcript session={state.session.clone()} observe={state.observe.clone()}
                    replaying={state.replay.is_some()} />
            </section>

            <section class="panel" id="server-panel" aria-labelledby="server-h">
                <h2 id="server-h">{ "Server: what it received" }</h2>
                <ServerPanel observe={state.observe.clone()} target={state.session.target.clone()}
                    opened={state.session.opened} whose={server_whose(&state)} />
            </section>
            <section class="panel" id="decode" aria-labelledby="decode-h">
                <h2 id="decode-h">{ "5 · Decode, chunk by chunk" }</h2>
                <DecodeView inbound={state.inbound.clone()} {summary} local={state.local_decode} session={state.session.clone()}
                    highlight={view.highlight(Pane::Incoming)} selected={view.selected_in(Pane::Incoming)}
                    {on_decode_here} on_hover={on_hover_in} on_select={on_select_in} {on_notice} />
            </section>
        </main>
        </>
    }
}
