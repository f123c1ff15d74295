//! `disque-embedded`: run the embedded Disque-compatible node standalone.

use std::net::{IpAddr, SocketAddr};

use clap::Parser;

/// A single-node Disque-compatible server.
#[derive(Debug, Parser)]
#[command(name = "disque-embedded", version, about)]
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
    let mut config = disque_embedded::Config::default()
        .addr(SocketAddr::new(args.bind, args.port))
        .max_clients(args.maxclients)
        .maxmemory(args.maxmemory);
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
        Err(e) => {
            eprintln!(
                "disque-embedded: cannot listen on {}:{}: {e}",
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
