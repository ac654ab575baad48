//! `--refusal-log-rate`: refusals (origin, host, target, limits) are logged
//! at most so many per second, through the one limiter the embedded servers'
//! log lines use too (`tutorial::log_rate`).

pub(super) use tutorial::log_rate::LogRate as RefusalLog;
