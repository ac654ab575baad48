//! The session's timeline as a table, exportable as JSON.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::model::{transcript_json, Session};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub session: Rc<Session>,
}

/// Offers `text` as a file download.
fn download(name: &str, text: &str) -> Result<(), wasm_bindgen::JsValue> {
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/json");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
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
    let export = {
        let session = s.clone();
        move |_| {
            let _ = download("wirelab-session.json", &transcript_json(&session));
        }
    };
    html! {
        <div class="transcript">
            <table id="transcript">
                <thead><tr><th>{ "time" }</th><th>{ "event" }</th></tr></thead>
                <tbody>
                    { for s.timeline.iter().map(|e| html! {
                        <tr><td class="num">{ format!("{:.0} ms", e.at_ms) }</td><td>{ e.describe() }</td></tr>
                    }) }
                </tbody>
            </table>
            <button type="button" class="small" id="export" onclick={export}>{ "Export as JSON" }</button>
        </div>
    }
}
