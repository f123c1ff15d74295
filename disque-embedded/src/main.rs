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
    /// Require clients to AUTH with this password.
    #[arg(long)]
    requirepass: Option<String>,
    /// Most clients connected at once.
    #[arg(long, default_value_t = 10_000)]
    maxclients: usize,
    /// Worker threads of the runtime. Commands run one at a time under the
    /// state's lock, so one thread (the default, like Redis and Disque) is
    /// fastest on small machines; more can help with many busy connections.
    #[arg(long, default_value_t = 1)]
    threads: usize,
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
        .max_clients(args.maxclients);
    if let Some(password) = args.requirepass {
        config = config.requirepass(password);
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
