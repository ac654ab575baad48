//! Log lines a stranger can cause, at most so many per second: the rest are
//! counted and the count logged with the first line of a later second. A
//! stranger sending thousands of bad requests (or opening thousands of
//! connections) a second then costs a few log lines, and none goes
//! unnoticed. The relay's refusals (`--refusal-log-rate`) and the embedded
//! servers' connection lines both go through [`LogRate`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(1);

/// The rate and the current second's count.
#[derive(Debug)]
pub struct LogRate {
    per_second: u32,
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    start: Instant,
    logged: u32,
    suppressed: u64,
}

/// What to log for one line.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Log this line.
    pub log: bool,
    /// Lines left unlogged in earlier seconds, to report first.
    pub suppressed: Option<u64>,
}

impl LogRate {
    /// At most `per_second` lines a second.
    pub fn new(per_second: u32) -> LogRate {
        LogRate {
            per_second,
            window: Mutex::new(Window {
                start: Instant::now(),
                logged: 0,
                suppressed: 0,
            }),
        }
    }

    /// The rate it was made with.
    pub fn per_second(&self) -> u32 {
        self.per_second
    }

    /// One line at `now`.
    pub fn admit(&self, now: Instant) -> Verdict {
        let mut window = self.window.lock().expect("log rate lock");
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
        let log = LogRate::new(3);
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
