//! `--refusal-log-rate`: refusals (origin, host, limits) are logged at most
//! so many per second; the rest are counted and the count logged with the
//! first refusal of a later second. A stranger sending thousands of bad
//! requests a second then costs a few log lines, and none goes unnoticed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(1);

/// The rate and the current second's count.
#[derive(Debug)]
pub(super) struct RefusalLog {
    per_second: u32,
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    start: Instant,
    logged: u32,
    suppressed: u64,
}

/// What to log for one refusal.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Verdict {
    /// Log this refusal's line.
    pub log: bool,
    /// Refusals left unlogged in earlier seconds, to report first.
    pub suppressed: Option<u64>,
}

impl RefusalLog {
    pub(super) fn new(per_second: u32) -> RefusalLog {
        RefusalLog {
            per_second,
            window: Mutex::new(Window {
                start: Instant::now(),
                logged: 0,
                suppressed: 0,
            }),
        }
    }

    pub(super) fn per_second(&self) -> u32 {
        self.per_second
    }

    /// One refusal at `now`.
    pub(super) fn admit(&self, now: Instant) -> Verdict {
        let mut window = self.window.lock().expect("refusal log lock");
        let mut suppressed = None;
        if now.duration_since(window.start) >= WINDOW {
            if window.suppressed > 0 {
                suppressed = Some(window.suppressed);
            }
            *window = Window {
                start: now,
                logged: 0,
                suppressed: 0,
            };
        }
        let log = window.logged < self.per_second;
        if log {
            window.logged += 1;
        } else {
            window.suppressed += 1;
        }
        Verdict { log, suppressed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_the_rate_refusals_are_counted_and_reported_in_a_later_second() {
        let log = RefusalLog::new(3);
        let t0 = Instant::now();
        let verdicts: Vec<Verdict> = (0..10).map(|_| log.admit(t0)).collect();
        assert_eq!(verdicts.iter().filter(|v| v.log).count(), 3);
        assert!(verdicts.iter().all(|v| v.suppressed.is_none()));
        let later = log.admit(t0 + Duration::from_millis(1500));
        assert_eq!(
            later,
            Verdict {
                log: true,
                suppressed: Some(7)
            }
        );
        // Reported once.
        let next = log.admit(t0 + Duration::from_millis(3000));
        assert_eq!(next.suppressed, None);
    }
}
