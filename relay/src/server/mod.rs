//! The relay's HTTP side: the axum router and the accept loop.
//!
//! - `/ws`, `/targets` and `/limits` first check `Host` ([`Identity`]): one
//!   (else 400), naming the relay itself (else 421), which is what keeps a
//!   DNS-rebinding page (its own name resolved to the relay) out.
//! - `GET /ws?target=NAME`: checks Origin (403), the target name (400/404),
//!   the session limit and the buffered-bytes budget (503) and the client's
//!   sessions (429, the client as [`client_ip`] finds it) before upgrading,
//!   then runs one [`bridge`](crate::bridge) session, whose partial
//!   messages its connection counts ([`Inbound`]).
//! - `GET /targets`: the registry as JSON ([`TargetInfo`]s) for the UI's picker
//!   (addresses only with `--show-addresses`).
//! - `GET /limits`: what the page must respect ([`Limits`]), from the config.
//! - `GET /capture/<id>`: a finished session's real capture (pcapng), by
//!   the id its WebSocket announced (`Observed::Capture`); Host- and
//!   Origin-checked like `/ws`, 404 once no longer kept (`--capture-keep`).
//! - `GET /healthz`: liveness and the [`Metrics`] counters as JSON.
//! - anything else: static files from the dist directory (trunk's output),
//!   as the `.br`/`.gz` copies a release build made when the browser
//!   accepts one (never compressed per request).
//!
//! - `GET /ws?watch=NAME`: the same checks, then a watch stream of the
//!   learner's own clients at an `--expose`d target (`watch`).
//!
//! Here by job: `identity` (the Host and Origin checks), `conn` (the accept
//! loop and its HTTP limits), `refusal_log` (refusal lines per second),
//! `watch` (watch streams).
//!
//! The page's paths and bodies are `protocol::relay_api`'s, so both sides
//! compile the same contract. [`Relay::serve`] runs the router on a listener
//! until a shutdown token is cancelled, with the HTTP limits of `conn`
//! (header timeout and size, idle timeout, a cap on connections that have
//! not upgraded).

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use axum::Router;
use futures_util::StreamExt;
use protocol::json::Json;
use protocol::relay_api::{
    Limits, Observed, TargetInfo, CAPTURE_PARAM, CAPTURE_PATH, CLOSE_PATH, KEY_HEX_DIGITS,
    KEY_PARAM, LIMITS_PATH, OBSERVE_PARAM, TARGETS_PATH, WATCH_PARAM, WS_PATH,
};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tracing::Instrument;
use tutorial::truncate::{cut, for_log};

mod conn;
mod identity;
mod pool;
mod refusal_log;
mod watch;

pub use identity::Identity;
use identity::{host_allowed, origin_allowed};
use refusal_log::RefusalLog;

use crate::bridge::{
    connect_and_bridge, ws_write_buffer, Ending, Inbound, Observing, Probe, SessionContext,
    SessionStats,
};
use crate::capture::{CaptureSlot, Captures};
use crate::clients::{client_ip, ClientSlot, PerClient};
use crate::close_requests::{CloseRequests, Registered};
use crate::config::RelayConfig;
use crate::metrics::Metrics;
use crate::observe::{SessionObserver, MAX_EVENT_TEXT, MAX_WATCH_EVENT_TEXT, TEXT_PER_FLUSH};
use crate::record::{Recorder, Recordings};
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
    /// `--max-sessions-per-ip`.
    per_client: PerClient,
    /// `--refusal-log-rate`.
    refusal_log: RefusalLog,
    /// `--record`'s relay-wide bounds (memory in the held bytes, disk).
    recordings: Arc<Recordings>,
    /// Real captures: whether the relay may, their bounds, the page's store.
    captures: Arc<Captures>,
    tracker: TaskTracker,
    /// Cancelled when [`Relay::serve`]'s token is: sessions close with 1001.
    shutdown: CancellationToken,
    /// Set by [`Relay::serve`] from its listener's address.
    identity: OnceLock<Identity>,
    /// Open sessions' keys, for `POST /ws/close`.
    close_requests: Arc<CloseRequests>,
}

impl Inner {
    fn identity(&self) -> &Identity {
        self.identity
            .get_or_init(|| Identity::new(None, &self.config))
    }
}

impl Relay {
    /// `dist`: the directory served at `/` (none: only the API routes).
    pub fn new(config: RelayConfig, targets: Targets, dist: Option<PathBuf>) -> Relay {
        let sessions = Arc::new(Semaphore::new(config.max_sessions));
        let per_client = PerClient::new(config.max_sessions_per_ip);
        let refusal_log = RefusalLog::new(config.refusal_log_rate);
        let metrics = Arc::new(Metrics::default());
        Relay {
            inner: Arc::new(Inner {
                recordings: Recordings::new(
                    metrics.held_bytes(),
                    config.max_buffered_bytes,
                    config.record_max_total,
                    config.record_max_files,
                ),
                captures: Captures::new(&config, metrics.held_bytes()),
                config,
                targets,
                dist,
                metrics,
                per_client,
                refusal_log,
                sessions,
                tracker: TaskTracker::new(),
                shutdown: CancellationToken::new(),
                identity: OnceLock::new(),
                close_requests: Arc::default(),
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
            .route(CLOSE_PATH, post(close_handler))
            .route(TARGETS_PATH, get(targets_handler))
            .route(LIMITS_PATH, get(limits_handler))
            .route(&format!("{CAPTURE_PATH}{{id}}"), get(capture_handler))
            .route_layer(middleware::from_fn_with_state(
                self.inner.clone(),
                host_guard,
            ))
            .route("/healthz", get(healthz_handler))
            .with_state(self.inner.clone());
        match &self.inner.dist {
            Some(dist) => {
                // The `.br`/`.gz` copies a release build made (Trunk.toml's
                // hook) go out as they are; without them, the file itself.
                let files = ServeDir::new(dist)
                    .append_index_html_on_directories(true)
                    .precompressed_br()
                    .precompressed_gzip();
                // The body depends on Accept-Encoding: caches must key on it.
                api.fallback_service(Router::new().fallback_service(files).layer(
                    SetResponseHeaderLayer::appending(
                        header::VARY,
                        HeaderValue::from_static("accept-encoding"),
                    ),
                ))
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
/// ([`for_log`]), so the line stays short whatever was sent, and the lines
/// are rate-limited ([`RefusalLog`]), so their number stays small too.
fn refuse(inner: &Inner, path: &str, status: StatusCode, body: String) -> Response {
    if path == WS_PATH {
        inner.metrics.refused_one();
    }
    let verdict = inner.refusal_log.admit(std::time::Instant::now());
    if let Some(n) = verdict.suppressed {
        tracing::warn!(
            "{n} more refusals not logged (--refusal-log-rate {} per second)",
            inner.refusal_log.per_second()
        );
    }
    if verdict.log {
        tracing::warn!("refused {}: {} {body}", for_log(path), status.as_u16());
    }
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

/// `POST /ws/close?key=HEX`: closes the open session with that key now
/// ([`crate::close_requests`]); 204, or 404 if none has it.
async fn close_handler(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    if let Err(why) = origin_allowed(&headers, inner.identity(), &inner.config.allowed_origins) {
        return refuse(&inner, CLOSE_PATH, StatusCode::FORBIDDEN, why);
    }
    let key = query.ok().and_then(|Query(mut q)| q.remove(KEY_PARAM));
    match key {
        Some(key) if inner.close_requests.request(&key) => StatusCode::NO_CONTENT.into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn ws_handler(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    inbound: Option<Extension<Arc<Inbound>>>,
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
    if let Some(name) = query.get(WATCH_PARAM) {
        return watch_handler(inner, peer, inbound, &headers, name, upgrade);
    }
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
    let (observe, capture) = match (
        switch(&query, OBSERVE_PARAM, false),
        switch(&query, CAPTURE_PARAM, true),
    ) {
        (Ok(observe), Ok(capture)) => (observe, capture),
        (Err(why), _) | (_, Err(why)) => {
            return refuse(&inner, WS_PATH, StatusCode::BAD_REQUEST, why)
        }
    };
    // The page's key for `POST /ws/close` (optional: other clients close
    // with a close frame).
    let close_request = match query.get(KEY_PARAM) {
        None => None,
        Some(key) => match inner.close_requests.register(key) {
            Some(registered) => Some(registered),
            None => {
                return refuse(
                    &inner,
                    WS_PATH,
                    StatusCode::BAD_REQUEST,
                    format!("{KEY_PARAM}: {KEY_HEX_DIGITS} lowercase hex digits, one session each"),
                )
            }
        },
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let mut session = match admit(&inner, peer, inbound, &headers) {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    session.close_request = close_request;
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
            let wants = Wants { observe, capture };
            run_session(session_inner, socket, target, peer, wants, session).await;
            drop(token);
        })
}

/// A query switch `NAME=1` or `NAME=0`, `default` when absent; anything
/// else is refused with a reason.
fn switch(query: &HashMap<String, String>, name: &str, default: bool) -> Result<bool, String> {
    match query.get(name).map(String::as_str) {
        None => Ok(default),
        Some("1") => Ok(true),
        Some("0") => Ok(false),
        Some(other) => Err(format!("{name}={:?}: 1 or 0", cut(other, 16))),
    }
}

/// RFC 6455 4.2.1: one `Sec-WebSocket-Key`, the base64 of 16 bytes (the
/// library only checks that there is one).
fn websocket_key_valid(headers: &HeaderMap) -> Result<(), String> {
    let mut keys = headers.get_all(header::SEC_WEBSOCKET_KEY).iter();
    let (Some(key), None) = (keys.next(), keys.next()) else {
        return Err("one Sec-WebSocket-Key, please (RFC 6455 4.2.1)".into());
    };
    let decoded = key
        .to_str()
        .ok()
        .and_then(protocol::capture::base64::decode);
    match decoded {
        Some(nonce) if nonce.len() == 16 => Ok(()),
        _ => Err(format!(
            "Sec-WebSocket-Key {:?} is not the base64 of 16 bytes (RFC 6455 4.2.1)",
            for_log(&String::from_utf8_lossy(key.as_bytes()))
        )),
    }
}

/// `/ws?watch=NAME`: a watch stream of target NAME's `--expose`d listener.
fn watch_handler(
    inner: Arc<Inner>,
    peer: SocketAddr,
    inbound: Option<Extension<Arc<Inbound>>>,
    headers: &HeaderMap,
    name: &str,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Some(exposed) = inner.targets.hub().exposed(name) else {
        return refuse(
            &inner,
            WS_PATH,
            StatusCode::NOT_FOUND,
            format!(
                "{WATCH_PARAM}={:?}: no such exposed target (the relay's --expose NAME=HOST:PORT makes one)",
                for_log(name)
            ),
        );
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let admitted = match admit(&inner, peer, inbound, headers) {
        Ok(admitted) => admitted,
        Err(refused) => return *refused,
    };
    let token = inner.tracker.token();
    let config = &inner.config;
    let text = TEXT_PER_FLUSH + MAX_WATCH_EVENT_TEXT;
    upgrade
        .read_buffer_size(config.ws_read_buffer)
        .write_buffer_size(text)
        .max_write_buffer_size(text + 1024)
        .max_message_size(config.max_message_size)
        .max_frame_size(config.max_message_size)
        .on_upgrade(move |socket| async move {
            watch::run_watch(inner, socket, exposed, peer, admitted).await;
            drop(token);
        })
}

/// Takes a session's places under the limits (`--max-sessions`, the
/// buffered-bytes budget, `--max-sessions-per-ip`), or refuses.
fn admit(
    inner: &Arc<Inner>,
    peer: SocketAddr,
    inbound: Option<Extension<Arc<Inbound>>>,
    headers: &HeaderMap,
) -> Result<Admitted, Box<Response>> {
    if let Err(why) = websocket_key_valid(headers) {
        return Err(Box::new(refuse(
            inner,
            WS_PATH,
            StatusCode::BAD_REQUEST,
            why,
        )));
    }
    let Ok(permit) = inner.sessions.clone().try_acquire_owned() else {
        return Err(Box::new(refuse(
            inner,
            WS_PATH,
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "too many sessions (--max-sessions {})",
                inner.config.max_sessions
            ),
        )));
    };
    let config = &inner.config;
    if inner.metrics.buffered_bytes() >= config.max_buffered_bytes {
        return Err(Box::new(refuse(
            inner,
            WS_PATH,
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "relay busy: sessions hold {} bytes (--max-buffered-bytes {})",
                inner.metrics.buffered_bytes(),
                config.max_buffered_bytes
            ),
        )));
    }
    let client = client_ip(peer.ip(), headers, &config.trusted_proxies);
    let Some(slot) = inner.per_client.try_take(client) else {
        return Err(Box::new(refuse(
            inner,
            WS_PATH,
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many sessions from {client} (--max-sessions-per-ip {})",
                config.max_sessions_per_ip
            ),
        )));
    };
    Ok(Admitted {
        client,
        inbound: inbound.map(|Extension(inbound)| inbound),
        close_request: None,
        _permit: permit,
        _slot: slot,
    })
}

/// What a session was admitted with: its client, the count of its
/// connection's unread bytes, and the places it takes under the limits.
struct Admitted {
    /// `peer`, or who a trusted proxy forwarded for.
    client: IpAddr,
    inbound: Option<Arc<Inbound>>,
    /// Its key for `POST /ws/close`, if the page gave one.
    close_request: Option<Registered>,
    _permit: OwnedSemaphorePermit,
    _slot: ClientSlot,
}

/// What the client asked for in its query.
#[derive(Debug, Clone, Copy)]
struct Wants {
    /// `observe=1`: the observation events.
    observe: bool,
    /// Not `capture=0`: the real capture of an observed session.
    capture: bool,
}

async fn run_session(
    inner: Arc<Inner>,
    socket: WebSocket,
    target: Target,
    peer: SocketAddr,
    wants: Wants,
    admitted: Admitted,
) {
    let observe = wants.observe;
    let id = inner.metrics.session_started();
    // The span carries the session's numbers as fields (for structured
    // subscribers); the plain log line repeats them in words.
    let span = tracing::info_span!(
        "session",
        id,
        %peer,
        client = %admitted.client,
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
        let forwarded = if admitted.client == peer.ip() {
            String::new()
        } else {
            format!(" for {}", admitted.client)
        };
        tracing::info!(
            "session {id}: {peer}{forwarded} → {name} ({})",
            target.address
        );
        let config = &inner.config;
        let mut stats = SessionStats::new(inner.metrics.held_bytes());
        if let Some(inbound) = &admitted.inbound {
            // What the library can hold for one session: a whole message
            // being collected, and one read buffer beyond it.
            let cap = config.max_message_size + config.ws_read_buffer + 14;
            inbound.arm(inner.metrics.held_bytes(), config.max_buffered_bytes, cap);
            stats = stats.with_inbound(inbound.clone());
        }
        let record = config.record.as_deref().map(|dir| {
            Arc::new(Recorder::new(
                name,
                stats.started(),
                config.record_max_bytes,
                inner.recordings.clone(),
                dir,
                id,
            ))
        });
        // A recorded session is observed whatever the browser asked: the
        // recording has the observations; the browser gets them only with
        // `observe=1`.
        let observer = (observe || record.is_some()).then(|| {
            let observer =
                SessionObserver::with_sinks(stats.started(), config, observe, record.clone());
            observer.push(Observed::Observing {
                target: name.clone(),
                server: target.embedded,
            });
            observer.watch_activity(stats.activity());
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
        // Captured for real where the relay may, when someone will read
        // it: the recording, or the page that observes.
        let capture = ((observe && wants.capture) || record.is_some())
            .then(|| CaptureSlot::new(inner.captures.clone(), admitted.client));
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
                record: record.as_deref(),
                embedded: target.embedded.then(|| inner.targets.hub()),
                close_request: admitted.close_request.as_ref().map(Registered::token),
                gone: target.program.as_ref().map(|run| run.gone.clone()),
                capture: capture.as_ref(),
            },
        )
        .await;
        let capture_id = capture.as_ref().and_then(CaptureSlot::id);
        let captured = match &capture {
            Some(slot) => slot.finish(name).await.map(|(_, c)| Arc::new(c)),
            None => None,
        };
        if let (Some(record), Some(captured)) = (&record, &captured) {
            record.captured(captured.clone());
        }
        if let Some(id) = capture_id {
            match &captured {
                Some(captured) if observe => inner.captures.store.put(id, captured.clone()),
                _ => inner.captures.store.abandon(&id),
            }
        }
        drop(captured);
        if let Some(observer) = &observer {
            observer.end();
        }
        if let Some(record) = record {
            match (&report.close, &report.ending) {
                (Some(reason), _) => record.closed(reason.code(), reason.text(), false),
                (None, Ending::ClientClosed(frame)) => {
                    let (code, reason) = frame.clone().unwrap_or((1005, String::new()));
                    record.closed(code, reason, true);
                }
                _ => {}
            }
            record.save().await;
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

/// A contract body (written by `protocol::relay_api`) as `application/json`.
fn json_body(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn targets_handler(State(inner): State<Arc<Inner>>) -> Response {
    let info = |target: &Target| TargetInfo {
        name: target.name.clone(),
        description: target.description.clone(),
        address: inner
            .config
            .show_addresses
            .then(|| target.address.to_string()),
        program: target.program.as_ref().map(|run| run.info.clone()),
        // Loopback only, and never on a public relay: always shown.
        exposed: inner
            .targets
            .hub()
            .exposed(&target.name)
            .map(|e| e.address.to_string()),
    };
    let list: Vec<TargetInfo> = inner.targets.iter().map(info).collect();
    json_body(TargetInfo::list_to_json(&list))
}

async fn limits_handler(State(inner): State<Arc<Inner>>) -> Response {
    let limits = Limits {
        max_message_size: inner.config.max_message_size as u64,
    };
    json_body(limits.to_json())
}

/// `GET /capture/<id>`: the real capture of a finished session, to the
/// page of the same origin that was told its id.
async fn capture_handler(
    State(inner): State<Arc<Inner>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let path = CAPTURE_PATH;
    if let Err(why) = origin_allowed(&headers, inner.identity(), &inner.config.allowed_origins) {
        return refuse(&inner, path, StatusCode::FORBIDDEN, why);
    }
    let wait = 4 * crate::capture::FINISH_WAIT;
    let Some(captured) = inner.captures.store.wait(&id, wait).await else {
        return refuse(
            &inner,
            path,
            StatusCode::NOT_FOUND,
            format!(
                "no capture {:?} (kept --capture-keep {:?} after its session)",
                cut(&id, 40),
                inner.config.capture_keep
            ),
        );
    };
    (
        [
            (header::CONTENT_TYPE, "application/vnd.tcpdump.pcap"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        captured.bytes.clone(),
    )
        .into_response()
}

async fn healthz_handler(State(inner): State<Arc<Inner>>) -> Response {
    let m = &inner.metrics;
    let mut o = protocol::json::Object::new();
    o.insert("status", "ok");
    o.insert("sessions", Json::from_u64(m.active_sessions() as u64));
    o.insert("total_sessions", Json::from_u64(m.total_sessions()));
    o.insert("refused", Json::from_u64(m.refused()));
    o.insert("buffered_bytes", Json::from_u64(m.buffered_bytes() as u64));
    let names = inner.targets.names().into_iter().map(Json::from).collect();
    o.insert("targets", Json::Array(names));
    json_body(Json::from(o).to_compact_json())
}
