//! The session as a live SVG sequence diagram across browser → relay →
//! server, in the spirit of the tutorial's "TCP socket flow" figure.

use std::rc::Rc;

use yew::prelude::*;

use protocol::relay_api::CloseReason;

use crate::model::relay::is_connect_failure;
use crate::model::{Party, Session, TimelineKind};

const WIDTH: i32 = 640;
const ROW: i32 = 34;
const TOP: i32 = 44;

fn x(p: Party) -> i32 {
    match p {
        Party::Browser => 110,
        Party::Relay => 360,
        Party::Server => 580,
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
}

#[component]
pub fn SequenceDiagram(props: &Props) -> Html {
    let refused = props.session.timeline.iter().any(|e| {
        e.kind
            .close_reason()
            .as_ref()
            .is_some_and(is_connect_failure)
    });
    let mut rows = Vec::new();
    for event in &props.session.timeline {
        for arrow in arrows(&event.kind, refused) {
            rows.push((event.at_ms, arrow));
        }
    }
    let height = TOP + ROW * rows.len() as i32 + 16;
    let lifeline = |p: Party, name: &'static str| {
        html! {
            <g class="lifeline">
                <rect x={(x(p) - 48).to_string()} y="4" width="96" height="24" rx="4" />
                <text x={x(p).to_string()} y="21" text-anchor="middle">{ name }</text>
                <line x1={x(p).to_string()} y1="28" x2={x(p).to_string()} y2={height.to_string()} />
            </g>
        }
    };
    let arrows_html = rows.iter().enumerate().map(|(i, (at, (from, to, label, class)))| {
        let y = TOP + ROW * i as i32 + 14;
        let (x1, x2) = (x(*from), x(*to));
        let dir = if x2 > x1 { -8 } else { 8 };
        let mid = (x1 + x2) / 2;
        html! {
            <g class={format!("arrow {class}")}>
                <text class="time" x="4" y={(y + 4).to_string()}>{ format!("{at:.0} ms") }</text>
                <line x1={x1.to_string()} y1={y.to_string()} x2={x2.to_string()} y2={y.to_string()} />
                <polygon points={format!("{x2},{y} {},{} {},{}", x2 + dir, y - 4, x2 + dir, y + 4)} />
                <text class="label" x={mid.to_string()} y={(y - 5).to_string()} text-anchor="middle">{ label.clone() }</text>
            </g>
        }
    });
    html! {
        <div class="sequence-wrap" tabindex="0">
        <svg class="sequence" id="sequence" viewBox={format!("0 0 {WIDTH} {height}")} role="img"
            aria-label="sequence diagram of the session: browser, relay, server">
            { lifeline(Party::Browser, "browser") }
            { lifeline(Party::Relay, "relay") }
            { lifeline(Party::Server, "server") }
            { for arrows_html }
        </svg>
        </div>
    }
}
