//! Robustness of the embedded node against hostile or broken clients, over raw
//! TCP: malformed RESP gets Disque's protocol error and a closed connection,
//! half-sent requests block nobody else, random bytes never take the node
//! down, and the query-buffer and client caps hold.

use std::net::SocketAddr;
use std::time::Duration;

use disque_embedded::{Config, Node};
use rand::{RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bound on every wait for the node; generous, only hit when something hangs.
const PATIENCE: Duration = Duration::from_secs(5);

async fn connect(addr: SocketAddr) -> TcpStream {
    tokio::time::timeout(PATIENCE, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .unwrap()
}

/// Reads until the node closes the connection (or resets it).
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read_all)
        .await
        .expect("the node did not close the connection");
    got
}

/// Reads exactly `expected.len()` bytes and compares them.
async fn expect_reply(stream: &mut TcpStream, expected: &[u8]) {
    let mut got = vec![0u8; expected.len()];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut got))
        .await
        .expect("no reply from the node")
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
}

/// Sends `input` on a fresh connection; returns all the node wrote back
/// before closing it.
async fn exchange(addr: SocketAddr, input: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr).await;
    stream.write_all(input).await.unwrap();
    read_until_closed(&mut stream).await
}

async fn assert_serving(addr: SocketAddr) {
    let mut stream = connect(addr).await;
    stream.write_all(b"*1\r\n$4\r\nPING\r\n").await.unwrap();
    expect_reply(&mut stream, b"+PONG\r\n").await;
}

#[tokio::test]
async fn malformed_requests_get_the_protocol_error_and_a_closed_connection() {
    let node = Node::start_ephemeral().await.unwrap();
    let cases: &[(&[u8], &str)] = &[
        (b"*1\r\n$-5\r\n", "invalid bulk length"),
        (b"*1\r\n$abc\r\n", "invalid bulk length"),
        (b"*1\r\n$536870913\r\n", "invalid bulk length"),
        (b"*1\r\n$99999999999999999999999\r\n", "invalid bulk length"),
        (b"*1\r\n:5\r\n", "expected '$', got ':'"),
        (b"*x\r\n", "invalid multibulk length"),
        (b"*1048577\r\n", "invalid multibulk length"),
        (b"GET \"unterminated\r\n", "unbalanced quotes in request"),
        (b"GET 'a'b\r\n", "unbalanced quotes in request"),
    ];
    for (input, error) in cases {
        let got = exchange(node.addr(), input).await;
        let expected = format!("-ERR Protocol error: {error}\r\n");
        assert_eq!(
            String::from_utf8_lossy(&got),
            expected,
            "for {:?}",
            String::from_utf8_lossy(input)
        );
    }
    assert_serving(node.addr()).await;
    node.shutdown().await;
}

#[tokio::test]
async fn requests_before_a_malformed_one_are_answered() {
    let node = Node::start_ephemeral().await.unwrap();
    let got = exchange(
        node.addr(),
        b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$-5\r\nPING\r\n",
    )
    .await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        "+PONG\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn empty_and_negative_multibulk_counts_are_ignored() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut stream = connect(node.addr()).await;
    stream
        .write_all(b"*0\r\n*-1\r\n*-5\r\n\r\n   \r\nPING\r\n")
        .await
        .unwrap();
    expect_reply(&mut stream, b"+PONG\r\n").await;
    node.shutdown().await;
}

#[tokio::test]
async fn oversized_header_and_inline_lines_are_refused() {
    let node = Node::start_ephemeral().await.unwrap();
    let line = vec![b'a'; 64 * 1024 + 1];
    let got = exchange(node.addr(), &line).await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: too big inline request\r\n"
    );
    let mut count = b"*".to_vec();
    count.extend_from_slice(&line);
    let got = exchange(node.addr(), &count).await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: too big mbulk count string\r\n"
    );
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend_from_slice(&line);
    let got = exchange(node.addr(), &bulk).await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: too big bulk count string\r\n"
    );
    assert_serving(node.addr()).await;
    node.shutdown().await;
}

#[tokio::test]
async fn a_half_sent_request_blocks_nobody_and_completes_later() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut slow = connect(node.addr()).await;
    // A client that announces a large argument and stops half-way.
    slow.write_all(b"*2\r\n$4\r\nPING\r\n$10\r\nabc")
        .await
        .unwrap();
    let mut huge = connect(node.addr()).await;
    huge.write_all(b"*2\r\n$4\r\nPING\r\n$536870912\r\nxyz")
        .await
        .unwrap();
    for _ in 0..3 {
        assert_serving(node.addr()).await;
    }
    slow.write_all(b"defghij\r\n").await.unwrap();
    expect_reply(&mut slow, b"$10\r\nabcdefghij\r\n").await;
    drop(huge);
    assert_serving(node.addr()).await;
    node.shutdown().await;
}

#[tokio::test]
async fn a_request_split_into_single_bytes_is_answered() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut stream = connect(node.addr()).await;
    stream.set_nodelay(true).unwrap();
    for &byte in b"*2\r\n$4\r\nPING\r\n$3\r\na\r\n\r\nPING \"x y\"\r\n" {
        stream.write_all(&[byte]).await.unwrap();
    }
    expect_reply(&mut stream, b"$3\r\na\r\n\r\n$3\r\nx y\r\n").await;
    node.shutdown().await;
}

#[tokio::test]
async fn random_bytes_never_take_the_node_down() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x0d15_c0de);
    for round in 0..40 {
        let mut input = vec![0u8; 1 + (rng.next_u32() % 2048) as usize];
        rng.fill_bytes(&mut input);
        if round % 2 == 0 {
            input[0] = b'*';
        }
        let mut stream = connect(node.addr()).await;
        stream.write_all(&input).await.unwrap();
        // Half-close: whatever the node made of it, EOF must end the session.
        stream.shutdown().await.unwrap();
        read_until_closed(&mut stream).await;
    }
    assert_serving(node.addr()).await;
    node.shutdown().await;
}

async fn start_with(config: Config) -> Node {
    Node::start(config.addr(([127, 0, 0, 1], 0))).await.unwrap()
}

#[tokio::test]
async fn the_query_buffer_cap_closes_the_client() {
    let node = start_with(Config::default().max_query_buffer(64 * 1024)).await;
    let mut stream = connect(node.addr()).await;
    stream
        .write_all(b"*2\r\n$4\r\nPING\r\n$200000\r\n")
        .await
        .unwrap();
    // The node may close while we are still writing: ignore write errors.
    let _ = stream.write_all(&vec![b'x'; 100 * 1024]).await;
    let got = read_until_closed(&mut stream).await;
    assert!(got.is_empty(), "unexpected reply {got:?}");
    assert_serving(node.addr()).await;
    node.shutdown().await;
}

#[tokio::test]
async fn the_bulk_cap_is_a_protocol_error() {
    let node = start_with(Config::default().max_bulk_len(10)).await;
    let mut ok = connect(node.addr()).await;
    ok.write_all(b"*2\r\n$4\r\nPING\r\n$10\r\n0123456789\r\n")
        .await
        .unwrap();
    expect_reply(&mut ok, b"$10\r\n0123456789\r\n").await;
    let got = exchange(node.addr(), b"*2\r\n$4\r\nPING\r\n$11\r\n").await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    node.shutdown().await;
}

#[tokio::test]
async fn the_client_cap_refuses_extra_clients_until_one_leaves() {
    let node = start_with(Config::default().max_clients(2)).await;
    let mut first = connect(node.addr()).await;
    first.write_all(b"PING\r\n").await.unwrap();
    expect_reply(&mut first, b"+PONG\r\n").await;
    let mut second = connect(node.addr()).await;
    second.write_all(b"PING\r\n").await.unwrap();
    expect_reply(&mut second, b"+PONG\r\n").await;

    let mut third = connect(node.addr()).await;
    let got = read_until_closed(&mut third).await;
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR max number of clients reached\r\n"
    );

    // The slot is freed once the node has seen the client go: poll for it.
    drop(first);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut again = connect(node.addr()).await;
        let _ = again.write_all(b"PING\r\n").await;
        let mut reply = [0u8; 7];
        if let Ok(Ok(_)) = tokio::time::timeout(PATIENCE, again.read_exact(&mut reply)).await {
            if &reply == b"+PONG\r\n" {
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the freed slot was never reused"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(second);
    node.shutdown().await;
}

/// Kills the node process this test started when the test ends, pass or fail.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A pattern argument must not cost exponential time. Runs the node binary
/// in its own process, so that a hang fails this test instead of freezing
/// the test process.
#[test]
fn a_pathological_config_pattern_does_not_hang_the_node() {
    use std::io::{BufRead, Read, Write};
    use std::process::{Command, Stdio};

    let child = Command::new(env!("CARGO_BIN_EXE_disque-embedded"))
        .args(["--bind", "127.0.0.1", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut guard = ChildGuard(child);
    let mut line = String::new();
    std::io::BufReader::new(guard.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line.trim().rsplit(' ').next().unwrap().to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let pattern = format!("{}zz", "*".repeat(64));
    let request = format!(
        "*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n${}\r\n{pattern}\r\n",
        pattern.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut reply = [0u8; 4];
    stream
        .read_exact(&mut reply)
        .expect("no reply to CONFIG GET with a 64-star pattern");
    assert_eq!(&reply, b"*0\r\n");
}

/// Extreme numbers in every numeric argument get one reply each (a value or
/// an error), never a dropped connection. Lists every command that failed.
#[tokio::test]
async fn extreme_numeric_arguments_get_a_reply() {
    let node = Node::start_ephemeral().await.unwrap();
    let mut setup = connect(node.addr()).await;
    // Queues and jobs to walk over.
    setup
        .write_all(b"ADDJOB extreme_q a 0\r\nADDJOB extreme_r b 0\r\n")
        .await
        .unwrap();
    let mut failed = Vec::new();
    for value in [
        "-9223372036854775808",
        "9223372036854775807",
        "-1",
        "0",
        "18446744073709551616",
    ] {
        let commands = [
            format!("QSCAN COUNT {value}"),
            format!("JSCAN COUNT {value}"),
            format!("QSCAN {value}"),
            format!("JSCAN {value} BUSYLOOP"),
            format!("QPEEK extreme_q {value}"),
            format!("GETJOB NOHANG COUNT {value} FROM extreme_q"),
            format!("GETJOB NOHANG TIMEOUT {value} FROM extreme_q"),
            format!("ADDJOB extreme_q body {value}"),
            format!("ADDJOB extreme_q body 0 TTL {value}"),
            format!("ADDJOB extreme_q body 0 DELAY {value}"),
            format!("ADDJOB extreme_q body 0 RETRY {value}"),
            format!("ADDJOB extreme_q body 0 MAXLEN {value}"),
            format!("ADDJOB extreme_q body 0 REPLICATE {value}"),
            format!("QSCAN MINLEN {value} MAXLEN {value} IMPORTRATE {value}"),
        ];
        for command in commands {
            // The command, then a PING whose echo marks the end of its reply.
            let mut stream = connect(node.addr()).await;
            stream
                .write_all(format!("{command}\r\nPING end-marker\r\n").as_bytes())
                .await
                .unwrap();
            let mut seen = Vec::new();
            let mut chunk = [0u8; 4096];
            let answered = loop {
                match tokio::time::timeout(PATIENCE, stream.read(&mut chunk)).await {
                    Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&chunk[..n]),
                    _ => break false,
                }
                if seen.ends_with(b"$10\r\nend-marker\r\n") {
                    break seen.len() > 17;
                }
                if seen.len() > 1 << 20 {
                    break false;
                }
            };
            if !answered {
                failed.push(command);
            }
        }
    }
    assert!(
        failed.is_empty(),
        "no reply (connection dropped or hung) to: {failed:#?}"
    );
    node.shutdown().await;
}
