//! One binary WebSocket to the relay at a time (`binaryType = "arraybuffer"`),
//! with segmented, paced sends and floods.
//!
//! Binary messages are the target's bytes; text messages are the relay's
//! observations (`observe=1`), parsed here into the contract's types.
//! Every socket gets a session id; its events are dispatched with that id,
//! so the reducer ignores a previous socket's late events. Received bytes
//! and observations are gathered and dispatched together, at most
//! [`FLUSH_MS`] late, so a flood of them costs one render per flush.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::future::TimeoutFuture;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, RequestInit, Response, WebSocket};
use yew::prelude::*;

use protocol::relay_api::{code, Observation, CLOSE_PATH, KEY_HEX_DIGITS, KEY_PARAM, WS_PATH};

use crate::model::{FloodEnd, FloodProgress, SessionAction};

/// Pause between a flood's messages: slow enough that the queues fill
/// while the learner watches, fast enough to reach the limit in seconds.
const FLOOD_PACE_MS: u32 = 25;
/// How often a flood reports `bufferedAmount` (and its progress).
const FLOOD_REPORT_MS: f64 = 100.0;
/// After asking the relay to close (`POST /ws/close`), how long the page
/// waits for the relay's close frame before closing the WebSocket itself.
/// The relay sends it once it has followed both sockets
/// (`--observe-close-follow`, 3 s by default), so this is a fallback.
const CLOSE_FALLBACK_MS: u32 = 8_000;

/// Received bytes and observations wait this long at most, gathered, before
/// they are dispatched as one [`SessionAction::Batch`]: one reduce and one
/// render (and one layout of the page) per flush instead of one per
/// WebSocket message (a 16 MiB echo with observation is some 15,000). Ten
/// updates a second keep a flood visibly live; a layout of the whole page
/// every frame did not keep up (issue 20.5, docs/benchmarks.md).
const FLUSH_MS: u32 = 100;

/// The socket events waiting for the next flush, and where they go.
struct Batcher {
    dispatch: Callback<SessionAction>,
    queue: Vec<SessionAction>,
    /// A flush is scheduled.
    armed: bool,
}

/// Dispatches what is queued, as one action.
fn flush(batcher: &RefCell<Batcher>) {
    let (dispatch, mut queue) = {
        let mut b = batcher.borrow_mut();
        b.armed = false;
        (b.dispatch.clone(), std::mem::take(&mut b.queue))
    };
    match queue.len() {
        0 => {}
        1 => dispatch.emit(queue.remove(0)),
        _ => dispatch.emit(SessionAction::Batch(queue)),
    }
}

/// The dispatch the socket code calls: bytes and observations are gathered
/// for the next flush; anything else (open, send, close, flood) first
/// flushes what is gathered, so the reducer sees every event in order.
fn batched(batcher: &Rc<RefCell<Batcher>>) -> Callback<SessionAction> {
    let weak = Rc::downgrade(batcher);
    Callback::from(move |action: SessionAction| {
        let Some(batcher) = weak.upgrade() else {
            return;
        };
        if matches!(
            action,
            SessionAction::Received { .. } | SessionAction::Observed { .. }
        ) {
            let mut b = batcher.borrow_mut();
            b.queue.push(action);
            if !b.armed {
                b.armed = true;
                let weak = weak.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    TimeoutFuture::new(FLUSH_MS).await;
                    if let Some(batcher) = weak.upgrade() {
                        flush(&batcher);
                    }
                });
            }
        } else {
            flush(&batcher);
            let dispatch = batcher.borrow().dispatch.clone();
            dispatch.emit(action);
        }
    })
}

/// What to send once the socket is open.
#[derive(Debug, Clone, PartialEq)]
pub struct SendPlan {
    pub segments: Vec<Vec<u8>>,
    pub delay_ms: u32,
}

/// The frame, again and again: messages of `message_len` bytes (whole
/// copies of it) until `limit` bytes were offered or Stop.
#[derive(Debug, Clone, PartialEq)]
pub struct FloodPlan {
    pub frame: Vec<u8>,
    pub message_len: usize,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Plan {
    Send(SendPlan),
    Flood(FloodPlan),
}

struct Live {
    id: u32,
    ws: WebSocket,
    open: bool,
    /// Close was asked for: the relay is following the sockets' last
    /// states (up to `--observe-close-follow`) before its close frame. The
    /// session is over for sending: a Send now opens a new socket instead
    /// of writing into this one.
    closing: bool,
    pending: Option<Plan>,
    /// Set to stop the running flood, if any.
    flood_stop: Option<Rc<Cell<bool>>>,
    /// `POST` here to have the relay close this session
    /// (`protocol::relay_api::CLOSE_PATH`, with its key).
    close_url: Option<String>,
    _handlers: [Closure<dyn FnMut(Event)>; 3],
}

struct Inner {
    dispatch: Callback<SessionAction>,
    live: Option<Live>,
    next_id: u32,
}

/// Controls the socket; cheap to clone into callbacks.
#[derive(Clone)]
pub struct SocketHandle {
    inner: Rc<RefCell<Inner>>,
}

impl PartialEq for SocketHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

thread_local! {
    static LAST: Cell<f64> = const { Cell::new(0.0) };
}

/// Page time in ms, strictly increasing: the sequence diagram orders the
/// browser's events and the relay's observations by it, and two messages
/// handled within the clock's resolution must not tie.
fn now() -> f64 {
    let clock = js_sys::Date::now();
    LAST.with(|last| {
        let t = clock.max(last.get() + 0.001);
        last.set(t);
        t
    })
}

impl SocketHandle {
    /// Opens a new socket to `url` (closing any previous one).
    pub fn connect(&self, url: &str, target: &str) {
        self.close();
        // The previous socket's handlers are dropped with it below; detach
        // them first, or its close event calls a dropped closure. Its late
        // events belong to an old session id, which the reducers ignore anyway.
        if let Some(old) = self.inner.borrow_mut().live.take() {
            old.ws.set_onopen(None);
            old.ws.set_onmessage(None);
            old.ws.set_onclose(None);
        }
        let (id, dispatch) = {
            let mut inner = self.inner.borrow_mut();
            inner.next_id += 1;
            (inner.next_id, inner.dispatch.clone())
        };
        dispatch.emit(SessionAction::Connecting {
            id,
            target: target.to_owned(),
            at: now(),
        });
        // A key of its own, so that Close can reach the relay ahead of
        // whatever this socket still has queued (see `close`).
        let key = session_key();
        let url = match &key {
            Some(key) => format!("{url}&{KEY_PARAM}={key}"),
            None => url.to_owned(),
        };
        let close_url = key.and_then(|key| {
            let base = url.split('?').next()?.strip_suffix(WS_PATH)?;
            // ws: → http:, wss: → https:
            let base = base.strip_prefix("ws")?;
            Some(format!("http{base}{CLOSE_PATH}?{KEY_PARAM}={key}"))
        });
        let ws = match WebSocket::new(&url) {
            Ok(ws) => ws,
            Err(e) => {
                let reason = e.as_string().unwrap_or_else(|| format!("{e:?}"));
                dispatch.emit(SessionAction::Closed {
                    id,
                    at: now(),
                    code: 1006,
                    reason,
                    clean: false,
                });
                return;
            }
        };
        ws.set_binary_type(BinaryType::Arraybuffer);
        let weak = Rc::downgrade(&self.inner);
        let on_open = {
            let weak = weak.clone();
            Closure::<dyn FnMut(Event)>::new(move |_: Event| opened(&weak, id))
        };
        let on_message = {
            let dispatch = dispatch.clone();
            Closure::<dyn FnMut(Event)>::new(move |event: Event| {
                let Ok(event) = event.dyn_into::<MessageEvent>() else {
                    return;
                };
                let data = event.data();
                if let Some(text) = data.as_string() {
                    dispatch.emit(match Observation::from_json(&text) {
                        Ok(observation) => SessionAction::Observed {
                            id,
                            at: now(),
                            observation,
                        },
                        Err(e) => SessionAction::Unreadable {
                            id,
                            error: e.to_string(),
                        },
                    });
                } else if let Ok(buffer) = data.dyn_into::<ArrayBuffer>() {
                    let bytes = Uint8Array::new(&buffer).to_vec();
                    dispatch.emit(SessionAction::Received {
                        id,
                        at: now(),
                        bytes,
                    });
                }
            })
        };
        let on_close = Closure::<dyn FnMut(Event)>::new(move |event: Event| {
            let Ok(event) = event.dyn_into::<CloseEvent>() else {
                return;
            };
            closed(&weak, id, &event);
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.inner.borrow_mut().live = Some(Live {
            id,
            ws,
            open: false,
            closing: false,
            pending: None,
            flood_stop: None,
            close_url,
            _handlers: [on_open, on_message, on_close],
        });
    }

    /// Sends `plan` on the open socket, or once the socket opens.
    pub fn send(&self, plan: SendPlan) {
        self.start(Plan::Send(plan));
    }

    /// Floods the open socket (or the one opening) with `plan`.
    pub fn flood(&self, plan: FloodPlan) {
        self.start(Plan::Flood(plan));
    }

    /// Stops the running flood; its last report says so.
    pub fn stop_flood(&self) {
        if let Some(stop) = self
            .inner
            .borrow()
            .live
            .as_ref()
            .and_then(|l| l.flood_stop.as_ref())
        {
            stop.set(true);
        }
    }

    fn start(&self, plan: Plan) {
        let open = {
            let mut inner = self.inner.borrow_mut();
            let Some(live) = inner.live.as_mut() else {
                return;
            };
            if !live.open {
                live.pending = Some(plan.clone());
            }
            live.open
        };
        if open {
            run(&self.inner, plan);
        }
    }

    /// True while a socket is connecting or open, and not closing.
    pub fn is_live(&self) -> bool {
        self.inner
            .borrow()
            .live
            .as_ref()
            .is_some_and(|l| !l.closing)
    }

    /// Tells the relay the browser is done sending: an empty message, which
    /// the relay turns into a TCP half-close (`shutdown(SHUT_WR)`).
    pub fn half_close(&self) {
        let inner = self.inner.borrow();
        if let Some(live) = inner.live.as_ref().filter(|l| l.open) {
            if live.ws.send_with_u8_array(&[]).is_ok() {
                inner.dispatch.emit(SessionAction::HalfClosed {
                    id: live.id,
                    at: now(),
                });
            }
        }
    }

    /// Closes the session; its close event still reports the end.
    ///
    /// An open socket asks the relay (`POST /ws/close` with its key): a
    /// close frame would wait behind every byte the browser still has
    /// queued (a flood to a server that never reads), and the browser
    /// reads nothing after sending one, so it would never see the states
    /// the sockets go through after the close. The relay closes the TCP
    /// connection, reports those states, then closes the WebSocket. If the
    /// relay cannot be asked, or does not close within
    /// [`CLOSE_FALLBACK_MS`], the page sends the close frame (1000) itself.
    pub fn close(&self) {
        let (dispatch, id, ws, close_url) = {
            let mut inner = self.inner.borrow_mut();
            let dispatch = inner.dispatch.clone();
            let Some(live) = inner.live.as_mut().filter(|l| !l.closing) else {
                return;
            };
            if live.ws.ready_state() > WebSocket::OPEN {
                return;
            }
            live.closing = true;
            let close_url = live.close_url.clone().filter(|_| live.open);
            (dispatch, live.id, live.ws.clone(), close_url)
        };
        // Dispatched with no borrow held: the render it may start reads the socket.
        dispatch.emit(SessionAction::Closing { id, at: now() });
        match close_url {
            Some(url) => ask_relay_to_close(url, ws),
            None => {
                let _ = ws.close_with_code(code::NORMAL);
            }
        }
    }
}

/// 128 random bits as 32 hex digits (`KEY_HEX_DIGITS`): the session's
/// key for `POST /ws/close`, which nobody else can guess.
fn session_key() -> Option<String> {
    let crypto = web_sys::window()?.crypto().ok()?;
    let mut bytes = [0u8; KEY_HEX_DIGITS / 2];
    crypto.get_random_values_with_u8_array(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `POST url`; then, unless the relay took the request (204) and closed
/// `ws` within [`CLOSE_FALLBACK_MS`], the close frame from here.
fn ask_relay_to_close(url: String, ws: WebSocket) {
    wasm_bindgen_futures::spawn_local(async move {
        let init = RequestInit::new();
        init.set_method("POST");
        let taken = match web_sys::window() {
            Some(window) => JsFuture::from(window.fetch_with_str_and_init(&url, &init))
                .await
                .ok()
                .and_then(|r| r.dyn_into::<Response>().ok())
                .is_some_and(|r| r.status() == 204),
            None => false,
        };
        if taken {
            TimeoutFuture::new(CLOSE_FALLBACK_MS).await;
        }
        if ws.ready_state() <= WebSocket::OPEN {
            let _ = ws.close_with_code(code::NORMAL);
        }
    });
}

fn opened(weak: &Weak<RefCell<Inner>>, id: u32) {
    let Some(inner) = weak.upgrade() else { return };
    let pending = {
        let mut guard = inner.borrow_mut();
        let dispatch = guard.dispatch.clone();
        let Some(live) = guard.live.as_mut().filter(|l| l.id == id) else {
            return;
        };
        live.open = true;
        dispatch.emit(SessionAction::Opened { id, at: now() });
        live.pending.take()
    };
    if let Some(plan) = pending {
        run(&inner, plan);
    }
}

fn closed(weak: &Weak<RefCell<Inner>>, id: u32, event: &CloseEvent) {
    let Some(inner) = weak.upgrade() else { return };
    let dispatch = inner.borrow().dispatch.clone();
    dispatch.emit(SessionAction::Closed {
        id,
        at: now(),
        code: event.code(),
        reason: event.reason(),
        clean: event.was_clean(),
    });
    let mut guard = inner.borrow_mut();
    if guard.live.as_ref().is_some_and(|l| l.id == id) {
        // This handler is one of the closures `live` owns: drop them after it returns.
        let live = guard.live.take();
        wasm_bindgen_futures::spawn_local(async move { drop(live) });
    }
}

fn run(inner: &Rc<RefCell<Inner>>, plan: Plan) {
    match plan {
        Plan::Send(plan) => start_sending(inner, plan),
        Plan::Flood(plan) => start_flooding(inner, plan),
    }
}

/// Offers the frame again and again, paced, reporting what was offered and
/// `bufferedAmount` every [`FLOOD_REPORT_MS`]; once it stops, keeps
/// reporting `bufferedAmount` until the browser's buffer drains or the
/// socket closes, since a server that never reads keeps it full.
fn start_flooding(inner: &Rc<RefCell<Inner>>, plan: FloodPlan) {
    let weak = Rc::downgrade(inner);
    let stop = Rc::new(Cell::new(false));
    let (id, dispatch) = {
        let mut guard = inner.borrow_mut();
        let dispatch = guard.dispatch.clone();
        let Some(live) = guard.live.as_mut() else {
            return;
        };
        if let Some(previous) = live.flood_stop.replace(stop.clone()) {
            previous.set(true);
        }
        (live.id, dispatch)
    };
    let frame_len = plan.frame.len();
    if frame_len == 0 || plan.message_len == 0 {
        return;
    }
    let message = plan.frame.repeat(plan.message_len / frame_len);
    // The socket of this flood while it is still the current, open one and
    // no later flood took over its reports.
    let mine = stop.clone();
    let socket = move || -> Option<WebSocket> {
        let inner = weak.upgrade()?;
        let guard = inner.borrow();
        let live = guard.live.as_ref().filter(|l| l.id == id && l.open)?;
        let current = live
            .flood_stop
            .as_ref()
            .is_some_and(|s| Rc::ptr_eq(s, &mine));
        current.then(|| live.ws.clone())
    };
    wasm_bindgen_futures::spawn_local(async move {
        let mut progress = FloodProgress {
            offered: 0,
            messages: 0,
            buffered: 0,
            end: FloodEnd::Running,
        };
        let report = |progress: FloodProgress| {
            dispatch.emit(SessionAction::Flood {
                id,
                at: now(),
                progress,
            })
        };
        report(progress);
        let mut reported = now();
        progress.end = loop {
            if stop.get() {
                break FloodEnd::Stopped;
            }
            let room = (plan.limit - progress.offered) / frame_len * frame_len;
            let len = message.len().min(room);
            if len == 0 {
                break FloodEnd::AtLimit;
            }
            let Some(ws) = socket() else {
                break FloodEnd::SocketClosed;
            };
            if ws.send_with_u8_array(&message[..len]).is_err() {
                break FloodEnd::SocketClosed;
            }
            progress.offered += len;
            progress.messages += 1;
            progress.buffered = ws.buffered_amount();
            if now() - reported >= FLOOD_REPORT_MS {
                report(progress);
                reported = now();
            }
            TimeoutFuture::new(FLOOD_PACE_MS).await;
        };
        match socket() {
            Some(ws) => progress.buffered = ws.buffered_amount(),
            // A later flood on this socket reports from now on.
            None if progress.end != FloodEnd::SocketClosed => return,
            None => {}
        }
        report(progress);
        while let Some(ws) = socket() {
            TimeoutFuture::new(FLOOD_REPORT_MS as u32).await;
            let buffered = ws.buffered_amount();
            if buffered != progress.buffered {
                progress.buffered = buffered;
                report(progress);
            }
            if buffered == 0 {
                break;
            }
        }
    });
}

/// Sends the segments one by one, pausing between them, while the socket
/// that started them is still the open one.
fn start_sending(inner: &Rc<RefCell<Inner>>, plan: SendPlan) {
    let weak = Rc::downgrade(inner);
    let Some(id) = inner.borrow().live.as_ref().map(|l| l.id) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        for (i, segment) in plan.segments.iter().enumerate() {
            if i > 0 && plan.delay_ms > 0 {
                TimeoutFuture::new(plan.delay_ms).await;
            }
            let Some(inner) = weak.upgrade() else { return };
            let guard = inner.borrow();
            let Some(live) = guard.live.as_ref().filter(|l| l.id == id && l.open) else {
                return;
            };
            if live.ws.send_with_u8_array(segment).is_err() {
                return;
            }
            guard.dispatch.emit(SessionAction::Sent {
                id,
                at: now(),
                bytes: segment.clone(),
            });
        }
    });
}

/// The socket of this component; closed when the component goes away.
#[hook]
pub fn use_websocket(dispatch: Callback<SessionAction>) -> SocketHandle {
    let batcher = use_mut_ref(|| Batcher {
        dispatch: dispatch.clone(),
        queue: Vec::new(),
        armed: false,
    });
    batcher.borrow_mut().dispatch = dispatch;
    let inner = use_mut_ref(|| Inner {
        dispatch: batched(&batcher),
        live: None,
        next_id: 0,
    });
    {
        let inner = inner.clone();
        use_effect_with((), move |_| {
            move || {
                if let Some(live) = inner.borrow_mut().live.take() {
                    let _ = live.ws.close_with_code(code::NORMAL);
                }
            }
        });
    }
    SocketHandle { inner }
}
