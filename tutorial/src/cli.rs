//! What every binary shares: logging set up to read like the tutorial's
//! output, Ctrl-C/SIGTERM handling, duration arguments, one-line errors and
//! the `Listening on …` line. The clap arguments they share are in
//! [`crate::args`].

use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{Event, Level, Subscriber};
use tracing_log::AsLog;
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

use crate::servers::net;

/// Logs to stdout at info level (`RUST_LOG` overrides), each event as a bare
/// line like the tutorial's `print()`s: no timestamp, no target, and a level
/// word only for what is not info (`warning: …`).
pub fn init_logging() {
    init_logging_at(Level::INFO);
}

/// Log target of a server's `Listening on …` line, which shows even with
/// `--quiet` (it tells which port `0` picked).
pub const LISTENING: &str = "listening";

/// [`init_logging`] with another default level (`--quiet` servers use WARN).
pub fn init_logging_at(default: Level) {
    let filter = EnvFilter::builder()
        .with_default_directive(tracing_subscriber::filter::LevelFilter::from_level(default).into())
        .from_env_lossy()
        .add_directive(
            format!("{LISTENING}=info")
                .parse()
                .expect("a valid directive"),
        );
    // Events only: the lines never show span fields, and a layer that sees
    // a span formats its fields on creation and on every `record`: more
    // than half of the relay's logging work per short session (callgrind).
    // Spans stay in the code for subscribers that want them (the relay's
    // tests read them).
    // Dependencies that use `log` (tungstenite traces every frame) reach the
    // lines through a bridge. `try_init` would install it at Trace, so each
    // of their trace! calls built a record and asked the subscriber (about
    // 5% of the relay's CPU per message, perf); at the filter's own maximum
    // those calls stop at `log`'s level check.
    let most = filter
        .max_level_hint()
        .unwrap_or(tracing_subscriber::filter::LevelFilter::TRACE);
    let lines = tracing_subscriber::fmt::layer()
        .event_format(Plain)
        .with_writer(std::io::stdout)
        .with_filter(filter.and(filter_fn(|metadata| metadata.is_event())));
    // A second call (tests, embedding) keeps the first subscriber.
    if tracing::subscriber::set_global_default(tracing_subscriber::registry().with(lines)).is_ok() {
        let _ = tracing_log::LogTracer::builder()
            .with_max_level(most.as_log())
            .init();
    }
}

/// The plain line format of [`init_logging`].
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = *event.metadata().level();
        let word = match level {
            Level::ERROR => "error: ",
            Level::WARN => "warning: ",
            Level::INFO => "",
            Level::DEBUG => "debug: ",
            Level::TRACE => "trace: ",
        };
        writer.write_str(word)?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM, saying which.
pub async fn shutdown_signal() -> Signal {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => Signal::Interrupt,
        _ = terminate => Signal::Terminate,
    }
}

/// The signal that asked a program to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

/// The line a program logs when it stops on a signal (the tutorial's wording for Ctrl-C).
impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signal::Interrupt => f.write_str("Caught keyboard interrupt, exiting"),
            Signal::Terminate => f.write_str("Caught SIGTERM, exiting"),
        }
    }
}

/// A token cancelled on the first Ctrl-C or SIGTERM (spawns a task: call
/// inside the runtime).
pub fn cancel_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let signal = shutdown_signal().await;
        tracing::info!("{signal}");
        cancel.cancel();
    });
    token
}

/// Prints `error: MESSAGE` on stderr and gives the failure exit code: how
/// binaries end on user errors (no panic, no backtrace).
pub fn fail(message: impl fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

/// Binds `host`:`port` the way the tutorial's servers do and logs
/// `Listening on (HOST, PORT)` with the port the kernel picked (the line
/// scripts and tests read to find a port-0 server). `Err` is the message for
/// [`fail`].
pub fn listen(host: &str, port: u16, backlog: u32) -> Result<TcpListener, String> {
    let listener = net::listen_addr(host, port)
        .and_then(|addr| net::bind(addr, backlog))
        .map_err(|e| format!("cannot listen on {}: {e}", net::py_host_port(host, port)))?;
    let port = listener.local_addr().map_or(port, |a| a.port());
    tracing::info!(target: LISTENING, "Listening on {}", net::py_host_port(host, port));
    Ok(listener)
}

/// Parses a duration argument: `10`, `1.5` (seconds), `250ms`, `10s`, `2m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (examples: 10, 1.5s, 250ms, 2m)"))?;
    Duration::try_from_secs_f64(value * scale)
        .map_err(|_| format!("{text:?} is not a non-negative duration"))
}

/// Writes a duration as [`parse_duration`] reads it back (`10s`, `250ms`):
/// how a `Duration` constant becomes a flag's default text.
pub fn duration_text(duration: Duration) -> String {
    if duration.subsec_nanos() == 0 {
        format!("{}s", duration.as_secs())
    } else if duration.subsec_nanos() % 1_000_000 == 0 {
        format!("{}ms", duration.as_millis())
    } else {
        format!("{}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_or_a_unit() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn duration_texts_read_back_as_the_same_duration() {
        for duration in [
            Duration::from_secs(10),
            Duration::from_secs(60),
            Duration::from_millis(250),
            Duration::from_millis(1500),
        ] {
            assert_eq!(parse_duration(&duration_text(duration)), Ok(duration));
        }
        assert_eq!(duration_text(Duration::from_secs(5)), "5s");
    }
}
