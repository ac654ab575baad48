//! The wirelab playground: build, visualise, step through and send protocol
//! messages in the browser. All encoding and decoding is the `protocol`
//! crate compiled to wasm; this crate only shows it.
//!
//! Where things are:
//! - [`model`]: the page as plain data and the one reducer. `model::state`
//!   holds `State`, `Action` (grouped: compose, send, session, view) and
//!   `reduce`; the other `model` modules hold one part each: the composer's
//!   fields, presets, the composed frame, encode steps, the decoder's view of
//!   received bytes, the session timeline, send options, the relay↔page
//!   contract on the page's side (`model::relay`), and the view state.
//! - [`app`]: the root component; wires the reducer to the socket, the
//!   relay's `/targets`, the URL hash, and each panel's callbacks.
//! - [`components`]: one module per panel, each taking narrow callbacks.
//! - [`hooks`]: `use_websocket`, the playground's socket.
//! - [`labs`]: the lessons beside the playground (the framing lab, Many
//!   connections), each opening its own sockets.
//! - [`socket_url`]: the `/ws` URL every socket of the page connects to.
//! - [`share`]: the URL hash ⇄ message, target and send options.

pub mod app;
pub mod components;
pub mod hooks;
pub mod labs;
pub mod model;
pub mod relay_http;
pub mod share;
pub mod socket_url;

/// Mounts the playground on the document's body.
pub fn run() {
    yew::Renderer::<app::App>::new().render();
}

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
