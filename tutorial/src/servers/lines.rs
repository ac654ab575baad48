//! How much a server logs ([`LogLines`]). Run as the tutorial's programs,
//! the servers print every line the tutorial's Python prints (their stdout
//! is the spec the tests compare). Embedded in the relay, a stranger must
//! not be able to grow the log with what it sends: a connection's own lines
//! (accepted, refused, an error, closing: a few per connection) stay at
//! their level, cut to [`LOG_MAX`](crate::truncate::LOG_MAX) bytes and at
//! most so many a second ([`LogRate`]); the lines each message makes
//! (`Echoing …`, `Received …`, `Sending …`) go to debug, cut too. An
//! observed connection reports every line to its observer either way.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use protocol::relay_api::LogLevel;

use crate::log_rate::LogRate;
use crate::truncate::for_log;

/// A server's log policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogLines {
    /// Every line at info (warnings at warning), whole: the tutorial's
    /// `print()`s. The standalone binaries.
    #[default]
    Every,
    /// A connection's own lines at their level, at most `per_second` a
    /// second (the rest counted); per-message lines at debug. Every line
    /// cut to 1 KiB. The relay's embedded servers.
    Bounded {
        /// Connection lines logged per second at most.
        per_second: u32,
    },
}

/// One server's log, shared by its connections (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct ServerLog {
    bounded: Option<Arc<LogRate>>,
}

impl ServerLog {
    /// The log `lines` describes.
    pub fn new(lines: LogLines) -> ServerLog {
        ServerLog {
            bounded: match lines {
                LogLines::Every => None,
                LogLines::Bounded { per_second } => Some(Arc::new(LogRate::new(per_second))),
            },
        }
    }

    /// A line about a connection as a whole (accepted, refused, an error,
    /// closing).
    pub fn connection(&self, level: LogLevel, line: fmt::Arguments<'_>) {
        let Some(rate) = &self.bounded else {
            return emit(level, line);
        };
        if !enabled(level) {
            return;
        }
        let verdict = rate.admit(Instant::now());
        if let Some(n) = verdict.suppressed {
            tracing::info!(
                "{n} more server log lines not logged (at most {} a second)",
                rate.per_second()
            );
        }
        if verdict.log {
            let text = line.to_string();
            emit(level, format_args!("{}", for_log(&text)));
        }
    }

    /// A line one message makes (what was received, what is sent back).
    pub fn message(&self, level: LogLevel, line: fmt::Arguments<'_>) {
        if self.bounded.is_none() {
            return emit(level, line);
        }
        if tracing::event_enabled!(tracing::Level::DEBUG) {
            let text = line.to_string();
            tracing::debug!("{}", for_log(&text));
        }
    }

    /// Whether a per-message line would be written (its text may be costly).
    pub fn message_enabled(&self) -> bool {
        match self.bounded {
            None => tracing::event_enabled!(tracing::Level::INFO),
            Some(_) => tracing::event_enabled!(tracing::Level::DEBUG),
        }
    }
}

fn enabled(level: LogLevel) -> bool {
    match level {
        LogLevel::Info => tracing::event_enabled!(tracing::Level::INFO),
        LogLevel::Warning => tracing::event_enabled!(tracing::Level::WARN),
        LogLevel::Error => tracing::event_enabled!(tracing::Level::ERROR),
    }
}

fn emit(level: LogLevel, line: fmt::Arguments<'_>) {
    match level {
        LogLevel::Info => tracing::info!("{line}"),
        LogLevel::Warning => tracing::warn!("{line}"),
        LogLevel::Error => tracing::error!("{line}"),
    }
}
