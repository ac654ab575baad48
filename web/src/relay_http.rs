//! The relay's HTTP routes as the page reads them (`/targets`, `/limits`),
//! and what the page says when one fails. The root component and the tabs
//! that need the target list (Watch) take them from here.

use protocol::relay_api::{Limits, TargetInfo, LIMITS_PATH, TARGETS_PATH};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

use crate::model::relay::{parse_targets, refused_words, UNREACHABLE};

/// The body of `GET path` from the relay.
async fn fetch_text(path: &str) -> Result<String, String> {
    let window = web_sys::window().ok_or("no window")?;
    let unreachable = |e: wasm_bindgen::JsValue| {
        let why = js_sys::Error::from(e).message();
        format!("{UNREACHABLE}: GET {path} failed ({why})")
    };
    let response: Response = JsFuture::from(window.fetch_with_str(path))
        .await
        .map_err(unreachable)?
        .dyn_into()
        .map_err(|_| format!("GET {path}: not a response"))?;
    if !response.ok() {
        let page_origin = window.location().origin().unwrap_or_default();
        return Err(refused_words(
            path,
            response.status(),
            &response.status_text(),
            &page_origin,
        ));
    }
    Ok(JsFuture::from(response.text().map_err(unreachable)?)
        .await
        .map_err(unreachable)?
        .as_string()
        .unwrap_or_default())
}

pub async fn fetch_targets() -> Result<Vec<TargetInfo>, String> {
    parse_targets(&fetch_text(TARGETS_PATH).await?)
}

/// The relay's limits; without them a flood sends one frame per message,
/// which any relay that accepts the frame accepts.
pub async fn fetch_limits() -> Option<Limits> {
    Limits::from_json(&fetch_text(LIMITS_PATH).await.ok()?).ok()
}
