//! CLUSTER NODES | INFO | MYID | LEAVING [yes|no] | FORGET | SAVECONFIG |
//! RESET | MEET, HELLO's node list, and the node's "leaving" state.
//!
//! The embedded node is always a lone Disque: it never replicates and cannot
//! join a cluster (`CLUSTER MEET` is refused). What it answers is what a real
//! Disque 1.0-rc1 answers when it has met no other node (recorded in
//! `tests/fixtures/recorded/`). For client tests it can *present* a
//! membership — peers listed by HELLO, CLUSTER NODES and CLUSTER INFO, set
//! with [`Node::set_peers`](crate::Node::set_peers) — while every job command
//! keeps answering as a lone node (ADDJOB never claims copies it does not
//! make).
//!
//! Leaving (`CLUSTER LEAVING yes`, or [`Node::set_leaving`](crate::Node::set_leaving)),
//! as in Disque: HELLO reports the node with priority 100; GETJOB still hands
//! out the jobs the node holds but answers `-LEAVING` where it would block,
//! and clients already blocked get `-LEAVING` at once; ADDJOB is refused with
//! NOREPL ("… I'm leaving the cluster" when a single copy was asked for).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock, Weak};

use bytes::Bytes;
use tokio::sync::watch;

use super::parse::{err, ok, parse_ll, syntax_error};
use super::{reply, Ctx, Outcome};
use crate::frame::Reply;
use crate::shared::Shared;

/// `-LEAVING …`: GETJOB on a leaving node that would block.
pub const LEAVING_ERROR: &str =
    "LEAVING This node is leaving the cluster, please connect to a different one";

/// HELLO priority of a healthy node.
const PRIORITY_OK: u32 = 1;
/// HELLO priority of a node whose bus link is down.
const PRIORITY_DISCONNECTED: u32 = 5;
/// HELLO priority of a node suspected to fail (PFAIL).
const PRIORITY_PFAIL: u32 = 10;
/// HELLO priority of a failing or leaving node.
const PRIORITY_LEAVING: u32 = 100;

/// A node that another embedded node lists in HELLO, CLUSTER NODES and
/// CLUSTER INFO — a *presented* membership for client tests: the nodes never
/// talk to each other and never replicate jobs.
///
/// Either fixed ([`Peer::new`]: an id, an address and a priority as Disque
/// reports them — 1 healthy, 5 link down, 10 suspected failing, 100 failing
/// or leaving) or following a running node ([`Node::peer`](crate::Node::peer):
/// priority 1, 100 once it is leaving, 5 once it is stopped).
///
/// ```
/// let peer = disque_embedded::Peer::new(
///     "0123456789abcdef0123456789abcdef01234567",
///     "127.0.0.1:7712".parse().unwrap(),
///     100,
/// );
/// assert_eq!(peer.priority(), 100);
/// assert_eq!(peer.addr().port(), 7712);
/// ```
#[derive(Debug, Clone)]
pub struct Peer {
    id: String,
    addr: SocketAddr,
    priority: u32,
    live: Option<Weak<Shared>>,
}

impl Peer {
    /// A peer with a fixed priority. `id` should be 40 lowercase hex
    /// characters like every Disque node id (its first 8 are the prefix job
    /// ids carry); it is shown as given.
    ///
    /// ```
    /// let peer = disque_embedded::Peer::new("a".repeat(40), "127.0.0.1:7713".parse().unwrap(), 1);
    /// assert_eq!(peer.id(), "a".repeat(40));
    /// ```
    pub fn new(id: impl Into<String>, addr: SocketAddr, priority: u32) -> Peer {
        Peer {
            id: id.into(),
            addr,
            priority,
            live: None,
        }
    }

    /// A peer that follows a running node's state.
    pub(crate) fn live(id: String, addr: SocketAddr, shared: &Arc<Shared>) -> Peer {
        Peer {
            id,
            addr,
            priority: PRIORITY_OK,
            live: Some(Arc::downgrade(shared)),
        }
    }

    /// The node id.
    ///
    /// ```
    /// let peer = disque_embedded::Peer::new("b".repeat(40), "127.0.0.1:7711".parse().unwrap(), 1);
    /// assert!(peer.id().starts_with("bbbb"));
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The address listed for it.
    ///
    /// ```
    /// let peer = disque_embedded::Peer::new("b".repeat(40), "127.0.0.1:7711".parse().unwrap(), 1);
    /// assert_eq!(peer.addr().to_string(), "127.0.0.1:7711");
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The HELLO priority it has now: the fixed one, or for a peer made by
    /// [`Node::peer`](crate::Node::peer) 1 while that node runs, 100 while it
    /// is leaving, and 5 once it is stopped — what the other nodes of a real
    /// Disque cluster report for a dead node during its first 15 s (the bus
    /// link is down; PFAIL, 10, comes after the node timeout and FAIL, 100,
    /// about 2 s later, measured on 1.0-rc1).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let node = disque_embedded::Node::start_ephemeral().await?;
    /// let peer = node.peer();
    /// assert_eq!(peer.priority(), 1);
    /// node.set_leaving(true);
    /// assert_eq!(peer.priority(), 100);
    /// node.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn priority(&self) -> u32 {
        match &self.live {
            None => self.priority,
            Some(weak) => match weak.upgrade() {
                Some(shared) if !*shared.shutdown.borrow() => {
                    if shared.cluster.is_leaving() {
                        PRIORITY_LEAVING
                    } else {
                        PRIORITY_OK
                    }
                }
                _ => PRIORITY_DISCONNECTED,
            },
        }
    }

    /// CLUSTER NODES flags and link state for this peer.
    fn flags_and_link(&self) -> (&'static str, &'static str) {
        let leaving = match &self.live {
            Some(weak) => weak
                .upgrade()
                .is_some_and(|s| !*s.shutdown.borrow() && s.cluster.is_leaving()),
            None => self.priority >= PRIORITY_LEAVING,
        };
        match self.priority() {
            p if p >= PRIORITY_LEAVING && leaving => ("leaving", "connected"),
            p if p >= PRIORITY_LEAVING => ("fail", "disconnected"),
            p if p >= PRIORITY_PFAIL => ("fail?", "disconnected"),
            p if p >= PRIORITY_DISCONNECTED => ("noflags", "disconnected"),
            _ => ("noflags", "connected"),
        }
    }
}

/// The node's cluster-facing state: whether it is leaving, and the peers it
/// presents.
#[derive(Debug)]
pub struct Membership {
    leaving: watch::Sender<bool>,
    /// `(own ip once peers are set, peers)`.
    peers: RwLock<(Option<IpAddr>, Vec<Peer>)>,
}

impl Default for Membership {
    fn default() -> Self {
        Membership {
            leaving: watch::channel(false).0,
            peers: RwLock::new((None, Vec::new())),
        }
    }
}

impl Membership {
    /// Whether the node is leaving the cluster.
    pub fn is_leaving(&self) -> bool {
        *self.leaving.borrow()
    }

    /// Sets or clears the leaving flag. Clients blocked in GETJOB notice
    /// through [`Membership::watch_leaving`].
    pub fn set_leaving(&self, leaving: bool) {
        self.leaving.send_if_modified(|v| {
            let changed = *v != leaving;
            *v = leaving;
            changed
        });
    }

    /// A receiver of the leaving flag, for a client blocked in GETJOB.
    pub fn watch_leaving(&self) -> watch::Receiver<bool> {
        self.leaving.subscribe()
    }

    /// Replaces the presented peers; `own_ip` is what HELLO then shows for
    /// this node (a lone Disque shows `""` until it has met another node).
    pub fn set_peers(&self, own_ip: IpAddr, peers: Vec<Peer>) {
        let mut guard = self.peers.write().unwrap_or_else(|e| e.into_inner());
        *guard = (if peers.is_empty() { None } else { Some(own_ip) }, peers);
    }

    /// Forgets every presented peer (CLUSTER RESET).
    pub fn clear_peers(&self) {
        let mut guard = self.peers.write().unwrap_or_else(|e| e.into_inner());
        *guard = (None, Vec::new());
    }

    /// The presented peers.
    pub fn peers(&self) -> Vec<Peer> {
        self.snapshot().1
    }

    fn snapshot(&self) -> (Option<IpAddr>, Vec<Peer>) {
        self.peers.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Forgets one peer; false if it is not known.
    fn forget(&self, id: &[u8]) -> bool {
        let mut guard = self.peers.write().unwrap_or_else(|e| e.into_inner());
        let before = guard.1.len();
        guard.1.retain(|p| p.id.as_bytes() != id);
        let found = guard.1.len() != before;
        if guard.1.is_empty() {
            guard.0 = None;
        }
        found
    }
}

fn bulk(s: impl Into<String>) -> Reply {
    Reply::Bulk(Bytes::from(s.into()))
}

fn own_priority(shared: &Shared) -> u32 {
    if shared.cluster.is_leaving() {
        PRIORITY_LEAVING
    } else {
        PRIORITY_OK
    }
}

/// HELLO: `[1, own id, [id, ip, port, priority]…]`, this node first, then
/// the presented peers.
pub(super) fn hello(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Outcome {
    let node_id = ctx.db.node_id().to_owned();
    let (own_ip, peers) = ctx.shared.cluster.snapshot();
    let mut out = Vec::with_capacity(3 + peers.len());
    out.push(Reply::Integer(1));
    out.push(bulk(node_id.clone()));
    out.push(Reply::Array(vec![
        bulk(node_id),
        bulk(own_ip.map(|ip| ip.to_string()).unwrap_or_default()),
        bulk(ctx.shared.port.to_string()),
        bulk(own_priority(ctx.shared).to_string()),
    ]));
    for p in &peers {
        out.push(Reply::Array(vec![
            bulk(p.id.clone()),
            bulk(p.addr.ip().to_string()),
            bulk(p.addr.port().to_string()),
            bulk(p.priority().to_string()),
        ]));
    }
    reply(Reply::Array(out))
}

/// Where ADDJOB must refuse before anything else (after its argument
/// checks): a leaving node wants the copies made elsewhere, and a lone node
/// has no one to make them (Disque's `extrepl`).
pub(super) fn addjob_refusal(shared: &Shared, replicate: i64) -> Option<Reply> {
    if !shared.cluster.is_leaving() {
        return None;
    }
    // additional_nodes = replicate > reachable (0): always refused.
    Some(if replicate == 1 {
        err(
            "NOREPL Not enough reachable nodes for the requested replication level, \
             since I'm unable to hold a copy of the message for the following reason: \
             I'm leaving the cluster",
        )
    } else {
        err("NOREPL Not enough reachable nodes for the requested replication level")
    })
}

/// Resolves once the node is leaving, even if it already was.
pub async fn became_leaving(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|leaving| *leaving).await;
}

/// `-LEAVING …` as a reply.
pub fn leaving_reply() -> Reply {
    err(LEAVING_ERROR)
}

/// GETJOB that would block on a leaving node.
pub(super) fn getjob_refusal(shared: &Shared) -> Option<Reply> {
    shared.cluster.is_leaving().then(leaving_reply)
}

fn wrong_subcommand() -> Outcome {
    reply(err("ERR Wrong CLUSTER subcommand or number of arguments"))
}

fn nodes(ctx: &Ctx<'_>) -> String {
    let (own_ip, peers) = ctx.shared.cluster.snapshot();
    let mut out = String::new();
    let flags = if ctx.shared.cluster.is_leaving() {
        "myself,leaving"
    } else {
        "myself"
    };
    let own_ip = own_ip.map(|ip| ip.to_string()).unwrap_or_default();
    let _ = writeln!(
        out,
        "{} {own_ip}:{} {flags} 0 0 connected",
        ctx.db.node_id(),
        ctx.shared.port
    );
    for p in &peers {
        let (flags, link) = p.flags_and_link();
        let pong = if link == "connected" { ctx.now } else { 0 };
        let _ = writeln!(out, "{} {} {flags} 0 {pong} {link}", p.id, p.addr);
    }
    out
}

fn info(ctx: &Ctx<'_>) -> String {
    let (_, peers) = ctx.shared.cluster.snapshot();
    let reachable = peers
        .iter()
        .filter(|p| p.priority() < PRIORITY_PFAIL)
        .count();
    format!(
        "cluster_state:ok\r\n\
         cluster_known_nodes:{known}\r\n\
         cluster_reachable_nodes:{reachable}\r\n\
         cluster_size:{known}\r\n\
         cluster_stats_messages_sent:0\r\n\
         cluster_stats_messages_received:0\r\n",
        known = peers.len() + 1,
    )
}

/// `CLUSTER MEET ip port`: Disque's argument checks, then a refusal — the
/// embedded node cannot join a cluster.
fn meet(ip: &[u8], port: &[u8]) -> Reply {
    let shown = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    // Like Disque's getLongLongFromObject: "" is 0 (refused below).
    let Some(port_n) = parse_ll(port) else {
        return Reply::Error(Cow::Owned(format!(
            "ERR Invalid TCP port specified: {}",
            shown(port)
        )));
    };
    let ip_ok = std::str::from_utf8(ip)
        .ok()
        .and_then(|s| s.parse::<IpAddr>().ok())
        .is_some();
    // Disque reserves port + 10000 for the cluster bus.
    if !ip_ok || port_n <= 0 || port_n > 65535 - 10000 {
        return Reply::Error(Cow::Owned(format!(
            "ERR Invalid node address specified: {}:{}",
            shown(ip),
            shown(port)
        )));
    }
    err(
        "ERR CLUSTER MEET is not supported by the embedded node: it is always a lone node \
         and cannot replicate jobs (tests can present peers with Node::set_peers)",
    )
}

/// CLUSTER FORGET: Disque's checks; a presented peer can be forgotten.
fn forget(ctx: &Ctx<'_>, id: &[u8]) -> Reply {
    if id.len() != 40 {
        return err("ERR Invalid node identifier");
    }
    if id == ctx.db.node_id().as_bytes() {
        return err("ERR I tried hard but I can't forget myself...");
    }
    if ctx.shared.cluster.forget(id) {
        ok()
    } else {
        Reply::Error(Cow::Owned(format!(
            "ERR Unknown node {}",
            String::from_utf8_lossy(id)
        )))
    }
}

/// The CLUSTER command.
pub(super) fn cluster(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Outcome {
    let sub = &args[1];
    let is = |name: &str| sub.eq_ignore_ascii_case(name.as_bytes());
    match args.len() {
        2 if is("nodes") => reply(bulk(nodes(ctx))),
        2 if is("myid") => reply(bulk(ctx.db.node_id().to_owned())),
        2 if is("info") => reply(bulk(info(ctx))),
        2 if is("saveconfig") => reply(ok()),
        2 if is("leaving") => reply(Reply::Status(Cow::Borrowed(
            if ctx.shared.cluster.is_leaving() {
                "yes"
            } else {
                "no"
            },
        ))),
        3 if is("leaving") => {
            let value = &args[2];
            if value.eq_ignore_ascii_case(b"yes") {
                ctx.shared.cluster.set_leaving(true);
                reply(ok())
            } else if value.eq_ignore_ascii_case(b"no") {
                ctx.shared.cluster.set_leaving(false);
                reply(ok())
            } else {
                reply(err(
                    "ERR Wrong argument for CLUSTER LEAVING. Use 'yes' or 'no'",
                ))
            }
        }
        3 if is("forget") => reply(forget(ctx, &args[2])),
        4 if is("meet") => reply(meet(&args[2], &args[3])),
        2 | 3 if is("reset") => {
            let hard = match args.get(2) {
                None => false,
                Some(m) if m.eq_ignore_ascii_case(b"soft") => false,
                Some(m) if m.eq_ignore_ascii_case(b"hard") => true,
                Some(_) => return reply(syntax_error()),
            };
            if hard {
                return reply(err(
                    "ERR CLUSTER RESET HARD is not supported by the embedded node: its node ID is fixed",
                ));
            }
            // Forget every other node and flush the data, as Disque does.
            ctx.shared.cluster.clear_peers();
            ctx.db.flush_all();
            reply(ok())
        }
        _ => wrong_subcommand(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meet_checks_arguments_like_disque_then_refuses() {
        let text = |r: Reply| match r {
            Reply::Error(e) => e.into_owned(),
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(
            text(meet(b"127.0.0.1", b"x")),
            "ERR Invalid TCP port specified: x"
        );
        assert_eq!(
            text(meet(b"nope", b"7711")),
            "ERR Invalid node address specified: nope:7711"
        );
        assert_eq!(
            text(meet(b"127.0.0.1", b"55536")),
            "ERR Invalid node address specified: 127.0.0.1:55536"
        );
        assert!(text(meet(b"::1", b"7711")).contains("not supported by the embedded node"));
    }

    #[test]
    fn fixed_peer_flags_follow_priority() {
        let addr = SocketAddr::from(([127, 0, 0, 1], 1));
        let flags = |p| Peer::new("x", addr, p).flags_and_link();
        assert_eq!(flags(1), ("noflags", "connected"));
        assert_eq!(flags(5), ("noflags", "disconnected"));
        assert_eq!(flags(10), ("fail?", "disconnected"));
        assert_eq!(flags(100), ("leaving", "connected"));
    }
}
