//! Property test of the command dispatch, over TCP: random sequences of Disque
//! commands with random, often invalid, arguments (option names, odd numbers,
//! real and fake job IDs, arbitrary bytes) each get exactly one well-formed
//! reply in time, and the node keeps serving.
//!
//! `PROPTEST_CASES=n` runs more cases (the default keeps CI fast).

use std::net::SocketAddr;
use std::time::Duration;

use disque_embedded::Node;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Bound on every reply; only hit when the node hangs.
const PATIENCE: Duration = Duration::from_secs(5);

/// Every command of Disque's table but the ones that end the session or the
/// node (QUIT, SHUTDOWN), which are tested on their own.
const COMMANDS: &[&str] = &[
    "AUTH",
    "PING",
    "INFO",
    "MONITOR",
    "DEBUG",
    "CONFIG",
    "CLUSTER",
    "CLIENT",
    "SLOWLOG",
    "TIME",
    "COMMAND",
    "LATENCY",
    "HELLO",
    "ADDJOB",
    "GETJOB",
    "ACKJOB",
    "FASTACK",
    "DELJOB",
    "SHOW",
    "LOADJOB",
    "BGREWRITEAOF",
    "QLEN",
    "QPEEK",
    "QSTAT",
    "QSCAN",
    "JSCAN",
    "ENQUEUE",
    "NACK",
    "DEQUEUE",
    "WORKING",
    "PAUSE",
    "addjob",
    "GetJob",
    "NOSUCHCOMMAND",
];

const WORDS: &[&str] = &[
    "q1",
    "q2",
    "REPLICATE",
    "DELAY",
    "RETRY",
    "TTL",
    "MAXLEN",
    "ASYNC",
    "NOHANG",
    "TIMEOUT",
    "COUNT",
    "WITHCOUNTERS",
    "FROM",
    "in",
    "out",
    "all",
    "none",
    "state",
    "bcast",
    "BUSYLOOP",
    "QUEUE",
    "STATE",
    "REPLY",
    "ID",
    "ALL",
    "MINLEN",
    "IMPORTRATE",
    "queued",
    "active",
    "acked",
    "wait-repl",
    "FLUSHALL",
    "GET",
    "SET",
    "INFO",
    "COUNT",
    "server",
    "default",
    "jobs",
    "*",
    "0",
    "1",
    "-1",
    "2",
    "10",
    "100",
    "65535",
    "65536",
    "86400",
    "4000000",
    "-5",
    "1.5",
    "abc",
    "",
    " 5",
    "5 ",
    "99999999999999999999",
    "-9223372036854775808",
    "9223372036854775807",
    "D-deadbeef-AAAAAAAAAAAAAAAAAAAAAAAA-05a1",
    "D-zzzzzzzz-!!!!!!!!!!!!!!!!!!!!!!!!-zzzz",
    "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a0",
];

/// One argument: a word, a job ID this node handed out, or arbitrary bytes.
#[derive(Debug, Clone)]
enum Arg {
    Word(&'static str),
    KnownId(prop::sample::Index),
    Bytes(Vec<u8>),
}

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        6 => prop::sample::select(WORDS).prop_map(Arg::Word),
        2 => any::<prop::sample::Index>().prop_map(Arg::KnownId),
        1 => prop::collection::vec(any::<u8>(), 0..24).prop_map(Arg::Bytes),
    ]
}

fn command() -> impl Strategy<Value = (&'static str, Vec<Arg>)> {
    (
        prop::sample::select(COMMANDS),
        prop::collection::vec(arg(), 0..7),
    )
}

/// Jobs first, so that queues and IDs exist, then random commands.
fn session() -> impl Strategy<Value = Vec<(&'static str, Vec<Arg>)>> {
    prop::collection::vec(command(), 1..12)
}

fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A reply as read back, enough to check its shape.
#[derive(Debug)]
enum Value {
    Status(String),
    Error(String),
    Other,
}

/// Reads one RESP2 reply strictly: any malformation is a test failure.
fn read_reply<'a>(
    reader: &'a mut BufReader<TcpStream>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, String>> + Send + 'a>> {
    Box::pin(async move {
        let mut line = Vec::new();
        reader
            .read_until(b'\n', &mut line)
            .await
            .map_err(|e| e.to_string())?;
        if !line.ends_with(b"\r\n") || line.len() < 3 {
            return Err(format!("truncated reply line {line:?}"));
        }
        let body = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
        if body.contains('\r') || body.contains('\n') {
            return Err(format!("line break inside {line:?}"));
        }
        let number = || {
            body.parse::<i64>()
                .map_err(|_| format!("bad number in {line:?}"))
        };
        match line[0] {
            b'+' => Ok(Value::Status(body.clone())),
            b'-' => Ok(Value::Error(body.clone())),
            b':' => number().map(|_| Value::Other),
            b'$' => match number()? {
                -1 => Ok(Value::Other),
                n if n >= 0 => {
                    let mut data = vec![0u8; n as usize + 2];
                    reader
                        .read_exact(&mut data)
                        .await
                        .map_err(|e| e.to_string())?;
                    if !data.ends_with(b"\r\n") {
                        return Err("bulk not followed by CRLF".into());
                    }
                    Ok(Value::Other)
                }
                n => Err(format!("bulk length {n}")),
            },
            b'*' => match number()? {
                -1 => Ok(Value::Other),
                n if n >= 0 => {
                    for _ in 0..n {
                        read_reply(reader).await?;
                    }
                    Ok(Value::Other)
                }
                n => Err(format!("array length {n}")),
            },
            other => Err(format!("unknown reply type {:?}", char::from(other))),
        }
    })
}

async fn run_session(
    addr: SocketAddr,
    commands: &[(&'static str, Vec<Arg>)],
) -> Result<(), String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut ids: Vec<Vec<u8>> = Vec::new();
    let setup: [(&str, Vec<Arg>); 2] = [
        (
            "ADDJOB",
            vec![Arg::Word("q1"), Arg::Word("x"), Arg::Word("0")],
        ),
        (
            "ADDJOB",
            vec![
                Arg::Word("q2"),
                Arg::Word("y"),
                Arg::Word("0"),
                Arg::Word("RETRY"),
                Arg::Word("1"),
            ],
        ),
    ];
    for (name, args) in setup.iter().chain(commands) {
        let mut request = vec![name.as_bytes().to_vec()];
        // A GETJOB without NOHANG could block for good: never send one.
        if name.eq_ignore_ascii_case("getjob") {
            request.push(b"NOHANG".to_vec());
        }
        for arg in args {
            request.push(match arg {
                Arg::Word(w) => w.as_bytes().to_vec(),
                Arg::KnownId(i) if !ids.is_empty() => ids[i.index(ids.len())].clone(),
                Arg::KnownId(_) => b"D-00000000-AAAAAAAAAAAAAAAAAAAAAAAA-0001".to_vec(),
                Arg::Bytes(b) => b.clone(),
            });
        }
        reader
            .get_mut()
            .write_all(&encode(&request))
            .await
            .map_err(|e| e.to_string())?;
        let shown = String::from_utf8_lossy(&request.join(&b' ')).into_owned();
        let value = tokio::time::timeout(PATIENCE, read_reply(&mut reader))
            .await
            .map_err(|_| format!("no reply within {PATIENCE:?} to {shown}"))?
            .map_err(|e| format!("{e} in the reply to {shown}"))?;
        match value {
            Value::Status(s) if s.starts_with("D-") => ids.push(s.into_bytes()),
            Value::Error(e) => {
                let code = e.split(' ').next().unwrap_or_default();
                if code.is_empty() || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(format!("error without a code: {e:?} for {shown}"));
                }
            }
            _ => {}
        }
    }
    // And the node still serves, on this connection and a new one.
    for stream in [
        reader.get_mut(),
        &mut TcpStream::connect(addr).await.map_err(|e| e.to_string())?,
    ] {
        stream
            .write_all(b"PING\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut pong = [0u8; 7];
        tokio::time::timeout(PATIENCE, stream.read_exact(&mut pong))
            .await
            .map_err(|_| "no PONG".to_owned())?
            .map_err(|e| e.to_string())?;
        if &pong != b"+PONG\r\n" {
            return Err(format!("PING answered {pong:?}"));
        }
    }
    Ok(())
}

#[test]
fn random_commands_get_one_well_formed_reply_each() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // BGREWRITEAOF is among the random commands: its file goes to a folder of
    // this test's own, never into the source tree.
    let dir = std::env::temp_dir().join(format!("disque-dispatch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let node_config = disque_embedded::Config::default()
        .addr(([127, 0, 0, 1], 0))
        .dir(&dir);
    let node = runtime.block_on(Node::start(node_config)).unwrap();
    let addr = node.addr();
    let mut runner = TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&session(), |commands| {
        runtime
            .block_on(run_session(addr, &commands))
            .map_err(TestCaseError::fail)
    });
    runtime.block_on(node.shutdown());
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        panic!("{e}");
    }
}
