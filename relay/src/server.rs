//! The relay's HTTP side: the axum router and the accept loop.
//!
//! - `GET /ws?target=NAME`: checks Origin (403), the target name (400/404)
//!   and the session limit (503) before upgrading, then runs one
//!   [`bridge`](crate::bridge) session.
//! - `GET /targets`: the registry as JSON ([`TargetInfo`]s) for the UI's picker.
//! - `GET /limits`: what the page must respect ([`Limits`]), from the config.
//! - `GET /healthz`: liveness and the [`Metrics`] counters as JSON.
//! - anything else: static files from the dist directory (trunk's output),
//!   compressed when the browser accepts it.
//!
//! The page's paths and bodies are `protocol::relay_api`'s, so both sides
//! compile the same contract. [`Relay::serve`] runs the router on a listener
//! until a shutdown token is cancelled.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
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

use crate::bridge::{
    connect_and_bridge, ws_write_buffer, Observing, Probe, SessionContext, SessionStats,
};
use crate::config::RelayConfig;
use crate::metrics::Metrics;
use crate::observe::{SessionObserver, MAX_EVENT_TEXT, TEXT_PER_FLUSH};
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
    /// at most `--close-grace` for its close handshake).
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) -> io::Result<()> {
        let inner = self.inner.clone();
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let stop = async move {
            shutdown.cancelled().await;
            inner.shutdown.cancel();
        };
        // Small messages (a request, a close frame right after a reply) must
        // not wait for Nagle's algorithm to meet a delayed ACK.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await?;
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
        Ok(())
    }
}

/// Why a `/ws` request was refused before the upgrade.
fn refuse(inner: &Inner, status: StatusCode, body: String) -> Response {
    inner.metrics.refused_one();
    tracing::warn!("refused /ws: {} {body}", status.as_u16());
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body + "\n",
    )
        .into_response()
}

/// Same origin (Origin's host equals Host) or listed in `--allow-origin`;
/// no Origin at all means not a browser, which Origin checks cannot judge.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> Result<(), String> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .map_err(|_| "origin is not ASCII".to_owned())?;
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return Ok(());
    }
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if let (Some(authority), Some(host)) = (authority, host) {
        if authority.eq_ignore_ascii_case(host) {
            return Ok(());
        }
    }
    Err(format!(
        "origin {origin} is not allowed (same origin or --allow-origin only)"
    ))
}

async fn ws_handler(
    State(inner): State<Arc<Inner>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Err(why) = origin_allowed(&headers, &inner.config.allowed_origins) {
        return refuse(&inner, StatusCode::FORBIDDEN, why);
    }
    let query = match query {
        Ok(Query(query)) => query,
        Err(e) => return refuse(&inner, StatusCode::BAD_REQUEST, e.body_text()),
    };
    let Some(name) = query.get("target") else {
        return refuse(
            &inner,
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
            StatusCode::NOT_FOUND,
            format!(
                "unknown target {name:?}: targets are chosen by name, never by host or port; targets: {}",
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
            },
        )
        .await;
        if let Some(observer) = &observer {
            observer.end();
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

/// At most `max` bytes of a stranger's text, for a log line or a reply.
fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

async fn targets_handler(State(inner): State<Arc<Inner>>) -> Json<Vec<TargetInfo>> {
    let info = |target: &Target| TargetInfo {
        name: target.name.clone(),
        description: target.description.clone(),
        address: Some(target.address.to_string()),
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

    #[test]
    fn same_origin_and_listed_origins_pass_others_do_not() {
        let allowed = vec!["http://127.0.0.1:8080".to_owned()];
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:8780"), "127.0.0.1:8780"),
            &allowed
        )
        .is_ok());
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8780"),
            &allowed
        )
        .is_ok());
        assert!(origin_allowed(&headers(None, "127.0.0.1:8780"), &allowed).is_ok());
        assert!(origin_allowed(
            &headers(Some("https://evil.example"), "127.0.0.1:8780"),
            &allowed
        )
        .is_err());
        assert!(origin_allowed(&headers(Some("null"), "127.0.0.1:8780"), &allowed).is_err());
        // Same host, another port is another origin.
        assert!(origin_allowed(
            &headers(Some("http://127.0.0.1:9999"), "127.0.0.1:8780"),
            &allowed
        )
        .is_err());
    }
}
