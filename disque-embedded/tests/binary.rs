//! The `disque-embedded` binary: the password from DISQUE_REQUIREPASS or
//! --requirepass-file, --maxmemory, and --help saying so.

mod resp;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use resp::{Conn, R};

/// A running binary, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(cmd: &mut Command) -> Server {
    let mut child = cmd
        .args(["--port", "0", "--bind", "127.0.0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    Server { child, addr }
}

/// The binary, without a password from the test's own environment.
fn binary() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_disque-embedded"));
    cmd.env_remove("DISQUE_REQUIREPASS");
    cmd
}

async fn needs_password(addr: SocketAddr, password: &str) {
    let mut c = Conn::open(addr).await;
    assert_eq!(
        c.cmd(&["PING"]).await,
        R::Error("NOAUTH Authentication required.".into())
    );
    assert_eq!(c.cmd(&["AUTH", password]).await, R::Status("OK".into()));
    assert_eq!(c.cmd(&["PING"]).await, R::Status("PONG".into()));
}

#[tokio::test]
async fn the_password_comes_from_the_environment() {
    let server = start(binary().env("DISQUE_REQUIREPASS", "from-env"));
    needs_password(server.addr, "from-env").await;
}

#[tokio::test]
async fn the_password_comes_from_a_file() {
    let dir = std::env::temp_dir().join(format!("disque-binary-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("password");
    std::fs::write(&file, "from-file\n").unwrap();
    let server = start(binary().arg("--requirepass-file").arg(&file));
    needs_password(server.addr, "from-file").await;
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_empty_password_file_is_refused_at_start() {
    let dir = std::env::temp_dir().join(format!("disque-binary-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("password");
    std::fs::write(&file, "").unwrap();
    let out = binary()
        .args(["--port", "0", "--requirepass-file"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds no password"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn maxmemory_is_taken_from_the_command_line() {
    let server = start(binary().args(["--maxmemory", "100mb"]));
    let mut c = Conn::open(server.addr).await;
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory"]).await,
        R::Array(vec![R::bulk("maxmemory"), R::bulk("104857600")])
    );
}

#[test]
fn help_names_the_password_sources_and_maxmemory() {
    let out = binary().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in ["DISQUE_REQUIREPASS", "--requirepass-file", "--maxmemory"] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}
