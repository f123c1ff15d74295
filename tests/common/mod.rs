//! What every end-to-end test needs: a Disque to talk to and unique queue names.
//!
//! Without `DISQUE_ADDRS` each test starts its own embedded node on a free
//! loopback port; with `DISQUE_ADDRS=host:port[,host:port…]` it uses that
//! server instead (a real Disque), so queue names are always unique.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The server a test talks to.
pub struct Target {
    addrs: Vec<String>,
    /// Keeps the embedded node alive for the test's duration.
    _node: Option<disque_embedded::Node>,
}

impl Target {
    /// `DISQUE_ADDRS` if set, else a fresh embedded node.
    pub async fn start() -> Target {
        match external_addrs() {
            Some(addrs) => Target { addrs, _node: None },
            None => {
                let node = disque_embedded::Node::start_ephemeral()
                    .await
                    .expect("an embedded node starts on 127.0.0.1:0");
                Target {
                    addrs: vec![node.addr().to_string()],
                    _node: Some(node),
                }
            }
        }
    }

    /// The first address (`host:port`).
    pub fn addr(&self) -> &str {
        &self.addrs[0]
    }

    /// Every address.
    pub fn addrs(&self) -> &[String] {
        &self.addrs
    }

    /// Whether the tests run against an external Disque (`DISQUE_ADDRS`).
    pub fn is_external(&self) -> bool {
        self._node.is_none()
    }
}

/// The addresses in `DISQUE_ADDRS`, if it is set and not empty.
pub fn external_addrs() -> Option<Vec<String>> {
    let raw = std::env::var("DISQUE_ADDRS").ok()?;
    let addrs: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
        .collect();
    (!addrs.is_empty()).then_some(addrs)
}

/// A queue name no other test (or run) uses: `prefix` + process id + counter + random.
pub fn unique_queue(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{prefix}-{}-{n}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Prints one line saying why `test` is skipped.
pub fn skip(test: &str, why: &str) {
    println!("SKIPPED {test}: {why}");
}

/// Whether SHOW says the job `id` is acknowledged. On a single node: no
/// node knows it any more. In a cluster a node may still hold the job in
/// state `acked` just after ACKJOB, until every node that had a copy has
/// confirmed (Disque's acknowledgement garbage collection), so that state
/// counts as acknowledged too.
pub async fn is_acked(client: &disque::Client, id: &disque::JobId) -> bool {
    match client.show(id).await.expect("SHOW answers") {
        None => true,
        Some(info) => client.nodes().len() > 1 && info.state == disque::JobState::Acked,
    }
}

/// How many clients the node `client` talks to has blocked (INFO clients).
pub async fn blocked_clients(client: &disque::Client) -> u64 {
    client
        .info(Some("clients"))
        .await
        .expect("INFO clients answers")
        .get_as::<u64>("blocked_clients")
        .unwrap_or(0)
}

/// Polls INFO until the node `client` talks to has at least `n` blocked
/// clients; fails the test if that takes longer than `within`.
pub async fn wait_blocked_clients(client: &disque::Client, n: u64, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let blocked = blocked_clients(client).await;
        if blocked >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{blocked} blocked clients on {}, not {n}, after {within:?}",
            client.node()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
