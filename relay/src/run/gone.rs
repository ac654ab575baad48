//! The program's end, published once for every session of its target: a
//! session to a program that exited closes with the exit's reason.

use std::time::Duration;

use protocol::relay_api::ProgramExit;
use tokio::sync::watch;

/// Where the exit is published (the tracer's or the waiter's thread).
#[derive(Debug)]
pub struct Exited(watch::Sender<Option<ProgramExit>>);

/// A session's view of the program's end.
#[derive(Debug, Clone)]
pub struct Gone(watch::Receiver<Option<ProgramExit>>);

/// A new pair: nothing published yet.
pub fn channel() -> (Exited, Gone) {
    let (tx, rx) = watch::channel(None);
    (Exited(tx), Gone(rx))
}

impl Exited {
    /// Publishes the exit; the first one published stays.
    pub fn publish(&self, exit: ProgramExit) {
        self.0.send_if_modified(|now| {
            let first = now.is_none();
            if first {
                *now = Some(exit);
            }
            first
        });
    }
}

/// Equal whatever their state: a handle to the same program is the same.
impl PartialEq for Gone {
    fn eq(&self, other: &Gone) -> bool {
        self.0.same_channel(&other.0)
    }
}

impl Eq for Gone {}

impl Gone {
    /// The exit, if the program has ended.
    pub fn now(&self) -> Option<ProgramExit> {
        *self.0.borrow()
    }

    /// Resolves when the program has ended (never, if its publisher is
    /// gone without publishing).
    pub async fn wait(&self) -> ProgramExit {
        let mut rx = self.0.clone();
        let exit = match rx.wait_for(Option::is_some).await {
            Ok(exit) => *exit,
            Err(_) => None,
        };
        match exit {
            Some(exit) => exit,
            None => std::future::pending().await,
        }
    }

    /// The exit, waiting at most `limit` for it: a connection the program
    /// dropped by exiting may be seen closed a moment before its exit is.
    pub async fn within(&self, limit: Duration) -> Option<ProgramExit> {
        tokio::time::timeout(limit, self.wait()).await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_exit_published_is_the_one_every_session_sees() {
        let (exited, gone) = channel();
        let other = gone.clone();
        assert_eq!(gone.now(), None);
        assert_eq!(gone.within(Duration::from_millis(10)).await, None);
        exited.publish(ProgramExit::Signal(15));
        exited.publish(ProgramExit::Code(0));
        assert_eq!(other.wait().await, ProgramExit::Signal(15));
        assert_eq!(gone.now(), Some(ProgramExit::Signal(15)));
        assert_eq!(gone, other);
    }
}
