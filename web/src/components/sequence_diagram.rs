//! The session as a live SVG sequence diagram across browser → relay →
//! server, in the spirit of the tutorial's "TCP socket flow" figure.
//!
//! The browser's own events draw the browser ↔ relay arrows. When the relay
//! observes the session (`observe=1`), the relay ↔ server arrows are its
//! real socket calls (with what the kernel took), and the server lane shows
//! the server's calls: `accept()`, each `recv()` with its decoder's state,
//! the request, `send()`, `close()`. Without observation the relay ↔ server
//! arrows are inferred from the browser's events, as before.

use std::rc::Rc;

use yew::prelude::*;

use protocol::relay_api::CloseReason;

use protocol::relay_api::{DecoderState, Observed};

use crate::model::clock::{relay_times, At, CLOCK_NOTE};
use crate::model::counted;
use crate::model::observe::LaneEntry;
use crate::model::relay::is_connect_failure;
use crate::model::{decoder_words, Observe, Party, Session, TimelineKind};

const ROW: i32 = 34;
const TOP: i32 = 44;
/// Below this window width the diagram takes its narrow layout: drawn
/// 760 wide, a phone would shrink its words past reading or cut off the
/// server lane.
const NARROW_BELOW: f64 = 600.0;
/// A character of the labels, on average, in the diagram's units.
const CHAR_W: i32 = 7;
/// The time column's width (`12345 ms` at the times' size).
const TIME_W: i32 = 54;
/// Most rows drawn: the newest ones. A 16 MiB echo is thousands of reads,
/// and redrawing them all on each one made receiving quadratic; the Server
/// panel and the transcript keep the counts.
pub const MAX_ROWS: usize = 300;

/// Where the lanes are: wide (notes right of the server lane), or narrow
/// for a phone (the diagram as wide as the screen, notes left of the server
/// lane, long labels cut with the whole text in their tooltip).
#[derive(Clone, Copy, PartialEq)]
struct Geometry {
    narrow: bool,
}

impl Geometry {
    fn width(self) -> i32 {
        if self.narrow {
            340
        } else {
            760
        }
    }

    fn x(self, p: Party) -> i32 {
        match (self.narrow, p) {
            (false, Party::Browser) => 60,
            (false, Party::Relay) => 255,
            (false, Party::Server) => 450,
            (true, Party::Browser) => 84,
            (true, Party::Relay) => 190,
            (true, Party::Server) => 296,
        }
    }

    /// Characters of a note that fit beside its lane; longer notes are cut,
    /// with the whole text in their tooltip.
    fn note_chars(self) -> usize {
        if self.narrow {
            32
        } else {
            42
        }
    }

    /// Characters of an arrow's label that fit around its middle `mid`,
    /// clear of the time column on the left.
    fn label_chars(self, mid: i32) -> usize {
        if self.narrow {
            (2 * (mid - TIME_W).min(self.width() - mid - 2) / CHAR_W).max(8) as usize
        } else {
            usize::MAX
        }
    }

    /// The layout for the window as it is now.
    fn now() -> Geometry {
        let width = web_sys::window()
            .and_then(|w| w.inner_width().ok())
            .and_then(|w| w.as_f64());
        Geometry {
            narrow: width.is_some_and(|w| w < NARROW_BELOW),
        }
    }
}

/// One row of the diagram.
enum Row {
    Arrow {
        from: Party,
        to: Party,
        label: String,
        class: &'static str,
    },
    /// A call on one lane that moves nothing across (a `recv()` the server
    /// made, its decoder's state below it).
    Note {
        on: Party,
        label: String,
        detail: String,
        class: &'static str,
    },
}

fn arrow(from: Party, to: Party, label: String, class: &'static str) -> Row {
    Row::Arrow {
        from,
        to,
        label,
        class,
    }
}

fn note(label: String, detail: String, class: &'static str) -> Row {
    Row::Note {
        on: Party::Server,
        label,
        detail,
        class,
    }
}

/// `send()`, or what a merged run of calls (`count`) amounts to.
fn calls(name: &str, count: u32) -> String {
    if count == 1 {
        name.to_owned()
    } else {
        format!("{count} {name} calls")
    }
}

/// A `send()` and what the kernel took of it: less than offered is the
/// lesson of `sendall()`.
fn send_label(len: u64, sent: u64, count: u32) -> (String, &'static str) {
    let call = calls("send()", count);
    if sent == 0 && len > 0 {
        // Every socket observed here is non-blocking (tokio, mio): a full
        // send buffer makes send() fail with EAGAIN, which Python raises.
        (
            format!("{call} would block (Python raises BlockingIOError)"),
            "data short",
        )
    } else if sent < len {
        (
            format!("{call}: kernel took {sent} of {len} B"),
            "data short",
        )
    } else if count == 1 {
        (format!("{call} {len} B"), "data")
    } else {
        (format!("{call}, {len} B"), "data")
    }
}

/// The rows one observed socket call draws.
fn observed_row(event: &Observed) -> Option<Row> {
    use Party::*;
    Some(match event {
        Observed::Connect { connect_us, .. } => arrow(
            Relay,
            Server,
            format!("connect(): handshake {connect_us} µs"),
            "ctl",
        ),
        Observed::Write { len, sent, count } => {
            let (label, class) = send_label(*len, *sent, *count);
            arrow(Relay, Server, label, class)
        }
        Observed::Read { len, count } => arrow(
            Server,
            Relay,
            format!("{} → {len} B", calls("recv()", *count)),
            "data in",
        ),
        Observed::ShutdownWrite => arrow(Relay, Server, "shutdown(SHUT_WR) → FIN".into(), "ctl"),
        Observed::Eof => arrow(Server, Relay, "FIN: recv() → b''".into(), "ctl"),
        Observed::Reset => arrow(Server, Relay, "RST: connection reset".into(), "err"),
        Observed::Close => arrow(Relay, Server, "close()".into(), "ctl"),
        Observed::ServerAccept { peer, .. } => {
            note("accept()".into(), format!("connection from {peer}"), "ctl")
        }
        Observed::ServerRecv { len: 0, .. } => note(
            "recv() → b''".into(),
            "the peer's FIN: nothing more will come".into(),
            "ctl",
        ),
        Observed::ServerRecv {
            len,
            count,
            decoder,
            ..
        } => {
            let class = match decoder {
                Some(DecoderState::Failed { .. }) => "err",
                Some(DecoderState::Complete | DecoderState::CompleteWithNext { .. }) => "ok",
                _ => "data",
            };
            note(
                format!("{} → {len} B", calls("recv()", *count)),
                decoder.as_ref().map(decoder_words).unwrap_or_default(),
                class,
            )
        }
        Observed::ServerRequest { repr } => note("request".into(), repr.clone(), "ok"),
        Observed::ServerSend {
            len, sent, count, ..
        } => {
            let (label, class) = send_label(*len, *sent, *count);
            note(label, String::new(), class)
        }
        Observed::ServerClose => note("close()".into(), String::new(), "ctl"),
        Observed::ServerFramer(step) => note("framer".into(), step.to_string(), "data"),
        Observed::Lost { events } => Row::Note {
            on: Relay,
            label: format!("{events} events lost"),
            detail: "the browser read too slowly".into(),
            class: "err",
        },
        Observed::Observing { .. }
        | Observed::Socket(_)
        | Observed::ServerSocket(_)
        | Observed::ServerLog { .. }
        | Observed::Capture { .. }
        // One session's part of the event loop: the Many connections lab draws it.
        | Observed::ServerReady { .. }
        // A traced program's calls (`relay --run`): the Server panel draws them.
        | Observed::ServerPending { .. }
        | Observed::ServerShutdown { .. } => return None,
    })
}

/// `text` cut to `max` characters.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// The arrows one timeline event draws: (from, to, label, class).
/// `refused`: the relay's connect to the target failed, so nothing reached it.
fn arrows(kind: &TimelineKind, refused: bool) -> Vec<(Party, Party, String, &'static str)> {
    use Party::*;
    match kind {
        TimelineKind::Open if refused => vec![
            (Relay, Browser, "open".into(), "ctl"),
            (Relay, Server, "connect() ✗".into(), "err"),
        ],
        TimelineKind::Send { len, .. } if refused => {
            vec![(Browser, Relay, format!("binary message, {len} B"), "data")]
        }
        TimelineKind::Connect { target } => vec![(
            Browser,
            Relay,
            format!("WebSocket /ws?target={target}"),
            "ctl",
        )],
        TimelineKind::Open => vec![
            (Relay, Browser, "open".into(), "ctl"),
            (Relay, Server, "connect()".into(), "ctl"),
        ],
        TimelineKind::Send { len, .. } => vec![
            (Browser, Relay, format!("binary message, {len} B"), "data"),
            (Relay, Server, format!("send() {len} B"), "data"),
        ],
        TimelineKind::Receive { len, .. } => vec![
            (Server, Relay, format!("recv() → {len} B"), "data in"),
            (
                Relay,
                Browser,
                format!("binary message, {len} B"),
                "data in",
            ),
        ],
        TimelineKind::Flood { len, messages, .. } => vec![
            (
                Browser,
                Relay,
                format!("flood: {messages} messages, {len} B"),
                "data",
            ),
            (Relay, Server, format!("send() {len} B in all"), "data"),
        ],
        TimelineKind::HalfClose => vec![
            (Browser, Relay, "empty message".into(), "ctl"),
            (Relay, Server, "shutdown(SHUT_WR)".into(), "ctl"),
        ],
        TimelineKind::Close {
            by: Browser, code, ..
        } => vec![
            (Browser, Relay, format!("close {code}"), "ctl"),
            (Relay, Server, "close()".into(), "ctl"),
        ],
        TimelineKind::Close { code, reason, .. } => {
            let mut v = Vec::new();
            if target_hung_up(&CloseReason::parse(*code, reason)) {
                v.push((Server, Relay, "close() (EOF)".into(), "ctl"));
            }
            v.push((Relay, Browser, format!("close {code} {reason}"), "ctl"));
            v
        }
        TimelineKind::Error { message } => vec![(Relay, Browser, message.clone(), "err")],
    }
}

/// Whether the relay closed because the server closed its side: the
/// relay's own "upstream closed", or any normal close from another server.
fn target_hung_up(reason: &CloseReason) -> bool {
    use protocol::relay_api::code::NORMAL;
    matches!(
        reason,
        CloseReason::UpstreamClosed | CloseReason::Unknown { code: NORMAL, .. }
    )
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub session: Rc<Session>,
    /// What the relay observed; empty when it does not observe.
    #[prop_or_default]
    pub observe: Rc<Observe>,
}

/// Every row, on the relay's clock ([`relay_times`]): the browser's events
/// and the observed calls merged by time.
fn rows(session: &Session, observe: &Observe) -> Vec<(At, Row)> {
    let refused = session.timeline.iter().any(|e| {
        e.kind
            .close_reason()
            .as_ref()
            .is_some_and(is_connect_failure)
    });
    // Observed, the relay's side of the TCP connection is drawn from its
    // real calls; a refused connect has none, so it keeps the inferred ✗.
    let observed = observe.active() && !refused;
    let times = relay_times(session, observe);
    let mut browser = Vec::new();
    for (event, at) in session.timeline.iter().zip(times) {
        for (from, to, label, class) in arrows(&event.kind, refused) {
            if observed && (from == Party::Server || to == Party::Server) {
                continue;
            }
            browser.push((at, arrow(from, to, label, class)));
        }
    }
    if !observed {
        return browser;
    }
    let exact = |t_us: u64| At {
        ms: t_us as f64 / 1000.0,
        exact: true,
    };
    let mut lane: Vec<(At, Row)> = Vec::new();
    if !observe.sees_server() {
        lane.push((
            exact(0),
            note(
                "(not observable)".into(),
                "an external server: only the relay's socket is seen".into(),
                "ctl",
            ),
        ));
    }
    lane.extend(
        observe
            .lane
            .iter()
            .filter_map(|LaneEntry { t_us, event, .. }| Some((exact(*t_us), observed_row(event)?))),
    );
    let mut merged = Vec::with_capacity(browser.len() + lane.len() + 1);
    let mut lane = lane.into_iter().peekable();
    for row in browser {
        while let Some(next) = lane.next_if(|(at, _)| at.ms < row.0.ms) {
            merged.push(next);
        }
        merged.push(row);
    }
    merged.extend(lane);
    if observe.lane_hidden > 0 {
        let at = merged.last().map_or(exact(0), |(at, _)| *at);
        merged.push((
            at,
            Row::Note {
                on: Party::Relay,
                label: format!("… {} more socket calls not drawn", observe.lane_hidden),
                detail: "their totals are in the Server panel and the socket table".into(),
                class: "ctl",
            },
        ));
    }
    merged
}

fn draw(g: Geometry, i: usize, at: At, row: &Row) -> Html {
    let y = TOP + ROW * i as i32 + 14;
    let time = html! { <text class="time" x="4" y={(y + 4).to_string()}>{ at.label() }</text> };
    match row {
        Row::Arrow {
            from,
            to,
            label,
            class,
        } => {
            let (x1, x2) = (g.x(*from), g.x(*to));
            let dir = if x2 > x1 { -8 } else { 8 };
            let mid = (x1 + x2) / 2;
            let shown = cut(label, g.label_chars(mid));
            html! {
                <g class={format!("arrow {class}")}>
                    if shown != *label {
                        <title>{ label.clone() }</title>
                    }
                    { time }
                    <line x1={x1.to_string()} y1={y.to_string()} x2={x2.to_string()} y2={y.to_string()} />
                    <polygon points={format!("{x2},{y} {},{} {},{}", x2 + dir, y - 4, x2 + dir, y + 4)} />
                    <text class="label" x={mid.to_string()} y={(y - 5).to_string()} text-anchor="middle">{ shown }</text>
                </g>
            }
        }
        Row::Note {
            on,
            label,
            detail,
            class,
        } => {
            // Narrow, the notes go left of the server lane (no room right of it).
            let (lx, anchor) = if g.narrow && *on == Party::Server {
                (g.x(*on) - 9, "end")
            } else {
                (g.x(*on) + 9, "start")
            };
            let chars = g.note_chars();
            html! {
                <g class={format!("note {class}")}>
                    <title>{ format!("{label} {detail}") }</title>
                    { time }
                    <circle cx={g.x(*on).to_string()} cy={y.to_string()} r="4" />
                    <text class="label" x={lx.to_string()} y={(y - 2).to_string()} text-anchor={anchor}>{ cut(label, chars) }</text>
                    if !detail.is_empty() {
                        <text class="detail" x={lx.to_string()} y={(y + 10).to_string()} text-anchor={anchor}>{ cut(detail, chars) }</text>
                    }
                </g>
            }
        }
    }
}

#[component]
pub fn SequenceDiagram(props: &Props) -> Html {
    let mut rows = rows(&props.session, &props.observe);
    let hidden = rows.len().saturating_sub(MAX_ROWS);
    if hidden > 0 {
        rows.drain(..hidden);
        let at = rows.first().map_or(
            At {
                ms: 0.0,
                exact: true,
            },
            |(at, _)| *at,
        );
        rows.insert(
            0,
            (
                at,
                Row::Note {
                    on: Party::Relay,
                    label: format!(
                        "… {} not drawn",
                        counted(hidden as u64, "earlier row", "earlier rows")
                    ),
                    detail: "the transcript lists every event".into(),
                    class: "ctl",
                },
            ),
        );
    }
    // Follow the newest row, unless the reader scrolled up to read.
    let wrap = use_node_ref();
    let pinned = use_mut_ref(|| true);
    {
        let wrap = wrap.clone();
        let pinned = pinned.clone();
        use_effect_with(rows.len(), move |_| {
            if let Some(el) = wrap.cast::<web_sys::Element>() {
                if *pinned.borrow() {
                    el.set_scroll_top(el.scroll_height());
                }
            }
        });
    }
    let onscroll = move |e: Event| {
        if let Some(el) = e
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
        {
            *pinned.borrow_mut() = el.scroll_top() + el.client_height() + ROW >= el.scroll_height();
        }
    };
    // The layout follows the window (a phone turned, a window resized).
    let geometry = use_state_eq(Geometry::now);
    {
        let geometry = geometry.clone();
        use_effect_with((), move |_| {
            let listener = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
                geometry.set(Geometry::now())
            });
            let window = web_sys::window();
            if let Some(w) = &window {
                let _ = w.add_event_listener_with_callback(
                    "resize",
                    wasm_bindgen::JsCast::unchecked_ref(listener.as_ref()),
                );
            }
            move || {
                if let Some(w) = window {
                    let _ = w.remove_event_listener_with_callback(
                        "resize",
                        wasm_bindgen::JsCast::unchecked_ref(listener.as_ref()),
                    );
                }
            }
        });
    }
    let g = *geometry;
    let height = TOP + ROW * rows.len() as i32 + 16;
    let lifeline = |p: Party, name: &'static str| {
        html! {
            <g class="lifeline">
                <rect x={(g.x(p) - 42).to_string()} y="4" width="84" height="24" rx="4" />
                <text x={g.x(p).to_string()} y="21" text-anchor="middle">{ name }</text>
                <line x1={g.x(p).to_string()} y1="28" x2={g.x(p).to_string()} y2={height.to_string()} />
            </g>
        }
    };
    html! {
        <>
        <div class="sequence-wrap" tabindex="0" ref={wrap} {onscroll}>
        <svg class="sequence" id="sequence" viewBox={format!("0 0 {} {height}", g.width())} role="img"
            aria-label="sequence diagram of the session: browser, relay, server">
            { lifeline(Party::Browser, "browser") }
            { lifeline(Party::Relay, "relay") }
            { lifeline(Party::Server, "server") }
            { for rows.iter().enumerate().map(|(i, (at, row))| draw(g, i, *at, row)) }
        </svg>
        </div>
        <p class="hint" id="sequence-clock">{ CLOCK_NOTE }</p>
        if props.observe.writes.short > 0 {
            <p class="hint" id="short-write">{ format!(
                "send() may send less: {} the kernel took fewer bytes than the relay offered (its send buffer was full). That is why sendall() loops until every byte is taken. When the buffer has no room at all, a non-blocking send() takes nothing: it would block, and Python raises BlockingIOError.",
                counted(props.observe.writes.short, "time", "times")
            ) }</p>
        }
        </>
    }
}
