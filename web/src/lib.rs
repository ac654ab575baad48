//! The wirelab playground: build, visualise, step through and send protocol
//! messages in the browser. All encoding and decoding is the `protocol`
//! crate compiled to wasm; this crate only shows it.
//!
//! Where things are:
//! - [`state`]: the one reducer (`Action`, `reduce`) and everything derived
//!   from the state (composed frame, encode steps, decoded chunks).
//! - [`app`]: the root component; wires the reducer to the socket, the
//!   relay's `/targets` and the URL hash.
//! - [`components`]: one module per panel.
//! - [`hooks`]: `use_websocket`, the only place a socket is touched.
//! - [`presets`]: the tutorial's exchanges and malformed frames.
//! - [`share`]: the URL hash ⇄ message, target and send options.

pub mod app;
pub mod components;
pub mod hooks;
pub mod presets;
pub mod share;
pub mod state;

/// Mounts the playground on the document's body.
pub fn run() {
    yew::Renderer::<app::App>::new().render();
}

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
