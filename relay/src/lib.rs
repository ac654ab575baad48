//! The WebSocket↔TCP relay: the playground's back end. A browser names a
//! target (`/ws?target=app`); the relay connects to it and moves bytes both
//! ways unchanged. The tutorial's programs themselves live in the
//! `tutorial` crate; the relay runs its app and echo servers in-process.
//!
//! Where things are:
//! - [`server`]: the axum router (`/ws`, `/targets`, `/limits`, `/healthz`,
//!   the built playground) and [`server::Relay::serve`], the accept loop.
//! - [`bridge`]: one WebSocket session ↔ one TCP stream: the close policy,
//!   the byte accounting, the two pumps.
//! - [`targets`]: the named-target registry, the only way to reach a host.
//! - [`clients`]: who a client is (a trusted proxy's forwarded address) and
//!   `--max-sessions-per-ip`.
//! - [`embedded`]: starts the tutorial's app, echo and blackhole servers, the
//!   event-loop server (`multiconn`) and the framing lab's `fixed`, `lines`, `prefix`, `close` as targets.
//! - [`observe`]: `observe=1`, the sessions' observation events: the
//!   bounded queue and the hub pairing sessions with embedded servers.
//! - [`config`]: every limit as a flag with its default.
//! - [`metrics`]: sessions and held bytes, for `/healthz` and the tests.
//! - [`tap`]: `--tap`, decoded frames in the log.
//! - [`record`]: `--record`, each session as a transcript and a pcapng.
//! - [`capture`]: the real capture of a session's TCP leg (`AF_PACKET`,
//!   where the relay has `CAP_NET_RAW`) and `/capture/<id>`'s store.
//!
//! The paths, bodies and close frames the page relies on are typed once in
//! `protocol::relay_api`. The README is the user's guide.

pub mod bridge;
pub mod capture;
pub mod clients;
pub mod config;
pub mod embedded;
pub mod metrics;
pub mod observe;
pub mod record;
pub mod server;
pub mod tap;
pub mod targets;
