//! What the playground's browser tests share: mounting a component on the
//! real page and reading back what it shows.
#![allow(dead_code)]

use protocol::relay_api::TargetInfo;
use wasm_bindgen::JsCast;
use web::components::target_picker;
use web::model::{Conn, SendOptions, Targets};
use web_sys::Element;
use yew::prelude::*;

/// A fresh element on the page to mount a component into.
pub fn root() -> Element {
    let document = document();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div
}

/// The page's document.
pub fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// How long a test waits for a render before calling it missing.
const RENDER_GUARD_MS: u32 = 5_000;

/// Waits (polling every 5 ms) until `rendered` holds: the test reads what
/// it waited for, not whatever a fixed pause left. Fails, naming `what`,
/// after [`RENDER_GUARD_MS`].
pub async fn until(what: &str, mut rendered: impl FnMut() -> bool) {
    let mut waited = 0;
    while !rendered() {
        assert!(
            waited < RENDER_GUARD_MS,
            "not rendered within {RENDER_GUARD_MS} ms: {what}"
        );
        gloo_timers::future::TimeoutFuture::new(5).await;
        waited += 5;
    }
}

/// Waits until the text of `selector` under `root` is other than `before`
/// (an action's render arrived).
pub async fn until_changed(root: &Element, selector: &str, before: &str) {
    until(&format!("{selector} to change from {before:?}"), || {
        root.query_selector(selector)
            .ok()
            .flatten()
            .and_then(|e| e.text_content())
            .is_some_and(|t| t != before)
    })
    .await
}

/// Every element matching `selector`.
pub fn all(root: &Element, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<Element>().ok())
        .collect()
}

/// The text of every element matching `selector`.
pub fn texts(root: &Element, selector: &str) -> Vec<String> {
    all(root, selector)
        .iter()
        .map(|e| e.text_content().unwrap_or_default())
        .collect()
}

/// Renders component `C` with `props` into a fresh element and waits for
/// its first render.
pub async fn mount<C>(props: C::Properties) -> Element
where
    C: BaseComponent,
{
    let div = root();
    yew::Renderer::<C>::with_root_and_props(div.clone(), props).render();
    until("the component's first render", || {
        div.child_element_count() > 0
    })
    .await;
    div
}

/// The first element matching `selector`, as the element type `T`.
pub fn element<T: JsCast>(root: &Element, selector: &str) -> T {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector} in {}", root.inner_html()))
        .dyn_into()
        .unwrap_or_else(|e| panic!("{selector} is a {}", e.node_name()))
}

/// The text of the first element matching `selector`.
pub fn text(root: &Element, selector: &str) -> String {
    element::<Element>(root, selector)
        .text_content()
        .unwrap_or_default()
}

/// TargetPicker's props for a relay listing `names` (no descriptions),
/// `target` picked, idle, a 143-byte frame (the tutorial's morpheus
/// request), every callback a no-op: a test sets what it looks at with
/// `Props { conn, ..picker_props(..) }`.
pub fn picker_props(names: &[&str], target: &str) -> target_picker::Props {
    target_picker::Props {
        targets: Targets::Loaded(
            names
                .iter()
                .map(|name| TargetInfo {
                    name: (*name).into(),
                    description: String::new(),
                    address: None,
                    program: None,
                    exposed: None,
                })
                .collect(),
        ),
        target: target.to_owned().into(),
        send: SendOptions::default(),
        conn: Conn::Idle,
        frame_len: 143,
        sending: false,
        on_target: Callback::noop(),
        on_segment: Callback::noop(),
        on_delay: Callback::noop(),
        on_connect: Callback::noop(),
        on_send: Callback::noop(),
        on_half_close: Callback::noop(),
        on_close: Callback::noop(),
        flood: None,
        on_flood: Callback::noop(),
        on_stop_flood: Callback::noop(),
        replay: None,
    }
}
