//! The relay's HTTP side: the axum router and the accept loop.
//!
//! - `/ws`, `/targets` and `/limits` first check `Host` ([`Identity`]): one
//!   (else 400), naming the relay itself (else 421), which is what keeps a
//!   DNS-rebinding page (its own name resolved to the relay) out.
//! - `GET /ws?target=NAME`: checks Origin (403), the target name (400/404)
//!   and the session limit (503) before upgrading, then runs one
//!   [`bridge`](crate::bridge) session.
//! - `GET /targets`: the registry as JSON ([`TargetInfo`]s) for the UI's picker
//!   (addresses only with `--show-addresses`).
//! - `GET /limits`: what the page must respect ([`Limits`]), from the config.
//! - `GET /healthz`: liveness and the [`Metrics`] counters as JSON.
//! - anything else: static files from the dist directory (trunk's output),
//!   compressed when the browser accepts it.
//!
//! The page's paths and bodies are `protocol::relay_api`'s, so both sides
//! compile the same contract. [`Relay::serve`] runs the router on a listener
//! until a shutdown token is cancelled, with the HTTP limits of `conn`
//! (header timeout and size, idle timeout, a cap on connections that have
//! not upgraded).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri, Version};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use protocol::relay_api::{
    Limits, Observed, TargetInfo, LIMITS_PATH, OBSERVE_PARAM, TARGETS_PATH, WS_PATH,
};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tracing::Instrument;
use tutorial::truncate::{cut, for_log};

mod conn;

use crate::bridge::{
    connect_and_bridge, ws_write_buffer, Ending, Observing, Probe, SessionContext, SessionStats,
};
use crate::config::RelayConfig;
use crate::metrics::Metrics;
use crate::observe::{SessionObserver, MAX_EVENT_TEXT, TEXT_PER_FLUSH};
use crate::record::Recorder;
use crate::tap::Tap;
use crate::targets::{Target, Targets};

/// A relay: configuration, targets and counters, ready to serve.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    config: RelayConfig,
    targets: Targets,
    dist: Option<PathBuf>,
    metrics: Arc<Metrics>,
    sessions: Arc<Semaphore>,
    tracker: TaskTracker,
    /// Cancelled when [`Relay::serve`]'s token is: sessions close with 1001.
    shutdown: CancellationToken,
    /// Set by [`Relay::serve`] from its listener's address.
    identity: OnceLock<Identity>,
}

impl Inner {
    fn identity(&self) -> &Identity {
        self.identity
            .get_or_init(|| Identity::new(None, &self.config))
    }
}

/// Who the relay is: the `Host`s it answers to and the origins that are
/// its own. A DNS-rebinding page controls both `Host` and `Origin` (its own
/// name, resolved to the relay), so comparing the two proves nothing; both
/// are compared with what the relay knows of itself instead.
#[derive(Debug, Default)]
pub struct Identity {
    /// Lower-case `scheme://authority`: pages served from these are same-origin.
    origins: Vec<String>,
    /// Lower-case authorities (`host[:port]`) accepted in `Host`.
    hosts: Vec<String>,
}

impl Identity {
    /// `listen`: the listener's address. On loopback or a wildcard address
    /// the loopback names (`127.0.0.1`, `localhost`, `[::1]`) with its port
    /// are the relay's own too. `--public-origin`s are own origins;
    /// `--allow-origin`s only lend their authority to `Host`.
    pub fn new(listen: Option<SocketAddr>, config: &RelayConfig) -> Identity {
        let mut id = Identity::default();
        if let Some(listen) = listen {
            let port = listen.port();
            if !listen.ip().is_unspecified() {
                id.own(&listen.to_string());
            }
            if listen.ip().is_loopback() || listen.ip().is_unspecified() {
                for name in ["127.0.0.1", "localhost", "[::1]"] {
                    id.own(&format!("{name}:{port}"));
                    // trunk's HTTP proxy sets `Host` to the backend's host
                    // without its port; no rebinding page can send these names.
                    id.host(name);
                }
            }
        }
        for origin in &config.public_origins {
            let (scheme, authority) = split_origin(origin);
            id.origins.push(format!("{scheme}://{authority}"));
            id.host(authority);
            // The default port is left out by browsers, and may be written by others.
            let default = if scheme == "https" { "443" } else { "80" };
            match authority.rsplit_once(':') {
                Some((host, port)) if port == default && !host.is_empty() => id.host(host),
                Some((_, port)) if port.chars().all(|c| c.is_ascii_digit()) => {}
                _ => id.host(&format!("{authority}:{default}")),
            }
        }
        for origin in &config.allowed_origins {
            let lower = origin.to_ascii_lowercase();
            let (_, authority) = split_origin(&lower);
            if !authority.is_empty() {
                id.host(authority);
            }
        }
        id
    }

    /// An authority served over plain http by the relay itself.
    fn own(&mut self, authority: &str) {
        self.origins.push(format!("http://{authority}"));
        self.host(authority);
    }

    fn host(&mut self, authority: &str) {
        let authority = authority.to_ascii_lowercase();
        if !self.hosts.contains(&authority) {
            self.hosts.push(authority);
        }
    }

    fn is_own_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }

    fn is_own_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// (scheme, authority) of `scheme://authority[/…]`; ("", "") for anything else.
fn split_origin(origin: &str) -> (&str, &str) {
    match origin.split_once("://") {
        Some((scheme, rest)) => (scheme, rest.split('/').next().unwrap_or("")),
        None => ("", ""),
    }
}

impl Relay {
    /// `dist`: the directory served at `/` (none: only the API routes).
    pub fn new(config: RelayConfig, targets: Targets, dist: Option<PathBuf>) -> Relay {
        let sessions = Arc::new(Semaphore::new(config.max_sessions));
        Relay {
            inner: Arc::new(Inner {
                config,
                targets,
                dist,
                metrics: Arc::new(Metrics::default()),
                sessions,
                tracker: TaskTracker::new(),
                shutdown: CancellationToken::new(),
                identity: OnceLock::new(),
            }),
        }
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.inner.metrics.clone()
    }

    pub fn targets(&self) -> &Targets {
        &self.inner.targets
    }

    /// The routes, for serving or for tests that call them without a socket.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route(WS_PATH, get(ws_handler))
            .route(TARGETS_PATH, get(targets_handler))
            .route(LIMITS_PATH, get(limits_handler))
            .route_layer(middleware::from_fn_with_state(
                self.inner.clone(),
                host_guard,
            ))
            .route("/healthz", get(healthz_handler))
            .with_state(self.inner.clone());
        match &self.inner.dist {
            Some(dist) => {
                let files = ServeDir::new(dist)
                    .append_index_html_on_directories(true)
                    .precompressed_br()
                    .precompressed_gzip();
                // Compression only for files: an upgrade response has no body to compress.
                api.fallback_service(
                    Router::new()
                        .fallback_service(files)
                        .layer(CompressionLayer::new()),
                )
            }
            None => api,
        }
    }

    /// Serves until `shutdown` is cancelled; then stops accepting, closes
    /// every session with 1001 and returns once they have ended (each takes
    /// at most `--close-grace` for its close handshake), as have the HTTP
    /// connections (each dropped after `--close-grace` if its client has
    /// not finished its request by then).
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) -> io::Result<()> {
        let listen = listener.local_addr()?;
        let _ = self
            .inner
            .identity
            .set(Identity::new(Some(listen), &self.inner.config));
        let inner = self.inner.clone();
        let stop = shutdown.clone();
        let sessions_down = tokio::spawn(async move {
            stop.cancelled().await;
            inner.shutdown.cancel();
        });
        conn::accept_loop(listener, self.router(), &self.inner.config, shutdown).await;
        // Cancelled by now (the loop ends only then): the sessions are closing.
        let _ = sessions_down.await;
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
        Ok(())
    }
}

/// Why a request to `path` was refused (for `/ws`: before the upgrade,
/// counted in the metrics). Callers cut the stranger's values they quote
/// ([`for_log`]), so the line stays short whatever was sent.
fn refuse(inner: &Inner, path: &str, status: StatusCode, body: String) -> Response {
    if path == WS_PATH {
        inner.metrics.refused_one();
    }
    tracing::warn!("refused {}: {} {body}", for_log(path), status.as_u16());
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body + "\n",
    )
        .into_response()
}

/// `/ws`, `/targets` and `/limits` answer only requests with one `Host`
/// (RFC 9112: else 400) that names the relay itself (else 421 Misdirected
/// Request): a DNS-rebinding page's requests carry its own host name.
async fn host_guard(State(inner): State<Arc<Inner>>, request: Request, next: Next) -> Response {
    match host_allowed(
        request.headers(),
        request.uri(),
        request.version(),
        inner.identity(),
    ) {
        Ok(()) => next.run(request).await,
        Err((status, why)) => refuse(&inner, request.uri().path(), status, why),
    }
}

fn host_allowed(
    headers: &HeaderMap,
    uri: &Uri,
    version: Version,
    identity: &Identity,
) -> Result<(), (StatusCode, String)> {
    let bad = |why: &str| (StatusCode::BAD_REQUEST, why.to_owned());
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => return Err(bad("more than one Host header")),
        (Some(host), None) => host.to_str().map_err(|_| bad("Host is not ASCII"))?,
        // HTTP/2 names the authority in the request line instead.
        (None, _) if version >= Version::HTTP_2 => match uri.authority() {
            Some(authority) => authority.as_str(),
            None => return Err(bad("no Host header")),
        },
        (None, _) => return Err(bad("no Host header")),
    };
    if identity.is_own_host(host) {
        return Ok(());
    }
    Err((
        StatusCode::MISDIRECTED_REQUEST,
        format!(
            "this relay does not answer to Host {:?}: only to its own address (or a --public-origin)",
            for_log(host)
        ),
    ))
}

/// One of the relay's own origins (scheme included), or listed in
/// `--allow-origin`; no Origin at all means not a browser, which Origin
/// checks cannot judge (the `Host` check still applies to it).
fn origin_allowed(
    headers: &HeaderMap,
    identity: &Identity,
    allowed: &[String],
) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .map_err(|_| "origin is not ASCII".to_owned())?;
    if identity.is_own_origin(origin) || allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return Ok(());
    }
    Err(format!(
        "origin {} is not allowed (the relay's own, --public-origin or --allow-origin only)",
        for_log(origin)
    ))
}

async fn ws_handler(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Err(why) = origin_allowed(&headers, inner.identity(), &inner.config.allowed_origins) {
        return refuse(&inner, WS_PATH, StatusCode::FORBIDDEN, why);
    }
    let query = match query {
        Ok(Query(query)) => query,
        Err(e) => {
            return refuse(
                &inner,
                WS_PATH,
                StatusCode::BAD_REQUEST,
                for_log(&e.body_text()).into_owned(),
            )
        }
    };
    let Some(name) = query.get("target") else {
        return refuse(
            &inner,
            WS_PATH,
            StatusCode::BAD_REQUEST,
            format!(
                "missing ?target=NAME; targets: {}",
                inner.targets.names().join(", ")
            ),
        );
    };
    let Some(target) = inner.targets.get(name).cloned() else {
        return refuse(
            &inner,
            WS_PATH,
            StatusCode::NOT_FOUND,
            format!(
                "unknown target {:?}: targets are chosen by name, never by host or port; targets: {}",
                for_log(name),
                inner.targets.names().join(", ")
            ),
        );
    };
    let observe = match query.get(OBSERVE_PARAM).map(String::as_str) {
        None | Some("0") => false,
        Some("1") => true,
        Some(other) => {
            return refuse(
                &inner,
                WS_PATH,
                StatusCode::BAD_REQUEST,
                format!("{OBSERVE_PARAM}={:?}: 1 or 0", cut(other, 16)),
            )
        }
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let Ok(permit) = inner.sessions.clone().try_acquire_owned() else {
        return refuse(
            &inner,
            WS_PATH,
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "too many sessions (--max-sessions {})",
                inner.config.max_sessions
            ),
        );
    };
    let config = &inner.config;
    let token = inner.tracker.token();
    let session_inner = inner.clone();
    // Observation text shares the flushes with the bytes, bounded per flush.
    let text = if observe {
        TEXT_PER_FLUSH + MAX_EVENT_TEXT
    } else {
        0
    };
    upgrade
        .read_buffer_size(config.ws_read_buffer)
        // Frames go out when the bridge flushes, which it does as soon as
        // the target has nothing more ready; the bridge bounds what it
        // queues, so the buffer is sized to that bound.
        .write_buffer_size(ws_write_buffer(config.read_chunk) + text)
        .max_write_buffer_size(ws_write_buffer(config.read_chunk) + 1024 + text)
        .max_message_size(config.max_message_size)
        .max_frame_size(config.max_message_size)
        .on_upgrade(move |socket| async move {
            run_session(session_inner, socket, target, peer, observe, permit).await;
            drop(token);
        })
}

async fn run_session(
    inner: Arc<Inner>,
    socket: WebSocket,
    target: Target,
    peer: SocketAddr,
    observe: bool,
    _permit: OwnedSemaphorePermit,
) {
    let id = inner.metrics.session_started();
    // The span carries the session's numbers as fields (for structured
    // subscribers); the plain log line repeats them in words.
    let span = tracing::info_span!(
        "session",
        id,
        %peer,
        target = %target.name,
        bytes_to_target = tracing::field::Empty,
        bytes_to_browser = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
        close_code = tracing::field::Empty,
        close_reason = tracing::field::Empty,
        close_sent = tracing::field::Empty,
    );
    let fields = span.clone();
    async {
        let name = &target.name;
        tracing::info!("session {id}: {peer} → {name} ({})", target.address);
        let config = &inner.config;
        let stats = SessionStats::new(inner.metrics.held_bytes());
        let observer = observe.then(|| {
            let observer = SessionObserver::new(stats.started(), config);
            observer.push(Observed::Observing {
                target: name.clone(),
                server: target.embedded,
            });
            observer
        });
        let observing = observer.as_ref().map(|observer| Observing {
            observer,
            hub: target.embedded.then(|| inner.targets.hub()),
            probe: Probe::default(),
        });
        let taps = config.tap.then(|| {
            let max = config.max_message_size as u64;
            (
                Tap::new(format!("session {id} browser → {name}"), max),
                Tap::new(format!("session {id} {name} → browser"), max),
            )
        });
        let record = config
            .record
            .is_some()
            .then(|| Recorder::new(name, stats.started(), config.record_max_bytes));
        let (mut ws_tx, mut ws_rx) = socket.split();
        let report = connect_and_bridge(
            &mut ws_tx,
            &mut ws_rx,
            target.address,
            SessionContext {
                config,
                stats: &stats,
                shutdown: &inner.shutdown,
                taps,
                observing,
                record: record.as_ref(),
            },
        )
        .await;
        if let Some(observer) = &observer {
            observer.end();
        }
        if let (Some(record), Some(dir)) = (record, &config.record) {
            match (&report.close, &report.ending) {
                (Some(reason), _) => record.closed(reason.code(), reason.text(), false),
                (None, Ending::ClientClosed(frame)) => {
                    let (code, reason) = frame.clone().unwrap_or((1005, String::new()));
                    record.closed(code, reason, true);
                }
                _ => {}
            }
            record.save(dir.clone(), id).await;
        }
        fields.record("bytes_to_target", report.to_upstream);
        fields.record("bytes_to_browser", report.to_client);
        fields.record("duration_ms", report.duration.as_millis() as u64);
        if let Some(reason) = &report.close {
            fields.record("close_code", reason.code());
            fields.record("close_reason", reason.text().as_str());
        }
        fields.record("close_sent", report.close_sent);
        tracing::info!(
            "session {id} ended after {:.3}s: {} bytes to {name}, {} bytes to the browser, {}{}",
            report.duration.as_secs_f64(),
            report.to_upstream,
            report.to_client,
            report.ending.describe(),
            if report.close.is_some() && !report.close_sent {
                " (not delivered: the browser is not reading)"
            } else {
                ""
            },
        );
        inner.metrics.session_ended(id, name, &report);
    }
    .instrument(span)
    .await
}

async fn targets_handler(State(inner): State<Arc<Inner>>) -> Json<Vec<TargetInfo>> {
    let info = |target: &Target| TargetInfo {
        name: target.name.clone(),
        description: target.description.clone(),
        address: inner
            .config
            .show_addresses
            .then(|| target.address.to_string()),
    };
    Json(inner.targets.iter().map(info).collect())
}

async fn limits_handler(State(inner): State<Arc<Inner>>) -> Json<Limits> {
    Json(Limits {
        max_message_size: inner.config.max_message_size as u64,
    })
}

async fn healthz_handler(State(inner): State<Arc<Inner>>) -> Json<serde_json::Value> {
    let m = &inner.metrics;
    Json(serde_json::json!({
        "status": "ok",
        "sessions": m.active_sessions(),
        "total_sessions": m.total_sessions(),
        "refused": m.refused(),
        "buffered_bytes": m.buffered_bytes(),
        "targets": inner.targets.names(),
    }))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    fn identity(listen: &str, public: &[&str]) -> Identity {
        let config = RelayConfig {
            public_origins: public.iter().map(|o| o.to_string()).collect(),
            ..RelayConfig::default()
        };
        Identity::new(Some(listen.parse().unwrap()), &config)
    }

    #[test]
    fn own_and_listed_origins_pass_others_do_not() {
        let id = identity("127.0.0.1:8780", &[]);
        let allowed = vec!["http://127.0.0.1:8080".to_owned()];
        let ok = |origin: Option<&str>| {
            origin_allowed(&headers(origin, "127.0.0.1:8780"), &id, &allowed).is_ok()
        };
        assert!(ok(Some("http://127.0.0.1:8780")));
        assert!(ok(Some("http://localhost:8780")));
        assert!(ok(Some("http://[::1]:8780")));
        assert!(ok(Some("http://127.0.0.1:8080")));
        assert!(ok(None));
        assert!(!ok(Some("https://evil.example")));
        assert!(!ok(Some("null")));
        // Same host, another port is another origin; https is another scheme.
        assert!(!ok(Some("http://127.0.0.1:9999")));
        assert!(!ok(Some("https://127.0.0.1:8780")));
        // A rebinding page's Origin matches its Host, which no longer counts.
        assert!(origin_allowed(
            &headers(Some("http://evil.example:8780"), "evil.example:8780"),
            &id,
            &allowed
        )
        .is_err());
    }

    #[test]
    fn hosts_are_the_relays_own_names() {
        let check = |id: &Identity, host: &str| {
            host_allowed(
                &headers(None, host),
                &Uri::from_static("/"),
                Version::HTTP_11,
                id,
            )
            .map_err(|(status, _)| status.as_u16())
        };
        let id = identity("127.0.0.1:8780", &[]);
        for host in [
            "127.0.0.1:8780",
            "LOCALHOST:8780",
            "[::1]:8780",
            "localhost",
            "127.0.0.1:8080",
        ] {
            assert_eq!(check(&id, host), Ok(()), "{host}");
        }
        for host in ["evil.example:8780", "127.0.0.1:9999", "wirelab.example.edu"] {
            assert_eq!(check(&id, host), Err(421), "{host}");
        }
        // A wildcard listen address: the loopback names, not 0.0.0.0.
        let id = identity("0.0.0.0:8780", &[]);
        assert_eq!(check(&id, "localhost:8780"), Ok(()));
        assert_eq!(check(&id, "10.0.0.5:8780"), Err(421));
        // A specific address: itself only.
        let id = identity("10.0.0.5:8780", &["https://wirelab.example.edu"]);
        assert_eq!(check(&id, "10.0.0.5:8780"), Ok(()));
        assert_eq!(check(&id, "localhost:8780"), Err(421));
        assert_eq!(check(&id, "wirelab.example.edu"), Ok(()));
        assert_eq!(check(&id, "wirelab.example.edu:443"), Ok(()));
        assert!(id.is_own_origin("https://wirelab.example.edu"));
        assert!(!id.is_own_origin("http://wirelab.example.edu"));
        assert!(!id.is_own_origin("http://10.0.0.5:8780/"));
        // No Host (HTTP/1.1), or two: 400.
        let none = host_allowed(
            &HeaderMap::new(),
            &Uri::from_static("/"),
            Version::HTTP_11,
            &id,
        );
        assert_eq!(none.unwrap_err().0, StatusCode::BAD_REQUEST);
        let mut two = headers(None, "10.0.0.5:8780");
        two.append(header::HOST, HeaderValue::from_static("10.0.0.5:8780"));
        let two = host_allowed(&two, &Uri::from_static("/"), Version::HTTP_11, &id);
        assert_eq!(two.unwrap_err().0, StatusCode::BAD_REQUEST);
    }
}
