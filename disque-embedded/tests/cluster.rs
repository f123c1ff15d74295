//! CLUSTER NODES | INFO | MYID | LEAVING, HELLO, leaving, and the presented
//! membership of several embedded nodes — raw RESP over TCP. The lone-node
//! replies are those recorded from a real Disque 1.0-rc1
//! (`tests/fixtures/recorded/cluster_lone_*.json`).

use std::time::Duration;

use disque_embedded::{Node, Peer};

mod resp;
use resp::{Conn, R};

/// Bounds every read, so a missing reply fails the test instead of hanging.
const REPLY_LIMIT: Duration = Duration::from_secs(10);

const LEAVING: &str = "LEAVING This node is leaving the cluster, please connect to a different one";
const NOREPL_LEAVING: &str = "NOREPL Not enough reachable nodes for the requested replication \
     level, since I'm unable to hold a copy of the message for the following reason: I'm leaving \
     the cluster";
const NOREPL: &str = "NOREPL Not enough reachable nodes for the requested replication level";

fn status(s: &str) -> R {
    R::Status(s.to_owned())
}

fn error(s: &str) -> R {
    R::Error(s.to_owned())
}

fn hello_entry(id: &str, ip: &str, port: u16, priority: u32) -> R {
    R::Array(vec![
        R::bulk(id),
        R::bulk(ip),
        R::bulk(&port.to_string()),
        R::bulk(&priority.to_string()),
    ])
}

/// A connection whose every read is bounded by [`REPLY_LIMIT`] and whose
/// bulk strings must all be UTF-8 (the replies here are text).
async fn open(node: &Node) -> Conn {
    Conn::open(node.addr())
        .await
        .with_reply_limit(REPLY_LIMIT)
        .with_utf8_bulks()
}

/// Polls INFO until `blocked_clients:<n>` (bounded).
async fn until_blocked(c: &mut Conn, n: usize) {
    let want = format!("blocked_clients:{n}\r\n");
    for _ in 0..500 {
        match c.cmd(&["INFO", "clients"]).await {
            r @ R::Bulk(_) if r.string().contains(&want) => return,
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    panic!("never saw {want:?}");
}

fn job_id(r: &R) -> String {
    match r {
        R::Status(id) if id.starts_with("D-") => id.clone(),
        other => panic!("expected a job id, got {other:?}"),
    }
}

#[tokio::test]
async fn a_lone_node_describes_itself_like_disque() {
    let node = Node::start_ephemeral().await.unwrap();
    let id = node.node_id();
    let port = node.addr().port();
    let mut c = open(&node).await;

    let line = format!("{id} :{port} myself 0 0 connected\n");
    assert_eq!(c.cmd(&["CLUSTER", "NODES"]).await, R::bulk(&line));
    assert_eq!(c.cmd(&["cluster", "nodes"]).await, R::bulk(&line));
    assert_eq!(c.cmd(&["CLUSTER", "MYID"]).await, R::bulk(&id));
    assert_eq!(
        c.cmd(&["CLUSTER", "INFO"]).await,
        R::bulk(
            "cluster_state:ok\r\ncluster_known_nodes:1\r\ncluster_reachable_nodes:0\r\n\
             cluster_size:1\r\ncluster_stats_messages_sent:0\r\n\
             cluster_stats_messages_received:0\r\n"
        )
    );
    assert_eq!(c.cmd(&["CLUSTER", "LEAVING"]).await, status("no"));
    assert_eq!(c.cmd(&["CLUSTER", "SAVECONFIG"]).await, status("OK"));
    assert_eq!(
        c.cmd(&["HELLO"]).await,
        R::Array(vec![R::Int(1), R::bulk(&id), hello_entry(&id, "", port, 1)])
    );
    node.shutdown().await;
}

#[tokio::test]
async fn cluster_argument_errors_are_disques_and_meet_is_refused() {
    let node = Node::start_ephemeral().await.unwrap();
    let id = node.node_id();
    let mut c = open(&node).await;
    let wrong = error("ERR Wrong CLUSTER subcommand or number of arguments");
    assert_eq!(
        c.cmd(&["CLUSTER"]).await,
        error("ERR wrong number of arguments for 'cluster' command")
    );
    for args in [
        &["CLUSTER", "FOO"][..],
        &["CLUSTER", "NODES", "x"],
        &["CLUSTER", "MYID", "x"],
        &["CLUSTER", "INFO", "x"],
        &["CLUSTER", "LEAVING", "yes", "x"],
        &["CLUSTER", "FORGET"],
        &["CLUSTER", "MEET", "127.0.0.1"],
    ] {
        assert_eq!(c.cmd(args).await, wrong, "{args:?}");
    }
    assert_eq!(
        c.cmd(&["CLUSTER", "LEAVING", "maybe"]).await,
        error("ERR Wrong argument for CLUSTER LEAVING. Use 'yes' or 'no'")
    );
    assert_eq!(
        c.cmd(&["CLUSTER", "FORGET", "abc"]).await,
        error("ERR Invalid node identifier")
    );
    assert_eq!(
        c.cmd(&["CLUSTER", "FORGET", &id]).await,
        error("ERR I tried hard but I can't forget myself...")
    );
    let unknown = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(
        c.cmd(&["CLUSTER", "FORGET", unknown]).await,
        R::Error(format!("ERR Unknown node {unknown}"))
    );
    assert_eq!(
        c.cmd(&["CLUSTER", "MEET", "127.0.0.1", "notaport"]).await,
        error("ERR Invalid TCP port specified: notaport")
    );
    assert_eq!(
        c.cmd(&["CLUSTER", "MEET", "not-an-ip", "7711"]).await,
        error("ERR Invalid node address specified: not-an-ip:7711")
    );
    assert_eq!(
        c.cmd(&["CLUSTER", "MEET", "127.0.0.1", "65535"]).await,
        error("ERR Invalid node address specified: 127.0.0.1:65535")
    );
    // A valid MEET: a real Disque would start a handshake; this node cannot
    // replicate, so it says so, and stays alone.
    match c.cmd(&["CLUSTER", "MEET", "127.0.0.1", "7712"]).await {
        R::Error(e) => assert!(
            e.starts_with("ERR CLUSTER MEET is not supported by the embedded node"),
            "{e}"
        ),
        other => panic!("MEET accepted: {other:?}"),
    }
    assert_eq!(
        c.cmd(&["CLUSTER", "RESET", "sideways"]).await,
        error("ERR syntax error")
    );
    let text = c.cmd(&["CLUSTER", "INFO"]).await.string();
    assert!(text.contains("cluster_known_nodes:1\r\n"), "{text}");
    node.shutdown().await;
}

#[tokio::test]
async fn a_leaving_node_hands_out_its_jobs_but_never_blocks_nor_takes_new_ones() {
    let node = Node::start_ephemeral().await.unwrap();
    let id = node.node_id();
    let port = node.addr().port();
    let mut c = open(&node).await;
    let q = "leaving_hands_out";
    let j1 = job_id(&c.cmd(&["ADDJOB", q, "held1", "0"]).await);
    let j2 = job_id(&c.cmd(&["ADDJOB", q, "held2", "0"]).await);

    assert_eq!(c.cmd(&["CLUSTER", "LEAVING", "yes"]).await, status("OK"));
    assert!(node.is_leaving());
    assert_eq!(c.cmd(&["CLUSTER", "LEAVING"]).await, status("yes"));
    assert_eq!(
        c.cmd(&["HELLO"]).await,
        R::Array(vec![
            R::Int(1),
            R::bulk(&id),
            hello_entry(&id, "", port, 100)
        ])
    );
    assert_eq!(
        c.cmd(&["CLUSTER", "NODES"]).await,
        R::bulk(&format!("{id} :{port} myself,leaving 0 0 connected\n"))
    );

    // Jobs it holds are still handed out …
    assert_eq!(
        c.cmd(&["GETJOB", "FROM", q]).await,
        R::Array(vec![R::Array(vec![
            R::bulk(q),
            R::bulk(&j1),
            R::bulk("held1")
        ])])
    );
    assert_eq!(
        c.cmd(&["GETJOB", "NOHANG", "COUNT", "5", "FROM", q]).await,
        R::Array(vec![R::Array(vec![
            R::bulk(q),
            R::bulk(&j2),
            R::bulk("held2")
        ])])
    );
    // … NOHANG on nothing is still a null array, but a GETJOB that would
    // block (with or without a timeout) is told to go elsewhere.
    assert_eq!(c.cmd(&["GETJOB", "NOHANG", "FROM", q]).await, R::NilArray);
    assert_eq!(c.cmd(&["GETJOB", "FROM", q]).await, error(LEAVING));
    assert_eq!(
        c.cmd(&["GETJOB", "TIMEOUT", "100", "FROM", q, "other"])
            .await,
        error(LEAVING)
    );

    // New jobs are refused, after the argument checks and before MAXLEN.
    for extra in [&[][..], &["ASYNC"], &["REPLICATE", "1"], &["RETRY", "0"]] {
        let mut args = vec!["ADDJOB", q, "refused", "0"];
        args.extend_from_slice(extra);
        assert_eq!(c.cmd(&args).await, error(NOREPL_LEAVING), "{args:?}");
    }
    assert_eq!(
        c.cmd(&["ADDJOB", q, "refused", "0", "REPLICATE", "2"])
            .await,
        error(NOREPL)
    );
    assert_eq!(
        c.cmd(&["ADDJOB", q, "refused", "0", "DELAY", "10", "TTL", "5"])
            .await,
        error("ERR The specified DELAY is greater than TTL. Job refused since would never be delivered")
    );

    // A NACKed job comes back and is handed out again; ACK works.
    assert_eq!(c.cmd(&["NACK", &j1]).await, R::Int(1));
    assert_eq!(
        c.cmd(&["GETJOB", "FROM", q]).await,
        R::Array(vec![R::Array(vec![
            R::bulk(q),
            R::bulk(&j1),
            R::bulk("held1")
        ])])
    );
    assert_eq!(c.cmd(&["ACKJOB", &j1, &j2]).await, R::Int(2));

    // LEAVING no restores everything.
    assert_eq!(c.cmd(&["CLUSTER", "LEAVING", "no"]).await, status("OK"));
    assert!(!node.is_leaving());
    assert_eq!(
        c.cmd(&["HELLO"]).await,
        R::Array(vec![R::Int(1), R::bulk(&id), hello_entry(&id, "", port, 1)])
    );
    let j3 = job_id(&c.cmd(&["ADDJOB", q, "accepted", "0"]).await);
    assert_eq!(c.cmd(&["ACKJOB", &j3]).await, R::Int(1));
    node.shutdown().await;
}

#[tokio::test]
async fn clients_blocked_on_a_node_set_leaving_get_leaving_at_once() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut admin = open(&node).await;
    let mut blocked = open(&node).await;
    let mut blocked_timeout = open(&node).await;

    // Over the wire.
    blocked.send(&["GETJOB", "FROM", "wakes_a"]).await;
    blocked_timeout
        .send(&["GETJOB", "TIMEOUT", "60000", "FROM", "wakes_a", "wakes_b"])
        .await;
    until_blocked(&mut admin, 2).await;
    assert_eq!(
        admin.cmd(&["CLUSTER", "LEAVING", "yes"]).await,
        status("OK")
    );
    assert_eq!(blocked.read().await, error(LEAVING));
    assert_eq!(blocked_timeout.read().await, error(LEAVING));
    until_blocked(&mut admin, 0).await;

    // Through the library, and the connection keeps working afterwards.
    node.set_leaving(false);
    blocked.send(&["GETJOB", "FROM", "wakes_a"]).await;
    until_blocked(&mut admin, 1).await;
    node.set_leaving(true);
    assert_eq!(blocked.read().await, error(LEAVING));
    assert_eq!(blocked.cmd(&["PING"]).await, status("PONG"));
    assert_eq!(admin.cmd(&["CLUSTER", "LEAVING"]).await, status("yes"));

    // Not leaving any more: a GETJOB with a timeout times out as usual.
    node.set_leaving(false);
    assert_eq!(
        blocked
            .cmd(&["GETJOB", "TIMEOUT", "50", "FROM", "wakes_a"])
            .await,
        R::NilArray
    );
    node.shutdown().await;
}

#[tokio::test]
async fn nodes_present_a_membership_but_stay_lone_for_jobs() {
    let nodes = [
        Node::start_ephemeral().await.unwrap(),
        Node::start_ephemeral().await.unwrap(),
        Node::start_ephemeral().await.unwrap(),
    ];
    for (i, node) in nodes.iter().enumerate() {
        node.set_peers(
            nodes
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, n)| n.peer()),
        );
    }
    let [a, b, c] = &nodes;
    let entry =
        |n: &Node, priority| hello_entry(&n.node_id(), "127.0.0.1", n.addr().port(), priority);
    let mut conn = open(a).await;
    assert_eq!(
        conn.cmd(&["HELLO"]).await,
        R::Array(vec![
            R::Int(1),
            R::bulk(&a.node_id()),
            entry(a, 1),
            entry(b, 1),
            entry(c, 1),
        ])
    );
    let text = conn.cmd(&["CLUSTER", "INFO"]).await.string();
    assert!(text.contains("cluster_known_nodes:3\r\n"), "{text}");
    assert!(text.contains("cluster_reachable_nodes:2\r\n"), "{text}");
    let text = conn.cmd(&["CLUSTER", "NODES"]).await.string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0],
        format!("{} {} myself 0 0 connected", a.node_id(), a.addr())
    );
    assert!(lines[1].starts_with(&format!("{} {} noflags 0 ", b.node_id(), b.addr())));
    assert!(lines[1].ends_with(" connected"), "{text}");

    // Jobs: still a lone node — the default REPLICATE is 1, no more copies
    // than it makes; REPLICATE 2 is refused.
    let id = job_id(&conn.cmd(&["ADDJOB", "membership_q", "x", "0"]).await);
    assert!(id.starts_with(&format!("D-{}", &a.node_id()[..8])), "{id}");
    assert_eq!(
        conn.cmd(&["ADDJOB", "membership_q", "x", "0", "REPLICATE", "2"])
            .await,
        error(NOREPL)
    );
    assert!(matches!(
        conn.cmd(&["CLUSTER", "MEET", "127.0.0.1", &b.addr().port().to_string()])
            .await,
        R::Error(_)
    ));

    // A peer leaving shows at priority 100 in the others' HELLO; its own
    // HELLO says so too.
    b.set_leaving(true);
    let hello = conn.cmd(&["HELLO"]).await;
    assert_eq!(hello.clone(), {
        R::Array(vec![
            R::Int(1),
            R::bulk(&a.node_id()),
            entry(a, 1),
            entry(b, 100),
            entry(c, 1),
        ])
    });
    let mut conn_b = open(b).await;
    match conn_b.cmd(&["HELLO"]).await {
        R::Array(items) => assert_eq!(items[2], entry(b, 100)),
        other => panic!("{other:?}"),
    }
    let text = conn.cmd(&["CLUSTER", "NODES"]).await.string();
    assert!(text.contains(" leaving 0 "), "{text}");

    // A stopped peer is listed as a real cluster lists a dead node during its
    // first 15 s: bus link down, priority 5, still counted reachable.
    let [a, b, c] = nodes;
    let (c_id, c_addr) = (c.node_id(), c.addr());
    c.shutdown().await;
    match conn.cmd(&["HELLO"]).await {
        R::Array(items) => assert_eq!(items[4], hello_entry(&c_id, "127.0.0.1", c_addr.port(), 5)),
        other => panic!("{other:?}"),
    }
    let text = conn.cmd(&["CLUSTER", "INFO"]).await.string();
    assert!(text.contains("cluster_reachable_nodes:1\r\n"), "{text}");
    let text = conn.cmd(&["CLUSTER", "NODES"]).await.string();
    assert!(
        text.contains(&format!("{c_id} {c_addr} noflags 0 0 disconnected\n")),
        "{text}"
    );

    // FORGET drops a presented peer; RESET forgets them all and flushes.
    assert_eq!(conn.cmd(&["CLUSTER", "FORGET", &c_id]).await, status("OK"));
    match conn.cmd(&["HELLO"]).await {
        R::Array(items) => assert_eq!(items.len(), 4),
        other => panic!("{other:?}"),
    }
    assert_eq!(conn.cmd(&["CLUSTER", "RESET"]).await, status("OK"));
    assert_eq!(
        conn.cmd(&["HELLO"]).await,
        R::Array(vec![
            R::Int(1),
            R::bulk(&a.node_id()),
            hello_entry(&a.node_id(), "", a.addr().port(), 1)
        ])
    );
    assert_eq!(conn.cmd(&["SHOW", &id]).await, R::Nil);
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test]
async fn fixed_peers_are_listed_as_given() {
    let node = Node::start_ephemeral().await.unwrap();
    let far = "fedcba9876543210fedcba9876543210fedcba98";
    node.set_peers([Peer::new(far, "127.0.0.1:7799".parse().unwrap(), 5)]);
    assert_eq!(node.peers().len(), 1);
    let mut c = open(&node).await;
    match c.cmd(&["HELLO"]).await {
        R::Array(items) => {
            assert_eq!(items.len(), 4);
            assert_eq!(items[3], hello_entry(far, "127.0.0.1", 7799, 5));
        }
        other => panic!("{other:?}"),
    }
    let text = c.cmd(&["CLUSTER", "NODES"]).await.string();
    assert!(
        text.contains(&format!("{far} 127.0.0.1:7799 noflags 0 0 disconnected\n")),
        "{text}"
    );
    node.set_peers([]);
    match c.cmd(&["HELLO"]).await {
        R::Array(items) => assert_eq!(
            items[2],
            hello_entry(&node.node_id(), "", node.addr().port(), 1)
        ),
        other => panic!("{other:?}"),
    }
    node.shutdown().await;
}
