//! Idleness counted in bytes, not in whole messages.
//!
//! The browser's WebSocket reaches the bridge as a stream of whole messages:
//! a large message arriving a frame a second, or a few bytes at a time,
//! yields nothing until its last byte. [`Touching`] wraps either half and
//! restarts the session's idle clock ([`SessionStats::touch`]) whenever the
//! half is polled again because its socket woke it: the socket wakes a
//! pending read only when bytes (or EOF) arrived, and a pending write only
//! when the browser took bytes, so every byte moving mid-message counts.
//! Other wake-ups of the session's task (the target's reads, timers) poll
//! the half too, but do not count: the wrapper tells them apart by giving
//! the half its own waker.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;
use futures_util::{Sink, Stream};

use super::stats::SessionStats;

/// The waker a wrapped half registers: it notes that the half was woken,
/// then wakes the session's task.
#[derive(Default)]
struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// One half of the browser's WebSocket, touching `stats` whenever its own
/// socket woke it.
pub(super) struct Touching<'a, T> {
    inner: &'a mut T,
    stats: &'a SessionStats,
    flag: Arc<Flag>,
    waker: Waker,
}

impl<'a, T> Touching<'a, T> {
    pub(super) fn new(inner: &'a mut T, stats: &'a SessionStats) -> Self {
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        Touching {
            inner,
            stats,
            flag,
            waker,
        }
    }

    fn poll_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        f: impl FnOnce(Pin<&mut T>, &mut Context<'_>) -> Poll<R>,
    ) -> Poll<R>
    where
        T: Unpin,
    {
        if self.flag.woken.swap(false, Ordering::AcqRel) {
            self.stats.touch();
        }
        self.flag.task.register(cx.waker());
        let mut own = Context::from_waker(&self.waker);
        f(Pin::new(&mut *self.inner), &mut own)
    }
}

impl<T: Stream + Unpin> Stream for Touching<'_, T> {
    type Item = T::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
        self.poll_with(cx, |inner, cx| inner.poll_next(cx))
    }
}

impl<M, T: Sink<M> + Unpin> Sink<M> for Touching<'_, T> {
    type Error = T::Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), T::Error>> {
        self.poll_with(cx, |inner, cx| inner.poll_ready(cx))
    }
    fn start_send(mut self: Pin<&mut Self>, item: M) -> Result<(), T::Error> {
        Pin::new(&mut *self.inner).start_send(item)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), T::Error>> {
        self.poll_with(cx, |inner, cx| inner.poll_flush(cx))
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), T::Error>> {
        self.poll_with(cx, |inner, cx| inner.poll_close(cx))
    }
}
