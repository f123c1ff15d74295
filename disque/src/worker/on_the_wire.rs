//! The fetches on the wire: a few futures polled together, the first to
//! finish taken out.
//!
//! `FuturesUnordered` would do the same, but whenever it has polled all its
//! futures and none is ready it wakes its own task again (to let other tasks
//! run). With one `GETJOB` out, as a worker of concurrency 1 has, that is a
//! second poll of the fetch loop and an extra trip to the runtime's I/O
//! driver for every job. The fetches are few (`max_fetches`, default 4), so
//! polling each of them on every wake-up costs less than that.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Futures in flight; see the module docs.
pub(crate) struct OnTheWire<F> {
    list: Vec<Pin<Box<F>>>,
}

impl<F: Future> OnTheWire<F> {
    pub(crate) fn new() -> Self {
        OnTheWire { list: Vec::new() }
    }

    pub(crate) fn push(&mut self, future: F) {
        self.list.push(Box::pin(future));
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The output of the first future to finish (`None` when there are none).
    pub(crate) fn next(&mut self) -> impl Future<Output = Option<F::Output>> + '_ {
        poll_fn(move |cx| self.poll_next(cx))
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        if self.list.is_empty() {
            return Poll::Ready(None);
        }
        for i in 0..self.list.len() {
            if let Poll::Ready(out) = self.list[i].as_mut().poll(cx) {
                drop(self.list.swap_remove(i));
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
