//! End-to-end: raw RESP over TCP to a node on 127.0.0.1:0.

use std::time::Duration;

use disque_embedded::{Config, Node};
use tokio::io::AsyncWriteExt;

mod resp;
use resp::{Conn, R};

#[tokio::test]
async fn add_get_ack_round_trip() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut c = Conn::open(node.addr()).await;
    let id = c
        .cmd(&["ADDJOB", "q", "hello\r\n\0world", "0"])
        .await
        .status();
    assert_eq!(id.len(), 40);
    assert_eq!(c.cmd(&["QLEN", "q"]).await, R::Int(1));
    let got = c.cmd(&["GETJOB", "NOHANG", "FROM", "q"]).await;
    assert_eq!(
        got,
        R::Array(vec![R::Array(vec![
            R::bulk("q"),
            R::bulk(&id),
            R::bulk("hello\r\n\0world")
        ])])
    );
    assert_eq!(c.cmd(&["QLEN", "q"]).await, R::Int(0));
    assert_eq!(c.cmd(&["ACKJOB", &id]).await, R::Int(1));
    assert_eq!(c.cmd(&["SHOW", &id]).await, R::Nil);
    node.shutdown().await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut c = Conn::open(node.addr()).await;
    let mut batch = Vec::new();
    for i in 0..200 {
        let body = format!("job-{i}");
        batch.extend(Conn::encode(&[b"ADDJOB", b"pipe", body.as_bytes(), b"0"]));
    }
    batch.extend(Conn::encode(&[b"QLEN", b"pipe"]));
    batch.extend(b"PING\r\n");
    c.io.get_mut().write_all(&batch).await.unwrap();
    for _ in 0..200 {
        assert!(matches!(c.read().await, R::Status(s) if s.starts_with("D-")));
    }
    assert_eq!(c.read().await, R::Int(200));
    assert_eq!(c.read().await, R::Status("PONG".into()));
    let first = c.cmd(&["GETJOB", "COUNT", "3", "FROM", "pipe"]).await;
    let bodies: Vec<R> = first.items().iter().map(|j| j.items()[2].clone()).collect();
    assert_eq!(
        bodies,
        vec![R::bulk("job-0"), R::bulk("job-1"), R::bulk("job-2")]
    );
}

#[tokio::test]
async fn blocked_clients_are_served_in_the_order_they_blocked() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut first = Conn::open(node.addr()).await;
    let mut second = Conn::open(node.addr()).await;
    let mut admin = Conn::open(node.addr()).await;
    first
        .send(&["GETJOB", "TIMEOUT", "10000", "FROM", "bq"])
        .await;
    wait_blocked(&mut admin, "bq", 1).await;
    second
        .send(&["GETJOB", "TIMEOUT", "10000", "FROM", "bq"])
        .await;
    wait_blocked(&mut admin, "bq", 2).await;
    let a = admin.cmd(&["ADDJOB", "bq", "a", "0"]).await.status();
    let b = admin.cmd(&["ADDJOB", "bq", "b", "0"]).await.status();
    assert_eq!(first.read().await.items()[0].items()[1], R::bulk(&a));
    assert_eq!(second.read().await.items()[0].items()[1], R::bulk(&b));
}

/// Polls QSTAT until `n` clients are blocked on `queue` (bounded).
async fn wait_blocked(admin: &mut Conn, queue: &str, n: i64) {
    for _ in 0..500 {
        let stat = admin.cmd(&["QSTAT", queue]).await;
        if let R::Array(fields) = &stat {
            if fields[9] == R::Int(n) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{n} clients never blocked on {queue}");
}

#[tokio::test]
async fn a_blocked_getjob_times_out_with_a_null_reply() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut c = Conn::open(node.addr()).await;
    assert_eq!(
        c.cmd(&["GETJOB", "TIMEOUT", "100", "FROM", "empty"]).await,
        R::NilArray
    );
    assert_eq!(c.cmd(&["PING"]).await, R::Status("PONG".into()));
}

#[tokio::test]
async fn flushall_releases_blocked_clients() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut blocked = Conn::open(node.addr()).await;
    let mut admin = Conn::open(node.addr()).await;
    blocked.send(&["GETJOB", "FROM", "fq"]).await;
    wait_blocked(&mut admin, "fq", 1).await;
    assert_eq!(
        admin.cmd(&["DEBUG", "FLUSHALL"]).await,
        R::Status("OK".into())
    );
    assert_eq!(blocked.read().await, R::NilArray);
    assert_eq!(
        admin.cmd(&["INFO", "queues"]).await,
        R::bulk("# Queues\r\nregistered_queues:0\r\n")
    );
}

#[tokio::test]
async fn requirepass_refuses_everything_but_auth_and_quit() {
    let node = Node::start(
        Config::default()
            .addr(([127, 0, 0, 1], 0))
            .requirepass("sesame"),
    )
    .await
    .unwrap();
    let mut c = Conn::open(node.addr()).await;
    assert_eq!(
        c.cmd(&["QLEN", "q"]).await,
        R::Error("NOAUTH Authentication required.".into())
    );
    assert_eq!(
        c.cmd(&["PING"]).await,
        R::Error("NOAUTH Authentication required.".into())
    );
    assert_eq!(
        c.cmd(&["AUTH", "wrong"]).await,
        R::Error("ERR invalid password".into())
    );
    assert_eq!(c.cmd(&["AUTH", "sesame"]).await, R::Status("OK".into()));
    assert_eq!(c.cmd(&["QLEN", "q"]).await, R::Int(0));
    assert_eq!(c.cmd(&["PING"]).await, R::Status("PONG".into()));
    assert_eq!(c.cmd(&["QUIT"]).await, R::Status("OK".into()));
    assert!(c.closed().await);
}

#[tokio::test]
async fn shutdown_closes_idle_and_blocked_connections() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut idle = Conn::open(node.addr()).await;
    let mut blocked = Conn::open(node.addr()).await;
    let mut admin = Conn::open(node.addr()).await;
    assert_eq!(idle.cmd(&["PING"]).await, R::Status("PONG".into()));
    blocked.send(&["GETJOB", "FROM", "sq"]).await;
    wait_blocked(&mut admin, "sq", 1).await;
    let addr = node.addr();
    let own_id = admin.cmd(&["HELLO"]).await.items()[1].clone();
    node.shutdown().await;
    // Closed without a reply: a null reply would read as a GETJOB timeout.
    assert!(idle.closed().await);
    assert!(blocked.closed().await);
    // The listener is closed once shutdown returns. Other tests of this
    // binary bind ephemeral ports concurrently and may be given this one
    // again: a connection that succeeds must then reach another node.
    if let Ok(mut other) = Conn::try_open(addr).await {
        let hello = tokio::time::timeout(Duration::from_secs(5), other.cmd(&["HELLO"]))
            .await
            .expect("a connection to the stopped node's port got no reply");
        assert_ne!(hello.items()[1], own_id, "the stopped node still accepts");
    }
}

#[tokio::test]
async fn the_shutdown_command_stops_the_node() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut c = Conn::open(node.addr()).await;
    c.send(&["SHUTDOWN"]).await;
    tokio::time::timeout(Duration::from_secs(5), node.stopped())
        .await
        .unwrap();
    assert!(c.closed().await);
    node.shutdown().await;
}

#[tokio::test]
async fn command_table_has_disques_32_commands() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut c = Conn::open(node.addr()).await;
    assert_eq!(c.cmd(&["COMMAND", "COUNT"]).await, R::Int(32));
    assert_eq!(c.cmd(&["COMMAND"]).await.items().len(), 32);
    let info = c.cmd(&["COMMAND", "INFO", "GETJOB", "nosuch"]).await;
    assert_eq!(info.items()[0].items()[0], R::bulk("getjob"));
    assert_eq!(info.items()[0].items()[1], R::Int(-2));
    assert_eq!(info.items()[1], R::Nil);
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "port"]).await,
        R::Array(vec![
            R::bulk("port"),
            R::bulk(&node.addr().port().to_string())
        ])
    );
}

#[tokio::test]
async fn config_set_requirepass_applies_to_connected_clients() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut admin = Conn::open(node.addr()).await;
    let mut other = Conn::open(node.addr()).await;
    assert_eq!(other.cmd(&["QLEN", "q"]).await, R::Int(0));
    assert_eq!(
        admin.cmd(&["CONFIG", "SET", "requirepass", "pw"]).await,
        R::Status("OK".into())
    );
    assert_eq!(
        other.cmd(&["QLEN", "q"]).await,
        R::Error("NOAUTH Authentication required.".into())
    );
    assert_eq!(other.cmd(&["AUTH", "pw"]).await, R::Status("OK".into()));
    assert_eq!(
        other.cmd(&["CONFIG", "SET", "requirepass", ""]).await,
        R::Status("OK".into())
    );
    assert_eq!(admin.cmd(&["QLEN", "q"]).await, R::Int(0));
}

#[tokio::test]
async fn inline_commands_work() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut c = Conn::open(node.addr()).await;
    c.io.get_mut()
        .write_all(b"PING\r\nADDJOB inl \"hello world\" 0\r\nQPEEK inl 1\r\n")
        .await
        .unwrap();
    assert_eq!(c.read().await, R::Status("PONG".into()));
    let id = c.read().await.status();
    assert_eq!(
        c.read().await,
        R::Array(vec![R::Array(vec![
            R::bulk("inl"),
            R::bulk(&id),
            R::bulk("hello world")
        ])])
    );
}

#[tokio::test]
async fn a_blocked_client_that_disconnects_is_forgotten() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut admin = Conn::open(node.addr()).await;
    let mut gone = Conn::open(node.addr()).await;
    gone.send(&["GETJOB", "FROM", "dq"]).await;
    wait_blocked(&mut admin, "dq", 1).await;
    drop(gone);
    wait_blocked(&mut admin, "dq", 0).await;
    let id = admin.cmd(&["ADDJOB", "dq", "kept", "0"]).await.status();
    assert_eq!(admin.cmd(&["QLEN", "dq"]).await, R::Int(1));
    let got = admin.cmd(&["GETJOB", "NOHANG", "FROM", "dq"]).await;
    assert_eq!(got.items()[0].items()[1], R::bulk(&id));
}

#[tokio::test]
async fn large_pipelined_replies_are_written_in_pieces_and_in_order() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut c = Conn::open(node.addr()).await;
    let mut batch = Vec::new();
    for i in 0..40u8 {
        let body = vec![b'a' + (i % 26); 100_000];
        batch.extend(Conn::encode(&[b"ADDJOB", b"big", &body, b"0"]));
    }
    for _ in 0..40 {
        batch.extend(Conn::encode(&[b"GETJOB", b"NOHANG", b"FROM", b"big"]));
    }
    c.io.get_mut().write_all(&batch).await.unwrap();
    for _ in 0..40 {
        assert!(matches!(c.read().await, R::Status(_)));
    }
    for i in 0..40u8 {
        let job = c.read().await;
        assert_eq!(
            job.items()[0].items()[2],
            R::Bulk(vec![b'a' + (i % 26); 100_000])
        );
    }
}
