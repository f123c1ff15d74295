//! A single-node Disque-compatible server. (INTERFACE STUB: to be implemented.)

use std::net::SocketAddr;

/// How to start a node.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to bind; port 0 picks a free port.
    pub addr: SocketAddr,
    /// `--requirepass`: clients must AUTH first.
    pub requirepass: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 7711)),
            requirepass: None,
        }
    }
}

/// A running node; dropping it stops it.
#[derive(Debug)]
pub struct Node {
    addr: SocketAddr,
}

impl Node {
    /// Starts a node with `config`.
    pub async fn start(config: Config) -> std::io::Result<Node> {
        Ok(Node { addr: config.addr })
    }
    /// Starts a node on a free loopback port (`127.0.0.1:0`).
    pub async fn start_ephemeral() -> std::io::Result<Node> {
        Self::start(Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Config::default()
        })
        .await
    }
    /// The address the node listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// Stops the node and waits until its connections are closed.
    pub async fn shutdown(self) {}
}
