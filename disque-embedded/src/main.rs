//! `disque-embedded`: run the embedded Disque-compatible node standalone.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Parser;

use disque_embedded::AppendFsync;

/// What `--help` says after the options.
const PERSISTENCE_HELP: &str = "\
Persistence: by default (--appendonly no) the node keeps its jobs in memory \
only, like Disque: a restart loses them. With --appendonly yes every change \
that matters (ADDJOB with the whole job, ACKJOB/FASTACK/DELJOB, NACK, \
WORKING, ENQUEUE/DEQUEUE, each delivery and its counters) is appended to \
<dir>/<appendfilename> and the file is loaded at start: queued jobs come \
back queued, delivered (active) jobs come back active and are queued again \
once their RETRY passes, acknowledged jobs stay gone, TTLs count from each \
job's creation. A record torn by a crash in the middle of a write is cut off \
(with a log line); a corrupt record before valid ones stops the start with \
an error naming its offset. --appendfsync always answers ADDJOB (and every \
logged write) only once its record is fsynced (clients' records share \
fsyncs: group commit); everysec fsyncs once a second (a crash may lose the \
last second); no leaves it to the OS. BGREWRITEAOF compacts the file \
without blocking clients, and so does the node itself once the file grew by \
--auto-aof-rewrite-percentage since the last rewrite and is over \
--auto-aof-rewrite-min-size bytes. \
\n\nLogs go to stderr, filtered by RUST_LOG (default: info; e.g. \
RUST_LOG=disque_embedded=debug).";

fn yes_no(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err("argument must be 'yes' or 'no'".into()),
    }
}

/// A single-node Disque-compatible server.
#[derive(Debug, Parser)]
#[command(name = "disque-embedded", version, about, after_help = PERSISTENCE_HELP)]
struct Args {
    /// TCP port to listen on.
    #[arg(long, default_value_t = 7711)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Require clients to AUTH with this password. Prefer the
    /// DISQUE_REQUIREPASS environment variable or --requirepass-file: a
    /// command-line argument is visible to every user of the machine.
    #[arg(long, env = "DISQUE_REQUIREPASS", hide_env_values = true)]
    requirepass: Option<String>,
    /// Read the password from this file (its first line).
    #[arg(long, value_name = "PATH", conflicts_with = "requirepass")]
    requirepass_file: Option<std::path::PathBuf>,
    /// Memory limit for jobs and queues, like Disque's (e.g. 512mb, 2gb;
    /// 0 = none). Over 75 % of it ADDJOB is refused with -NOREPL … out of
    /// memory.
    #[arg(long, default_value = "1gb", value_parser = parse_maxmemory)]
    maxmemory: u64,
    /// Most clients connected at once.
    #[arg(long, default_value_t = 10_000)]
    maxclients: usize,
    /// Worker threads of the runtime. Commands run one at a time under the
    /// state's lock, so one thread (the default, like Redis and Disque) is
    /// fastest on small machines; more can help with many busy connections.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Give freed memory back to the OS once the load falls (yes|no; Linux
    /// with glibc only): malloc_trim once the jobs' memory fell under half
    /// of its high point (at least 16 MiB), at most once a second; each
    /// trim pauses the node for milliseconds.
    #[arg(long, default_value = "yes", value_parser = yes_no, value_name = "yes|no", action = clap::ArgAction::Set)]
    trim_memory: bool,
    /// Keep the jobs in an append-only file and load it at start (yes|no).
    #[arg(long, default_value = "no", value_parser = yes_no, value_name = "yes|no", action = clap::ArgAction::Set)]
    appendonly: bool,
    /// When the append-only file is fsynced: always (before each reply),
    /// everysec, or no (left to the OS).
    #[arg(long, default_value = "everysec", value_name = "always|everysec|no")]
    appendfsync: AppendFsync,
    /// Directory of the append-only file.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Name of the append-only file in --dir.
    #[arg(long, default_value = "disque.aof")]
    appendfilename: String,
    /// Rewrite the file once it grew by this many percent since the last
    /// rewrite (0: never).
    #[arg(long, default_value_t = 100)]
    auto_aof_rewrite_percentage: u64,
    /// No automatic rewrite while the file is smaller than this (bytes).
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    auto_aof_rewrite_min_size: u64,
}

fn parse_maxmemory(s: &str) -> Result<u64, String> {
    disque_embedded::parse_memory(s)
        .ok_or_else(|| format!("invalid memory amount '{s}' (e.g. 0, 100mb, 1gb)"))
}

/// The password from `--requirepass`/DISQUE_REQUIREPASS or from the first
/// line of `--requirepass-file`.
fn password(args: &Args) -> Result<Option<String>, String> {
    if let Some(path) = &args.requirepass_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if line.is_empty() {
            return Err(format!("{} holds no password", path.display()));
        }
        return Ok(Some(line.to_owned()));
    }
    Ok(args.requirepass.clone().filter(|p| !p.is_empty()))
}

/// Whether to warn: listening beyond loopback with no password.
fn exposed_without_password(bind: IpAddr, has_password: bool) -> bool {
    !has_password && !bind.is_loopback()
}

async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`; e.g.
/// `RUST_LOG=disque_embedded=debug` shows connections opening and closing).
fn install_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    install_logging();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(args.threads.max(1));
    match builder.enable_all().build() {
        Ok(runtime) => runtime.block_on(run(args)),
        Err(e) => {
            eprintln!("disque-embedded: cannot start the runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> std::process::ExitCode {
    if args.appendfilename.contains(['/', '\\']) {
        eprintln!("disque-embedded: appendfilename can't be a path, just a filename");
        return std::process::ExitCode::FAILURE;
    }
    let mut config = disque_embedded::Config::default()
        .addr(SocketAddr::new(args.bind, args.port))
        .max_clients(args.maxclients)
        .appendonly(args.appendonly)
        .appendfsync(args.appendfsync)
        .dir(args.dir.clone())
        .appendfilename(args.appendfilename.clone())
        .auto_aof_rewrite_percentage(args.auto_aof_rewrite_percentage)
        .auto_aof_rewrite_min_size(args.auto_aof_rewrite_min_size)
        .maxmemory(args.maxmemory)
        .trim_memory(args.trim_memory);
    match password(&args) {
        Ok(Some(password)) => config = config.requirepass(password),
        Ok(None) => {
            if exposed_without_password(args.bind, false) {
                tracing::warn!(
                    bind = %args.bind,
                    "listening beyond loopback without a password: anyone who can reach this port can read and delete jobs; set DISQUE_REQUIREPASS or --requirepass-file"
                );
            }
        }
        Err(e) => {
            eprintln!("disque-embedded: {e}");
            return std::process::ExitCode::FAILURE;
        }
    }
    let node = match disque_embedded::Node::start(config).await {
        Ok(node) => node,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            eprintln!("disque-embedded: cannot load the append-only file: {e}");
            return std::process::ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!(
                "disque-embedded: cannot start on {}:{}: {e}",
                args.bind, args.port
            );
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("disque-embedded ready on {}", node.addr());
    tokio::select! {
        _ = terminated() => {}
        _ = node.stopped() => {}
    }
    node.shutdown().await;
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_non_loopback_bind_without_password_warns() {
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        let lan: IpAddr = "192.168.1.10".parse().unwrap();
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let local6: IpAddr = "::1".parse().unwrap();
        assert!(exposed_without_password(any, false));
        assert!(exposed_without_password(lan, false));
        assert!(!exposed_without_password(any, true));
        assert!(!exposed_without_password(local, false));
        assert!(!exposed_without_password(local6, false));
    }

    #[test]
    fn the_password_file_gives_its_first_line() {
        let dir = std::env::temp_dir().join(format!("disque-pass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pass");
        std::fs::write(&file, "s3cret\r\nignored\n").unwrap();
        let args = Args::parse_from([
            "disque-embedded",
            "--requirepass-file",
            file.to_str().unwrap(),
        ]);
        assert_eq!(password(&args).unwrap().as_deref(), Some("s3cret"));
        std::fs::write(&file, "\n").unwrap();
        assert!(password(&args).unwrap_err().contains("holds no password"));
        let missing =
            Args::parse_from(["disque-embedded", "--requirepass-file", "/nonexistent/pass"]);
        assert!(password(&missing).unwrap_err().contains("cannot read"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
