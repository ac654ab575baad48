//! The session's timeline as a table, with its two files: the transcript
//! (JSON with every byte, to replay here or attach to a bug report) and a
//! pcapng of the relay↔target TCP leg for Wireshark. The pcapng is the
//! relay's real capture when it took one (`Observed::Capture`, fetched
//! from `relay_api::capture_path` once the session has ended), else the
//! protocol crate's reconstruction (`protocol::capture`), and the page
//! says which before the download.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::model::clock::relay_times;
use crate::model::counted;
use crate::model::replay::transcript;
use crate::model::{Observe, Session, TimelineKind};

/// Whether the session's socket has closed (its capture is then finished).
fn ended(session: &Session) -> bool {
    session
        .timeline
        .iter()
        .any(|e| matches!(e.kind, TimelineKind::Close { .. }))
}

/// Most timeline rows drawn: the newest ones. A 16 MiB echo is about a
/// thousand events, and redrawing them all on every chunk was the page's
/// main cost while receiving; the exported transcript keeps every one.
pub const MAX_ROWS: usize = 300;

const PCAP: &str = "application/vnd.tcpdump.pcap";

#[derive(Properties, PartialEq)]
pub struct Props {
    pub session: Rc<Session>,
    /// The session's observations (addresses and events for the files).
    #[prop_or_default]
    pub observe: Rc<Observe>,
    /// The session is a replay: its capture, if any, is not this relay's.
    #[prop_or_default]
    pub replaying: bool,
}

/// The relay's capture `id` (`GET /capture/<id>`), as bytes.
async fn fetch_capture(id: &str) -> Result<Vec<u8>, String> {
    use wasm_bindgen_futures::JsFuture;
    let path = protocol::relay_api::capture_path(id);
    let window = web_sys::window().ok_or("no window")?;
    let failed = |e: wasm_bindgen::JsValue| {
        let why = js_sys::Error::from(e).message();
        format!("GET {path} failed ({why})")
    };
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(&path))
        .await
        .map_err(failed)?
        .dyn_into()
        .map_err(|_| format!("GET {path}: not a response"))?;
    if !response.ok() {
        return Err(format!("GET {path} answered {}", response.status()));
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(failed)?)
        .await
        .map_err(failed)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
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
    let failed = use_state(|| None::<String>);
    if s.timeline.is_empty() {
        return html! { <p class="hint" id="transcript-empty">{ "No session yet: press Send." }</p> };
    }
    let file = |pcap: bool| {
        let session = s.clone();
        let observe = props.observe.clone();
        let failed = failed.clone();
        let replaying = props.replaying;
        move |_| {
            let t = transcript(&session, &observe);
            let name = format!("wirelab-{}", t.target);
            if !pcap {
                let json = t.to_json();
                let _ = download(&format!("{name}.json"), "application/json", json.as_bytes());
                return;
            }
            let pcap_name = format!("{name}.pcapng");
            let capture = observe.capture.clone().filter(|_| !replaying);
            match (capture, ended(&session)) {
                // The relay's own capture, once the session has ended.
                (Some(id), true) => {
                    let failed = failed.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        match fetch_capture(&id).await {
                            Ok(bytes) => {
                                failed.set(None);
                                let _ = download(&pcap_name, PCAP, &bytes);
                            }
                            Err(e) => failed.set(Some(e)),
                        }
                    });
                }
                _ => {
                    let _ = download(&pcap_name, PCAP, &protocol::capture::pcapng(&t));
                }
            }
        }
    };
    let real = props.observe.capture.is_some();
    let (label, title, note) = match (real && !props.replaying, ended(s)) {
        (true, true) => (
            "Download .pcapng (captured)",
            "The relay's real capture of the relay↔server TCP connection (the kernel's own segments), for Wireshark (tools/wireshark/wirelab.lua dissects it)",
            "The capture is real: the relay captured this connection's segments on the loopback.",
        ),
        (true, false) => (
            "Download .pcapng (reconstructed so far)",
            "The session is still open: this is a reconstruction; the real capture is ready once the session has ended",
            "The relay is capturing this connection; its real capture is ready once the session has ended. Until then the download is reconstructed.",
        ),
        _ if props.replaying => (
            "Download .pcapng (reconstructed)",
            "Reconstructed from this transcript's system calls, for Wireshark: times are the relay's; segmentation, windows and ACK timing are not known",
            "Reconstructed from this transcript, not captured: a replay has no capture of its own (relay --record writes the real one beside the transcript where it may capture).",
        ),
        (false, _) => (
            "Download .pcapng (reconstructed)",
            "Reconstructed from the relay's system calls, for Wireshark: times are the relay's; segmentation, windows and ACK timing are not known",
            "Reconstructed, not captured: the relay did not capture this session (it may not capture packets without CAP_NET_RAW, runs with --no-capture, or was already capturing as many sessions as --max-captures or --max-captures-per-ip allow), so the .pcapng is drawn from its system calls and says so in its comments.",
        ),
    };
    let hidden = s.timeline.len().saturating_sub(MAX_ROWS);
    let times = relay_times(s, &props.observe);
    html! {
        <div class="transcript">
            <table id="transcript">
                <thead><tr><th>{ "time (relay clock)" }</th><th>{ "event" }</th></tr></thead>
                <tbody>
                    if hidden > 0 {
                        <tr class="more"><td colspan="2">{ format!("… {} not shown (the exported transcript has them)", counted(hidden as u64, "earlier event", "earlier events")) }</td></tr>
                    }
                    { for s.timeline.iter().zip(times).skip(hidden).map(|(e, at)| html! {
                        <tr><td class="num">{ at.label() }</td><td>{ e.describe() }</td></tr>
                    }) }
                </tbody>
            </table>
            <button type="button" class="small" id="export" onclick={file(false)}
                title="JSON with every byte: open it here to replay, or attach it to a bug report">{ "Export transcript" }</button>
            <button type="button" class="small" id="download-pcapng" onclick={file(true)}
                {title}>{ label }</button>
            <p class="hint" id="pcapng-kind">{ note }</p>
            if let Some(e) = &*failed {
                <p class="hint err" id="pcapng-failed">{ format!("The relay's capture could not be fetched: {e}") }</p>
            }
        </div>
    }
}
