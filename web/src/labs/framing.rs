//! The framing lab's page: one payload, sent the four ways under the same
//! segment size and delay, one column per way. Each column opens its own
//! WebSocket to the relay's target of that name (`fixed`, `lines`, `prefix`,
//! `close`) with observation on, so what it shows of the server (where it
//! cut, what it waits for) is the server's own report.

use protocol::framing::Strategy;
use protocol::hexdump::{hex_rows_with, NARROW_ROW_WIDTH};
use protocol::python::python_bytes_repr;
use yew::prelude::*;

use super::framing_model::{Column, Conn, Lab, LabAction, PRESETS};
use crate::components::event_value;
use crate::components::lessons::{LessonHub, LessonMsg};
use crate::hooks::{use_websocket, SendPlan, SocketHandle};
use crate::model::lessons::{Evidence, FramingFacts, Place, Setup};
use crate::socket_url::lab_socket_url;

/// The bytes as `hexdump -C` rows (the protocol crate's rows), 8 bytes a
/// row so that a quarter of a laptop screen holds them without scrolling.
fn hex_block(bytes: &[u8]) -> Html {
    let text: Vec<String> = hex_rows_with(bytes, NARROW_ROW_WIDTH)
        .map(|row| row.line_with(NARROW_ROW_WIDTH))
        .collect();
    html! { <pre class="hexrows">{ text.join("\n") }</pre> }
}

fn conn_words(conn: Conn) -> String {
    match conn {
        Conn::Idle => "not connected".into(),
        Conn::Connecting => "connecting".into(),
        Conn::Open => "open".into(),
        Conn::HalfClosed => "half-closed (SHUT_WR)".into(),
        Conn::Closed { .. } => "closed".into(),
    }
}

/// Each column's element id, in [`Strategy::ALL`]'s order.
const COLUMN_IDS: [&str; 4] = ["col-fixed", "col-lines", "col-prefix", "col-close"];

fn column_view(
    index: usize,
    col: &Column,
    payload_len: usize,
    on_half_close: Option<Callback<MouseEvent>>,
) -> Html {
    let name = col.strategy.name();
    let sent = col.sent_bytes();
    let cuts: Vec<String> = col
        .cuts
        .iter()
        .map(|cut| {
            let message = col
                .cut_message(cut)
                .map(python_bytes_repr)
                .unwrap_or_default();
            format!(
                "bytes {}..{}: {message} ({} bytes)",
                cut.start,
                cut.start + cut.frame_len,
                cut.len
            )
        })
        .collect();
    let explain = col.explain(payload_len).join(" ");
    html! {
        <section class="fcol" id={COLUMN_IDS[index]}>
            <h3>{ name }</h3>
            <p class="rule">{ format!("{}; socket {}", col.rule(), conn_words(col.conn)) }</p>
            <h4>{ format!("Sent: {} of {} bytes", col.written, sent.len()) }</h4>
            { hex_block(sent) }
            <h4>{ "The server cut" }</h4>
            <pre class="cuts">{ if cuts.is_empty() { "no message yet".into() } else { cuts.join("\n") } }</pre>
            <h4>{ "It waits for" }</h4>
            <p class="waits">{ col.waits_for() }</p>
            <h4>{ format!("Came back: {} bytes", col.received.len()) }</h4>
            <p class="replies mono">{ python_bytes_repr(&col.received) }</p>
            { hex_block(&col.received) }
            if !explain.is_empty() {
                <p class="explain">{ explain }</p>
            }
            if let Some(onclick) = on_half_close {
                <button type="button" id="half-close" {onclick}
                    disabled={col.conn != Conn::Open}>
                    { "Half-close (shutdown SHUT_WR)" }</button>
            }
        </section>
    }
}

/// What the lessons' checks read of the lab.
fn lesson_facts(lab: &Lab) -> FramingFacts {
    let mut cuts = [0; 4];
    for (n, col) in cuts.iter_mut().zip(&lab.columns) {
        *n = col.cuts.len();
    }
    FramingFacts {
        cuts,
        key: lab.columns.iter().filter_map(|c| c.session).sum(),
    }
}

/// The lab: the payload, the send options, and the four columns.
#[component]
pub fn FramingLab() -> Html {
    let lab = use_reducer(Lab::default);
    let report = |column: usize| {
        let dispatcher = lab.dispatcher();
        Callback::from(move |action| dispatcher.dispatch(LabAction::Session { column, action }))
    };
    // One socket per column, always four: hooks are called in the same order every render.
    let sockets: [SocketHandle; 4] = [
        use_websocket(report(0)),
        use_websocket(report(1)),
        use_websocket(report(2)),
        use_websocket(report(3)),
    ];

    let hub = use_context::<LessonHub>();
    // A lesson's Set it up, on the render that brings it.
    if let Some(hub) = &hub {
        if let Some(Setup::Framing {
            payload,
            segment,
            delay_ms,
        }) = hub.take_setup(Place::Framing)
        {
            lab.dispatch(LabAction::SetPayload(payload.into()));
            lab.dispatch(LabAction::SetSegment(segment));
            lab.dispatch(LabAction::SetDelay(delay_ms));
            hub.on
                .emit(LessonMsg::Applied(Place::Framing, lesson_facts(&lab).key));
        }
    }
    let lesson_bar = crate::components::lessons::bar(&hub, &Evidence::Framing(lesson_facts(&lab)));

    let on_send = {
        let sockets = sockets.clone();
        let lab = lab.clone();
        Callback::from(move |_: MouseEvent| {
            let payload = lab.payload.as_bytes().to_vec();
            for (column, (col, socket)) in lab.columns.iter().zip(&sockets).enumerate() {
                let framed = col.framing.encode(&payload).map_err(|e| e.to_string());
                lab.dispatch(LabAction::Sending {
                    column,
                    sent: framed.clone(),
                });
                let Ok(encoded) = framed else { continue };
                // Cut before connecting: a refused send opens no socket.
                let segments = match lab.send.cut(&encoded.bytes) {
                    Ok(segments) => segments,
                    Err(refused) => {
                        lab.dispatch(LabAction::Sending {
                            column,
                            sent: Err(refused.to_string()),
                        });
                        continue;
                    }
                };
                let target = col.strategy.name();
                socket.connect(&lab_socket_url(target), target);
                socket.send(SendPlan {
                    segments,
                    delay_ms: lab.send.delay_ms,
                });
            }
        })
    };
    let on_payload = {
        let lab = lab.dispatcher();
        Callback::from(move |e: InputEvent| lab.dispatch(LabAction::SetPayload(event_value(&e))))
    };
    let on_segment = {
        let lab = lab.dispatcher();
        Callback::from(move |e: Event| {
            lab.dispatch(LabAction::SetSegment(event_value(&e).parse().unwrap_or(0)))
        })
    };
    let on_delay = {
        let lab = lab.dispatcher();
        Callback::from(move |e: Event| {
            lab.dispatch(LabAction::SetDelay(event_value(&e).parse().unwrap_or(0)))
        })
    };
    let presets = PRESETS.iter().map(|preset| {
        let lab = lab.dispatcher();
        let payload = preset.payload;
        html! {
            <button type="button" class="preset" id={preset.id}
                onclick={move |_| lab.dispatch(LabAction::SetPayload(payload.into()))}>{ preset.label }</button>
        }
    });
    let payload_len = lab.payload.len();
    let close_column = Strategy::ALL.iter().position(|s| *s == Strategy::Close);
    let columns = lab.columns.iter().enumerate().map(|(i, col)| {
        let half_close = (Some(i) == close_column).then(|| {
            let socket = sockets[i].clone();
            Callback::from(move |_: MouseEvent| socket.half_close())
        });
        column_view(i, col, payload_len, half_close)
    });
    html! {
        <main class="lab" id="framing-lab">
            { lesson_bar }
            <section class="panel" aria-labelledby="framing-h">
                <h2 id="framing-h">{ "Framing: four ways to find a message's end" }</h2>
                <p>{ "TCP carries bytes, not messages: the receiver needs a rule for where one ends. One payload goes to four servers, one per rule; each echoes every message it cuts, framed alike." }</p>
                <div class="buttons">{ for presets }</div>
                <label for="framing-payload">{ "Payload (UTF-8)" }</label>
                <textarea id="framing-payload" class="mono" rows="2" value={lab.payload.clone()} oninput={on_payload} />
                <p class="payload-repr mono">{ format!("{} ({payload_len} bytes)", python_bytes_repr(lab.payload.as_bytes())) }</p>
                <div class="send-row">
                    <label>{ "Segment (bytes, 0 = whole) " }
                        <input id="framing-segment" type="number" min="0" value={lab.send.segment.to_string()} onchange={on_segment} /></label>
                    <label>{ "Delay (ms) " }
                        <input id="framing-delay" type="number" min="0" value={lab.send.delay_ms.to_string()} onchange={on_delay} /></label>
                    <button type="button" class="primary" id="framing-send" onclick={on_send}>{ "Send the four ways" }</button>
                </div>
            </section>
            <div class="fcols">{ for columns }</div>
        </main>
    }
}
