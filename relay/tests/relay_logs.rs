//! Log lines a stranger's values end up in (issue #13): a 60 KB target
//! name or a 1 MiB request must not make a log line of their size, and a
//! flood of refused requests must not make a line each.

mod support;

use std::fmt;
use std::sync::{Arc, Mutex};

use protocol::app::request;
use protocol::encode;
use support::*;
use tracing::field::{Field, Visit};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Every event's message, as formatted for a log line.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

struct Message<'a>(&'a mut String);

impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for Lines {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut line = String::new();
        event.record(&mut Message(&mut line));
        self.0.lock().unwrap().push(line);
    }
}

/// Longest line a stranger may cause: the cap and some words around it.
const LINE_CAP: usize = 2 * 1024;

fn longest(lines: &Lines) -> (usize, String) {
    let lines = lines.0.lock().unwrap();
    let longest = lines.iter().max_by_key(|l| l.len()).cloned().unwrap();
    (longest.len(), longest)
}

/// One test in this binary: the subscriber is the test thread's, and
/// tracing's per-callsite interest is shared by the whole process.
#[tokio::test]
async fn stranger_values_are_logged_cut() {
    let lines = Lines::default();
    // One runtime thread: the relay's tasks log under this subscriber.
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(lines.clone()));
    let relay = start(test_config(), &[]).await;
    a_60_kb_target_name_is_logged_and_answered_cut(&relay, &lines).await;
    lines.0.lock().unwrap().clear();
    a_1_mib_request_is_logged_cut_and_small_ones_whole(&relay, &lines).await;
    lines.0.lock().unwrap().clear();
    refusals_beyond_the_rate_are_counted_not_logged(&relay, &lines).await;
}

async fn a_60_kb_target_name_is_logged_and_answered_cut(relay: &TestRelay, lines: &Lines) {
    let name = "x".repeat(60_000);
    let (status, body) = http_get(relay.addr, &format!("/ws?target={name}"), &[]).await;
    assert_eq!(status, 404);
    assert!(body.len() < LINE_CAP, "{} bytes", body.len());
    assert!(body.contains("(60000 bytes)"), "{body}");
    let (len, line) = longest(lines);
    assert!(len < LINE_CAP, "{len} bytes");
    assert!(line.contains("(60000 bytes)"), "{line}");
}

async fn a_1_mib_request_is_logged_cut_and_small_ones_whole(relay: &TestRelay, lines: &Lines) {
    // Small: the tutorial's own lines, whole.
    let mut ws = connect(relay.addr, "app").await;
    send(&mut ws, &encode(&request("search", "ring")).unwrap().bytes).await;
    assert_eq!(read_to_close(&mut ws).await.close_code(), Some(1000));
    eventually(|| {
        lines
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with("Sending b'"))
    })
    .await;
    {
        let lines = lines.0.lock().unwrap();
        assert!(
            lines
                .iter()
                .any(|l| l
                    .starts_with("Received request {'action': 'search', 'value': 'ring'} from")),
            "{lines:?}"
        );
        assert!(!lines.iter().any(|l| l.contains(" bytes)")), "{lines:?}");
    }

    // 1 MiB (the app server's content limit): cut, with its size.
    let value = "y".repeat(1024 * 1024 - 64);
    let frame = encode(&request("search", &value)).unwrap().bytes;
    let mut ws = connect(relay.addr, "app").await;
    for chunk in frame.chunks(64 * 1024) {
        send(&mut ws, chunk).await;
    }
    let received = read_to_close(&mut ws).await;
    assert!(
        received.bytes().len() > 1024 * 1024,
        "{}",
        received.bytes().len()
    );
    eventually(|| {
        lines
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("Sending b'"))
            .count()
            == 2
    })
    .await;
    let (len, _) = longest(lines);
    assert!(len < LINE_CAP, "{len} bytes");
    let lines = lines.0.lock().unwrap();
    let received = lines
        .iter()
        .rfind(|l| l.starts_with("Received request {"))
        .unwrap();
    assert!(received.contains(" bytes)"), "{received}");
}

async fn refusals_beyond_the_rate_are_counted_not_logged(relay: &TestRelay, lines: &Lines) {
    const REFUSALS: usize = 300;
    for _ in 0..REFUSALS {
        let (status, _) = http_get(relay.addr, "/ws?target=nothing-by-this-name", &[]).await;
        assert_eq!(status, 404);
    }
    // The count of the unlogged ones comes with a refusal in a later second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(http_get(relay.addr, "/ws?target=nothing", &[]).await.0, 404);
    let lines = lines.0.lock().unwrap();
    let logged = lines.iter().filter(|l| l.starts_with("refused ")).count();
    let counted: usize = lines
        .iter()
        .filter_map(|l| {
            l.strip_suffix(" more refusals not logged (--refusal-log-rate 10 per second)")
        })
        .map(|n| n.parse::<usize>().unwrap())
        .sum();
    assert!(logged < REFUSALS, "{logged} lines for {REFUSALS} refusals");
    assert!(counted > 0, "{lines:?}");
    // None lost: each refusal is a line or in a count.
    assert_eq!(logged + counted, REFUSALS + 1);
}
