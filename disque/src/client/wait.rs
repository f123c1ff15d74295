//! Waiting for a job to be done: [`Client::wait`].

use std::time::Duration;

use tokio::time::Instant;

use crate::{Client, Error, JobId, JobState};

/// First pause between two SHOWs; doubled after each one up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(10);
const MAX_POLL: Duration = Duration::from_secs(1);

/// The pause after `previous`: twice as long, at most [`MAX_POLL`].
fn next_pause(previous: Duration) -> Duration {
    previous.saturating_mul(2).min(MAX_POLL)
}

impl Client {
    /// Resolves once job `id` is done: acknowledged (SHOW reports `acked`)
    /// or gone (SHOW returns nothing: acked and removed, deleted, or past
    /// its TTL).
    ///
    /// Polls `SHOW` on the node this client talks to, at 10 ms then twice
    /// as long each time up to 1 s. With a `deadline`, gives up with
    /// [`Error::Timeout`] once that much time has passed. Dropping the
    /// future (e.g. in a `select!`) cancels the wait and leaves nothing
    /// behind.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
    /// # let node = disque_embedded::Node::start_ephemeral().await?;
    /// # let client = disque::Client::connect(node.addr()).await?;
    /// let id = client.add(b"x".as_slice(), "waited").await?;
    /// let worker = client.clone();
    /// tokio::spawn(async move {
    ///     if let Ok(Some(job)) = worker.get(&["waited"]).await {
    ///         let _ = job.ack().await;
    ///     }
    /// });
    /// client.wait(&id, Some(Duration::from_secs(5))).await?;
    ///
    /// let pending = client.add(b"y".as_slice(), "nobody-consumes").await?;
    /// let late = client.wait(&pending, Some(Duration::from_millis(100))).await;
    /// assert!(matches!(late, Err(disque::Error::Timeout(_))));
    /// # Ok(()) }
    /// ```
    pub async fn wait(&self, id: &JobId, deadline: Option<Duration>) -> Result<(), Error> {
        let give_up = deadline.map(|d| Instant::now() + d);
        let mut pause = FIRST_POLL;
        loop {
            match self.show(id).await? {
                None => return Ok(()),
                Some(info) if info.state == JobState::Acked => return Ok(()),
                Some(_) => {}
            }
            let wake = Instant::now() + pause;
            match give_up {
                Some(limit) if wake >= limit => {
                    tokio::time::sleep_until(limit).await;
                    // One last look at the deadline itself.
                    return match self.show(id).await? {
                        None => Ok(()),
                        Some(info) if info.state == JobState::Acked => Ok(()),
                        Some(info) => Err(Error::Timeout(format!(
                            "job {id} still {} after {} ms",
                            info.state.as_str(),
                            deadline.unwrap_or_default().as_millis()
                        ))),
                    };
                }
                _ => tokio::time::sleep_until(wake).await,
            }
            pause = next_pause(pause);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_backs_off_exponentially_to_a_cap() {
        let mut p = FIRST_POLL;
        let mut seen = vec![p];
        for _ in 0..10 {
            p = next_pause(p);
            seen.push(p);
        }
        assert_eq!(seen[1], Duration::from_millis(20));
        assert_eq!(seen[3], Duration::from_millis(80));
        assert_eq!(*seen.last().unwrap(), MAX_POLL);
    }
}
