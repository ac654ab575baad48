//! The session's timeline as a table, with its two files: the transcript
//! (JSON with every byte, to replay here or attach to a bug report) and a
//! pcapng of the relay↔target TCP leg for Wireshark, both made by the
//! protocol crate (`protocol::capture`).

use std::rc::Rc;

use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::model::counted;
use crate::model::replay::transcript;
use crate::model::{Observe, Session};

/// Most timeline rows drawn: the newest ones. A 16 MiB echo is about a
/// thousand events, and redrawing them all on every chunk was the page's
/// main cost while receiving; the exported transcript keeps every one.
pub const MAX_ROWS: usize = 300;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub session: Rc<Session>,
    /// The session's observations (addresses and events for the files).
    #[prop_or_default]
    pub observe: Rc<Observe>,
}

/// Offers `bytes` as a file download.
fn download(name: &str, mime: &str, bytes: &[u8]) -> Result<(), wasm_bindgen::JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url)
}

#[component]
pub fn Transcript(props: &Props) -> Html {
    let s = &props.session;
    if s.timeline.is_empty() {
        return html! { <p class="hint" id="transcript-empty">{ "No session yet: press Send." }</p> };
    }
    let file = |pcap: bool| {
        let session = s.clone();
        let observe = props.observe.clone();
        move |_| {
            let t = transcript(&session, &observe);
            let name = format!("wirelab-{}", t.target);
            let _ = if pcap {
                let bytes = protocol::capture::pcapng(&t);
                download(
                    &format!("{name}.pcapng"),
                    "application/vnd.tcpdump.pcap",
                    &bytes,
                )
            } else {
                download(
                    &format!("{name}.json"),
                    "application/json",
                    t.to_json().as_bytes(),
                )
            };
        }
    };
    let hidden = s.timeline.len().saturating_sub(MAX_ROWS);
    html! {
        <div class="transcript">
            <table id="transcript">
                <thead><tr><th>{ "time" }</th><th>{ "event" }</th></tr></thead>
                <tbody>
                    if hidden > 0 {
                        <tr class="more"><td colspan="2">{ format!("… {} not shown (the exported transcript has them)", counted(hidden as u64, "earlier event", "earlier events")) }</td></tr>
                    }
                    { for s.timeline.iter().skip(hidden).map(|e| html! {
                        <tr><td class="num">{ format!("{:.0} ms", e.at_ms) }</td><td>{ e.describe() }</td></tr>
                    }) }
                </tbody>
            </table>
            <button type="button" class="small" id="export" onclick={file(false)}
                title="JSON with every byte: open it here to replay, or attach it to a bug report">{ "Export transcript" }</button>
            <button type="button" class="small" id="download-pcapng" onclick={file(true)}
                title="The relay↔server TCP connection as a capture, for Wireshark (tools/wireshark/wirelab.lua dissects it)">{ "Download .pcapng" }</button>
        </div>
    }
}
