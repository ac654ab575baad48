//! The WebSocket↔TCP relay: the playground's back end. A browser names a
//! target (`/ws?target=app`); the relay connects to it and moves bytes both
//! ways unchanged. The tutorial's programs themselves live in the
//! `tutorial` crate; the relay runs them in-process ([`embedded`]).
//!
//! Where things are:
//! - [`server`]: the axum router (`/ws`, `/targets`, `/limits`, `/healthz`,
//!   the built playground) and [`server::Relay::serve`], the accept loop.
//! - [`bridge`]: one WebSocket session ↔ one TCP stream: the close policy,
//!   the byte accounting, the two pumps.
//! - [`budget`]: the relay-wide held bytes (`--max-buffered-bytes`) the
//!   sessions and the recordings both count in.
//! - [`targets`]: the named-target registry, the only way to reach a host.
//! - [`close_requests`]: `POST /ws/close?key=`, a close that overtakes the
//!   bytes a browser still has queued.
//! - [`clients`]: who a client is (a trusted proxy's forwarded address) and
//!   `--max-sessions-per-ip`.
//! - [`embedded`]: the one table of embedded targets ([`embedded::EMBEDDED`]:
//!   the tutorial's app, echo and blackhole servers, the event-loop server
//!   `multiconn`, the framing lab's `fixed`, `lines`, `prefix`, `close`),
//!   and starting them.
//! - [`expose`]: `--expose NAME=HOST:PORT`, an embedded target listening for
//!   the learner's own clients too (streamed by `/ws?watch=NAME`).
//! - [`embedded`]: starts the tutorial's app, echo and blackhole servers, the
//!   event-loop server (`multiconn`) and the framing lab's `fixed`, `lines`, `prefix`, `close` as targets.
//! - [`observe`]: `observe=1`, the sessions' observation events: the
//!   bounded queue and the hub pairing sessions with embedded servers.
//! - [`config`]: every limit as a flag with its default.
//! - [`metrics`]: sessions and held bytes, for `/healthz` and the tests.
//! - [`tap`]: `--tap`, decoded frames in the log.
//! - [`record`]: `--record`, each session as a transcript and a pcapng.
//! - [`testing`]: a relay on port 0 with the embedded servers, the one way
//!   the integration and browser tests start one.
//! - [`run`]: `--run`, a learner's own server started and traced by the
//!   relay, its socket calls shown as the `server_*` events.
//! - [`capture`]: the real capture of a session's TCP leg (`AF_PACKET`,
//!   where the relay has `CAP_NET_RAW`) and `/capture/<id>`'s store.
//!
//! The paths, bodies and close frames the page relies on are typed once in
//! `protocol::relay_api`. The README is the user's guide; docs/reference.md holds every flag and route.

pub mod activity;
pub mod bridge;
pub mod budget;
pub mod capture;
pub mod clients;
pub mod close_requests;
pub mod config;
pub mod embedded;
pub mod expose;
pub mod metrics;
pub mod observe;
pub mod record;
pub mod run;
pub mod server;
pub mod spec;
pub mod tap;
pub mod targets;
pub mod testing;
