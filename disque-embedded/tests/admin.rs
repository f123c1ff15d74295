//! CLIENT, SLOWLOG and LATENCY answer like a lone Disque 1.0-rc1 (replies
//! recorded from the real server: tests/fixtures/noderest/).

mod resp;

use disque_embedded::Node;
use resp::{Conn, R};

fn ok() -> R {
    R::Status("OK".into())
}

fn err(s: &str) -> R {
    R::Error(s.into())
}

const CLIENT_SYNTAX: &str =
    "ERR Syntax error, try CLIENT (LIST | KILL ip:port | GETNAME | SETNAME connection-name)";

/// The `key=value` fields of one CLIENT LIST line.
fn fields(line: &str) -> Vec<(String, String)> {
    line.split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn field<'a>(f: &'a [(String, String)], key: &str) -> &'a str {
    &f.iter().find(|(k, _)| k == key).unwrap().1
}

#[tokio::test]
async fn client_setname_getname_and_their_errors() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut c = Conn::open(node.addr()).await;
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]).await, R::Nil);
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "foo"]).await, ok());
    assert_eq!(c.cmd(&["client", "getname"]).await, R::bulk("foo"));
    assert_eq!(
        c.cmd(&["CLIENT", "SETNAME", "a b"]).await,
        err("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", ""]).await, ok());
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]).await, R::Nil);
    for bad in [
        &["CLIENT", "foo"][..],
        &["CLIENT", "LIST", "x"],
        &["CLIENT", "GETNAME", "x"],
        &["CLIENT", "SETNAME"],
    ] {
        assert_eq!(c.cmd(bad).await, err(CLIENT_SYNTAX), "{bad:?}");
    }
    assert_eq!(
        c.cmd(&["CLIENT"]).await,
        err("ERR wrong number of arguments for 'client' command")
    );
    node.shutdown().await;
}

#[tokio::test]
async fn client_list_has_disques_fields_in_order() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut a = Conn::open(node.addr()).await;
    let mut b = Conn::open(node.addr()).await;
    assert_eq!(b.cmd(&["CLIENT", "SETNAME", "worker-1"]).await, ok());
    assert_eq!(b.cmd(&["PING"]).await, R::Status("PONG".into()));
    let list = a.cmd(&["CLIENT", "LIST"]).await.text();
    assert!(list.ends_with('\n'), "{list:?}");
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    let keys: Vec<String> = fields(lines[0]).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "id",
            "addr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "qbuf",
            "qbuf-free",
            "obl",
            "oll",
            "omem",
            "events",
            "cmd"
        ]
    );
    let (first, second) = (fields(lines[0]), fields(lines[1]));
    assert_eq!(field(&first, "name"), "");
    assert_eq!(field(&first, "cmd"), "client");
    assert_eq!(field(&first, "flags"), "N");
    assert_eq!(field(&second, "name"), "worker-1");
    assert_eq!(field(&second, "cmd"), "ping");
    let id1: u64 = field(&first, "id").parse().unwrap();
    let id2: u64 = field(&second, "id").parse().unwrap();
    assert!(id1 < id2);
    assert!(field(&first, "addr").starts_with("127.0.0.1:"));
    node.shutdown().await;
}

#[tokio::test]
async fn client_kill_by_address_by_id_and_itself() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut a = Conn::open(node.addr()).await;
    let mut b = Conn::open(node.addr()).await;
    assert_eq!(b.cmd(&["CLIENT", "SETNAME", "victim"]).await, ok());
    let list = a.cmd(&["CLIENT", "LIST"]).await.text();
    let victim = list
        .lines()
        .map(fields)
        .find(|f| field(f, "name") == "victim")
        .unwrap();
    let addr = field(&victim, "addr").to_owned();
    assert_eq!(a.cmd(&["CLIENT", "KILL", &addr]).await, ok());
    assert!(b.closed().await, "the killed client is disconnected");
    assert_eq!(
        a.cmd(&["CLIENT", "KILL", "127.0.0.1:1"]).await,
        err("ERR No such client")
    );
    assert_eq!(a.cmd(&["CLIENT", "KILL", "ID", "999999"]).await, R::Int(0));
    assert_eq!(
        a.cmd(&["CLIENT", "KILL", "ID", "abc"]).await,
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        a.cmd(&["CLIENT", "KILL", "TYPE", "normal"]).await,
        R::Int(0),
        "skips itself"
    );
    assert_eq!(
        a.cmd(&["CLIENT", "KILL", "TYPE", "nobody"]).await,
        err("ERR Unknown client type 'nobody'")
    );
    assert_eq!(a.cmd(&["CLIENT", "KILL"]).await, err("ERR syntax error"));
    assert_eq!(
        a.cmd(&["CLIENT", "KILL", "foo", "bar"]).await,
        err("ERR syntax error")
    );
    assert_eq!(
        a.cmd(&["CLIENT", "KILL", "SKIPME", "maybe"]).await,
        err("ERR syntax error")
    );

    // A blocked consumer is killed too; then the caller kills itself: it
    // gets its reply, then the connection closes.
    let mut blocked = Conn::open(node.addr()).await;
    blocked.send_bytes(&[b"GETJOB", b"FROM", b"kill-q"]).await;
    let mut c = Conn::open(node.addr()).await;
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "me"]).await, ok());
    let id = {
        let list = c.cmd(&["CLIENT", "LIST"]).await.text();
        let me = list
            .lines()
            .map(fields)
            .find(|f| field(f, "name") == "me")
            .unwrap();
        field(&me, "id").to_owned()
    };
    assert_eq!(
        c.cmd(&["CLIENT", "KILL", "SKIPME", "no", "ID", &id]).await,
        R::Int(1)
    );
    assert!(c.closed().await);
    assert_eq!(
        a.cmd(&["CLIENT", "KILL", "TYPE", "normal"]).await,
        R::Int(1)
    );
    assert!(blocked.closed().await, "the blocked GETJOB was killed");
    node.shutdown().await;
}

#[tokio::test]
async fn client_reply_off_and_skip_silence_replies() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut c = Conn::open(node.addr()).await;
    c.send_bytes(&[b"CLIENT", b"REPLY", b"SKIP"]).await;
    c.send_bytes(&[b"PING", b"skipped"]).await;
    assert_eq!(c.cmd(&["PING", "one"]).await, R::bulk("one"));
    c.send_bytes(&[b"CLIENT", b"REPLY", b"OFF"]).await;
    c.send_bytes(&[b"PING", b"silent"]).await;
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "ON"]).await, ok());
    assert_eq!(c.cmd(&["PING", "two"]).await, R::bulk("two"));
    // GETJOB encodes its jobs itself: silenced all the same.
    for _ in 0..2 {
        assert!(matches!(
            c.cmd(&["ADDJOB", "q", "body", "0"]).await,
            R::Status(_)
        ));
    }
    c.send_bytes(&[b"CLIENT", b"REPLY", b"SKIP"]).await;
    c.send_bytes(&[b"GETJOB", b"NOHANG", b"FROM", b"q"]).await;
    c.send_bytes(&[b"CLIENT", b"REPLY", b"OFF"]).await;
    c.send_bytes(&[b"GETJOB", b"NOHANG", b"FROM", b"q"]).await;
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "ON"]).await, ok());
    assert_eq!(c.cmd(&["QLEN", "q"]).await, R::Int(0));
    assert_eq!(
        c.cmd(&["CLIENT", "REPLY", "maybe"]).await,
        err("ERR syntax error")
    );
    node.shutdown().await;
}

#[tokio::test]
async fn slowlog_records_commands_over_the_threshold() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut c = Conn::open(node.addr()).await;
    assert_eq!(c.cmd(&["SLOWLOG", "GET"]).await, R::Array(vec![]));
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]).await, R::Int(0));
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "slowlog*"]).await,
        R::Array(vec![
            R::bulk("slowlog-log-slower-than"),
            R::bulk("10000"),
            R::bulk("slowlog-max-len"),
            R::bulk("128"),
        ])
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"])
            .await,
        ok()
    );
    assert_eq!(c.cmd(&["PING"]).await, R::Status("PONG".into()));
    assert!(matches!(
        c.cmd(&["ADDJOB", "slow-q", "abc", "0"]).await,
        R::Status(_)
    ));
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]).await, R::Int(3));
    let got = c.cmd(&["SLOWLOG", "GET", "2"]).await;
    let entries = got.items();
    assert_eq!(entries.len(), 2);
    // Newest first: [id, unix time, microseconds, [args]].
    let newest = entries[0].items();
    assert_eq!(newest[0], R::Int(3));
    assert!(newest[1].int() > 1_600_000_000);
    assert!(newest[2].int() >= 0);
    assert_eq!(
        newest[3],
        R::Array(vec![R::bulk("SLOWLOG"), R::bulk("LEN")])
    );
    assert_eq!(
        entries[1].items()[3],
        R::Array(vec![
            R::bulk("ADDJOB"),
            R::bulk("slow-q"),
            R::bulk("abc"),
            R::bulk("0")
        ])
    );
    assert_eq!(c.cmd(&["SLOWLOG", "GET", "-1"]).await.items().len(), 5);
    assert_eq!(c.cmd(&["SLOWLOG", "GET", "0"]).await, R::Array(vec![]));
    assert_eq!(
        c.cmd(&["SLOWLOG", "GET", "abc"]).await,
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd(&["SLOWLOG", "RESET"]).await, ok());
    // The RESET itself is logged after it ran.
    assert_eq!(c.cmd(&["SLOWLOG", "LEN"]).await, R::Int(1));
    assert_eq!(
        c.cmd(&["SLOWLOG", "foo"]).await,
        err("ERR Unknown SLOWLOG subcommand or wrong # of args. Try GET, RESET, LEN.")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "slowlog-max-len", "-1"]).await,
        err("ERR Invalid argument '-1' for CONFIG SET 'slowlog-max-len'")
    );
    node.shutdown().await;
}

#[tokio::test]
async fn latency_reports_nothing_until_enabled_and_its_errors() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut c = Conn::open(node.addr()).await;
    assert_eq!(c.cmd(&["LATENCY", "LATEST"]).await, R::Array(vec![]));
    assert_eq!(
        c.cmd(&["LATENCY", "HISTORY", "command"]).await,
        R::Array(vec![])
    );
    assert_eq!(c.cmd(&["LATENCY", "RESET"]).await, R::Int(0));
    assert_eq!(c.cmd(&["LATENCY", "RESET", "command"]).await, R::Int(0));
    assert_eq!(
        c.cmd(&["LATENCY", "GRAPH", "addjob"]).await,
        err("ERR No samples available for event 'addjob'")
    );
    assert_eq!(
        c.cmd(&["LATENCY", "HISTORY"]).await,
        err("ERR syntax error")
    );
    assert_eq!(c.cmd(&["LATENCY", "foo"]).await, err("ERR syntax error"));
    assert_eq!(
        c.cmd(&["LATENCY"]).await,
        err("ERR wrong number of arguments for 'latency' command")
    );
    assert!(matches!(c.cmd(&["LATENCY", "DOCTOR"]).await, R::Bulk(_)));
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "latency*"]).await,
        R::Array(vec![R::bulk("latency-monitor-threshold"), R::bulk("0")])
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "latency-monitor-threshold", "1"])
            .await,
        ok()
    );
    node.shutdown().await;
}

#[tokio::test]
async fn client_pause_holds_other_clients_for_its_duration() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut a = Conn::open(node.addr()).await;
    let mut b = Conn::open(node.addr()).await;
    assert_eq!(b.cmd(&["PING"]).await, R::Status("PONG".into()));
    assert_eq!(
        a.cmd(&["CLIENT", "PAUSE", "abc"]).await,
        err("ERR timeout is not an integer or out of range")
    );
    assert_eq!(
        a.cmd(&["CLIENT", "PAUSE", "-1"]).await,
        err("ERR timeout is negative")
    );
    let started = std::time::Instant::now();
    assert_eq!(a.cmd(&["CLIENT", "PAUSE", "300"]).await, ok());
    assert_eq!(b.cmd(&["PING"]).await, R::Status("PONG".into()));
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(250),
        "answered after {:?}",
        started.elapsed()
    );
    node.shutdown().await;
}
