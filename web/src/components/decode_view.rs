//! Decode, step by step: each received chunk as it arrived and the decoder's
//! state after it, the decoded header and content, the result in words, and
//! how the connection ended. The received bytes show in a hex view with the
//! chunk boundaries drawn.

use std::rc::Rc;

use protocol::python::python_repr;
use protocol::{Json, Message, Object};
use yew::prelude::*;

use super::{HexSource, HexView, StructureTree};
use crate::model::clock::fixed;
use crate::model::counted;
use crate::model::explain::no_result_note;
use crate::model::{content_shown, inbound_offence, outcome_line, request_line, Inbound};

/// Most chunk rows drawn: the newest ones.
pub const MAX_CHUNK_ROWS: usize = 200;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub inbound: Rc<Inbound>,
    /// The end of the session in words, once it ended.
    pub summary: Option<AttrValue>,
    /// The bytes came from "decode here", not from a server.
    pub local: bool,
    pub highlight: Option<usize>,
    pub selected: Option<usize>,
    /// "Decode the composed bytes here".
    pub on_decode_here: Callback<()>,
    /// Hover and selection in the received bytes, and copy notices.
    pub on_hover: Callback<Option<usize>>,
    pub on_select: Callback<usize>,
    pub on_notice: Callback<String>,
    /// The session the bytes came in (what was sent, to say when a reply
    /// is the request echoed back).
    #[prop_or_default]
    pub session: Rc<crate::model::Session>,
}

/// The header as the Python dict `json.loads` makes of it.
fn header_repr(message: &Message) -> String {
    let h = &message.header;
    let mut o = Object::new();
    o.insert("byteorder", &*h.byteorder);
    o.insert("content-type", &*h.content_type);
    o.insert("content-encoding", &*h.content_encoding);
    o.insert("content-length", Json::from(h.content_length as i64));
    for (k, v) in &h.extra {
        o.insert(k.as_str(), v.clone());
    }
    python_repr(&o.into())
}

#[component]
pub fn DecodeView(props: &Props) -> Html {
    let inbound = &props.inbound;
    let decode_here = props.on_decode_here.reform(|_: MouseEvent| ());
    // The newest rows only: a 16 MiB reply is a thousand reads, and
    // redrawing every one on each new one made receiving quadratic.
    let hidden = inbound.chunks.len().saturating_sub(MAX_CHUNK_ROWS);
    let chunks = inbound
        .chunks
        .iter()
        .enumerate()
        .skip(hidden)
        .map(|(i, c)| {
            html! {
                <tr>
                    <td>{ i + 1 }</td>
                    <td class="num">{ format!("{} ms", fixed(c.at_ms, false)) }</td>
                    <td class="num">{ format!("{} B", c.len) }</td>
                    <td class="num">{ format!("{}..{}", c.offset, c.offset + c.len) }</td>
                    <td>
                        { for c.completed.iter().map(|e| html! { <div class="event">{ e }</div> }) }
                        <div class={classes!("need", c.stopped.then_some("error"))}>{ &c.state }</div>
                    </td>
                </tr>
            }
        });
    // Bytes decoded here are the composed request: say what the server
    // would log on receiving it, not what a client makes of a reply.
    let (line_of, role): (fn(&Message) -> String, &str) = if props.local {
        (request_line, "request")
    } else {
        (outcome_line, "response")
    };
    let messages = inbound.messages.iter().map(|d| {
        // Why "Got result: None" (a reply, not the bytes decoded here).
        let why_none = (!props.local)
            .then(|| {
                let bytes = inbound.bytes.get();
                let start = d.frame_start as usize;
                let frame = bytes.get(start..start + d.frame_len).unwrap_or_default();
                no_result_note(&d.message, frame, d.frame_start, &props.session)
            })
            .flatten();
        html! {
            <div class="decoded">
                <p class="outcome" data-testid="outcome">{ line_of(&d.message) }</p>
                if let Some(why) = why_none {
                    <p class="hint why-none">{ why }</p>
                }
                <dl>
                    <dt>{ "frame" }</dt><dd>{ format!("bytes {}..{} ({} B)", d.frame_start, d.frame_start as usize + d.frame_len, d.frame_len) }</dd>
                    <dt>{ "header" }</dt><dd class="mono">{ header_repr(&d.message) }</dd>
                    <dt>{ "content" }</dt><dd class="mono">{ content_shown(&d.message.content) }</dd>
                    <dt>{ "log line" }</dt><dd class="mono">{ protocol::app::describe(&d.message, role) }</dd>
                </dl>
            </div>
        }
    });
    let announcement = inbound
        .messages
        .last()
        .map(|d| line_of(&d.message))
        .into_iter()
        .chain(props.summary.as_ref().map(|s| s.to_string()))
        .collect::<Vec<_>>()
        .join(". ");
    let source = HexSource::Incoming(inbound.clone());
    html! {
        <div class="decode-view">
            <div class="buttons">
                <button type="button" id="decode-here" onclick={decode_here}
                    title="push the composed bytes into a decoder here, cut into the send segments">
                    { "Decode the composed bytes here (no server)" }
                </button>
            </div>
            if props.local {
                <p class="hint" id="decode-caption">{ "Decoded here in the browser from the composed bytes, in the send segments: what the server's decoder would make of your request." }</p>
            } else if !inbound.chunks.is_empty() {
                <p class="hint" id="decode-caption">{ "Received from the server through the relay, one chunk per TCP read." }</p>
            }
            if inbound.chunks.is_empty() {
                <p class="hint" id="no-chunks">{ "Nothing received yet. Send a message, or decode the composed bytes here." }</p>
            } else {
                <table class="chunks" id="chunks">
                    <thead><tr><th>{ "#" }</th><th title="when this page received the chunk, on its own clock; the relay's read() time is in the Session panel">{ "arrived (page clock)" }</th><th>{ "size" }</th><th>{ "bytes" }</th><th>{ "decoder after this chunk" }</th></tr></thead>
                    <tbody>
                        if hidden > 0 {
                            <tr class="more"><td colspan="5">{ format!("… {} not shown ({} bytes)", counted(hidden as u64, "earlier chunk", "earlier chunks"), inbound.chunks[hidden].offset) }</td></tr>
                        }
                        { for chunks }
                    </tbody>
                </table>
            }
            { for messages }
            if let Some(e) = &inbound.error {
                <p class="error" role="alert" id="decode-error">{ format!("decoder stopped: {e}") }</p>
            }
            if let Some(summary) = &props.summary {
                <p class="summary" id="session-summary">{ summary.clone() }</p>
            }
            // Present from the first render, so screen readers announce what
            // lands in it: the latest result and how the session ended (the
            // decoder's error is an alert of its own).
            <p class="sr-only" id="result-live" aria-live="polite" aria-atomic="true">{ announcement }</p>
            if !inbound.bytes.is_empty() {
                <div class="bytes-grid">
                    <HexView source={source.clone()} highlight={props.highlight} selected={props.selected}
                        marked={inbound_offence(inbound)}
                        on_hover={props.on_hover.clone()} on_select={props.on_select.clone()}
                        on_notice={props.on_notice.clone()} id="hex-in" />
                    <StructureTree source={source} highlight={props.highlight}
                        on_hover={props.on_hover.clone()} on_select={props.on_select.clone()} />
                </div>
            }
        </div>
    }
}
