//! Living in a Disque cluster: the node table learnt from HELLO, node choice
//! by priority, consumer affinity. The connections that use them are in
//! `client/conn.rs`.

mod affinity;
mod deadline;
mod direct;
mod resp2;
mod table;

pub(crate) use affinity::Affinity;
pub(crate) use direct::{Direct, Exchange, Outcome as DirectOutcome};
pub(crate) use resp2::{pack_arg, pack_header, push_decimal, value_of, Cursor, Reply};
pub(crate) use table::{NodeTable, LEAVING_PRIORITY};

/// One node the client knows, as shown by [`Client::nodes`](crate::Client::nodes):
/// a seed given to `connect`, or a node learnt from `HELLO`.
///
/// ```
/// # #[tokio::main] async fn main() -> Result<(), disque::Error> {
/// # let node = disque_embedded::Node::start_ephemeral().await?;
/// let client = disque::Client::connect(node.addr()).await?;
/// let nodes = client.nodes();
/// assert_eq!(nodes.len(), 1);
/// assert_eq!(nodes[0].address, node.addr().to_string());
/// assert_eq!(nodes[0].priority, 1);
/// assert!(nodes[0].serves_commands && nodes[0].serves_consumers);
/// assert_eq!(nodes[0].id.as_deref(), Some(client.hello().await?.id.as_str()));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterNode {
    /// Its node id (40 hex chars), once a HELLO named it.
    pub id: Option<String>,
    /// `host:port` (IPv6 in brackets).
    pub address: String,
    /// HELLO's priority: 1 is healthy, 100 leaving or failing; lower is
    /// preferred. Seeds start at 1.
    pub priority: i64,
    /// Whether the client's non-blocking commands go to this node.
    pub serves_commands: bool,
    /// Whether consumers' blocking GETJOBs go to this node (the main node,
    /// or the node consumers follow because it produces most of their jobs).
    pub serves_consumers: bool,
    /// How many blocking GETJOBs wait on this node right now.
    pub blocked_consumers: usize,
}
