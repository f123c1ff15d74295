//! The fetches on the wire: a few futures polled together, the first to
//! finish taken out.
//!
//! `FuturesUnordered` would do the same, but whenever it has polled all its
//! futures and none is ready it wakes its own task again (to let other tasks
//! run). With one `GETJOB` out, as a worker of concurrency 1 has, that is a
//! second poll of the fetch loop and an extra trip to the runtime's I/O
//! driver for every job. The fetches are few (`max_fetches`, default 4), so
//! polling each of them on every wake-up costs less than that.
//!
//! A fetch's future is large (about 1.2 KiB): each lives in a boxed slot that
//! is kept when it finishes and reused by the next one, so a worker's fetches
//! allocate nothing once it runs.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Futures in flight; see the module docs.
pub(crate) struct OnTheWire<F> {
    /// `None`: a free slot, kept for the next future.
    slots: Vec<Pin<Box<Option<F>>>>,
    running: usize,
}

impl<F: Future> OnTheWire<F> {
    pub(crate) fn new() -> Self {
        OnTheWire {
            slots: Vec::new(),
            running: 0,
        }
    }

    pub(crate) fn push(&mut self, future: F) {
        match self.slots.iter_mut().find(|slot| slot.is_none()) {
            Some(free) => free.set(Some(future)),
            None => self.slots.push(Box::pin(Some(future))),
        }
        self.running += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.running
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.running == 0
    }

    /// The output of the first future to finish (`None` when there are none).
    pub(crate) fn next(&mut self) -> impl Future<Output = Option<F::Output>> + '_ {
        poll_fn(move |cx| self.poll_next(cx))
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        if self.running == 0 {
            return Poll::Ready(None);
        }
        for slot in &mut self.slots {
            let Some(future) = slot.as_mut().as_pin_mut() else {
                continue;
            };
            if let Poll::Ready(out) = future.poll(cx) {
                slot.set(None);
                self.running -= 1;
                return Poll::Ready(Some(out));
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use super::*;

    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Arc<CountWakes>, Waker) {
        let count = Arc::new(CountWakes(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn a_pending_future_does_not_wake_the_task_again() {
        let (wakes, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut wire = OnTheWire::new();
        wire.push(std::future::pending::<u32>());
        assert!(!wire.is_empty());
        assert!(wire.poll_next(&mut cx).is_pending());
        assert!(wire.poll_next(&mut cx).is_pending());
        assert_eq!(wakes.0.load(Ordering::SeqCst), 0);
        assert_eq!(wire.len(), 1);
    }

    #[test]
    fn the_finished_future_is_taken_out_and_the_others_stay() {
        let (_, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let mut wire = OnTheWire::new();
        wire.push(Box::pin(async move { rx.await.unwrap_or(0) })
            as Pin<Box<dyn Future<Output = u32> + Send>>);
        wire.push(Box::pin(async { 7 }));
        assert_eq!(wire.poll_next(&mut cx), Poll::Ready(Some(7)));
        assert_eq!(wire.len(), 1);
        assert!(wire.poll_next(&mut cx).is_pending());
        assert!(tx.send(3).is_ok());
        assert_eq!(wire.poll_next(&mut cx), Poll::Ready(Some(3)));
        assert!(wire.is_empty());
        assert_eq!(wire.poll_next(&mut cx), Poll::Ready(None));
    }

    #[test]
    fn a_finished_future_s_slot_is_reused_by_the_next() {
        let (_, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        let mut wire = OnTheWire::new();
        for n in 0..10u32 {
            wire.push(std::future::ready(n));
            assert_eq!(wire.len(), 1);
            assert_eq!(wire.poll_next(&mut cx), Poll::Ready(Some(n)));
            assert!(wire.is_empty());
        }
        assert_eq!(wire.slots.len(), 1);
        wire.push(std::future::ready(10));
        wire.push(std::future::ready(11));
        assert_eq!(wire.slots.len(), 2);
        assert_eq!(wire.len(), 2);
    }

    #[tokio::test]
    async fn next_waits_for_a_future_finished_by_another_task() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let mut wire = OnTheWire::new();
        wire.push(async move { rx.await.unwrap_or(0) });
        tokio::spawn(async move { tx.send(5) });
        assert_eq!(wire.next().await, Some(5));
        assert_eq!(wire.next().await, None);
    }
}
