//! The session span: what a structured tracing subscriber sees of each
//! session (the relay's own log lines show events only; see `cli`).

mod support;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use protocol::app::request;
use protocol::encode;
use support::*;
use tokio_tungstenite::MaybeTlsStream;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

type Fields = HashMap<String, String>;

/// Records the fields of every `session` span, as set at creation and by
/// later `record` calls, and keeps them once the span closes.
#[derive(Clone, Default)]
struct SessionSpans {
    open: Arc<Mutex<HashMap<u64, Fields>>>,
    closed: Arc<Mutex<Vec<Fields>>>,
}

struct Collect<'a>(&'a mut Fields);

impl Visit for Collect<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SessionSpans {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        if attributes.metadata().name() == "session" {
            let mut fields = Fields::new();
            attributes.record(&mut Collect(&mut fields));
            self.open.lock().unwrap().insert(id.into_u64(), fields);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(fields) = self.open.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Collect(fields));
        }
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(fields) = self.open.lock().unwrap().remove(&id.into_u64()) {
            self.closed.lock().unwrap().push(fields);
        }
    }
}

#[tokio::test]
async fn each_session_has_one_span_with_peer_target_bytes_duration_and_close() {
    let spans = SessionSpans::default();
    // The test's runtime has one thread, so every session runs under this subscriber.
    let _subscriber =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let relay = start(test_config(), &[]).await;
    let frame = encode(&request("search", "ring")).unwrap().bytes;
    let mut ws = connect(relay.addr, "app").await;
    let MaybeTlsStream::Plain(tcp) = ws.get_ref() else {
        panic!("plain TCP expected")
    };
    let peer = tcp.local_addr().unwrap();
    send(&mut ws, &frame).await;
    let received = read_to_close(&mut ws).await;
    assert_eq!(received.close_code(), Some(1000));
    eventually(|| !spans.closed.lock().unwrap().is_empty()).await;

    let closed = spans.closed.lock().unwrap().clone();
    assert_eq!(closed.len(), 1, "{closed:?}");
    let span = &closed[0];
    assert_eq!(span["id"], "1");
    assert_eq!(span["peer"], peer.to_string());
    assert_eq!(span["target"], "app");
    assert_eq!(span["bytes_to_target"], frame.len().to_string());
    assert_eq!(span["bytes_to_browser"], received.bytes().len().to_string());
    assert!(span["duration_ms"].parse::<u64>().is_ok(), "{span:?}");
    assert_eq!(span["close_code"], "1000");
    assert_eq!(span["close_reason"], "upstream closed");
    assert_eq!(span["close_sent"], "true");
}
