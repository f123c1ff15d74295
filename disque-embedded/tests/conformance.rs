//! Conformance: replays the transcripts recorded from the real Disque
//! (`shared/protocol/golden`, tag `single-node`) against an embedded node with
//! `shared/protocol/disque_conformance.py`, and requires every scenario to pass.
//!
//! `shared/` sits beside the checkout (`<repo>/../shared`); `DISQUE_PROTOCOL_DIR`
//! overrides that. Needs `python3` (standard library only).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use disque_embedded::Node;

/// The whole catalogue runs in well under a minute; this only bounds a hang.
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn protocol_dir() -> PathBuf {
    match std::env::var_os("DISQUE_PROTOCOL_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/protocol"),
    }
}

fn report(output: &Output) -> String {
    format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_scenarios_match_the_real_disque() {
    let protocol = protocol_dir();
    let script = protocol.join("disque_conformance.py");
    assert!(
        script.is_file(),
        "conformance harness not found at {} (set DISQUE_PROTOCOL_DIR)",
        script.display()
    );
    match Command::new("python3").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => panic!("python3 is required to run the conformance harness; install it (e.g. apt-get install python3)"),
    }

    let node = Node::start_ephemeral().await.unwrap();
    let child = Command::new("python3")
        .arg(&script)
        .arg("diff")
        .arg("--golden")
        .arg(protocol.join("golden"))
        .arg("--addr")
        .arg(node.addr().to_string())
        .arg("--tag")
        .arg("single-node")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
    let output = match tokio::time::timeout(RUN_LIMIT, waiting).await {
        Ok(joined) => joined.unwrap().unwrap(),
        Err(_) => {
            // Only the harness this test started, by its pid.
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("conformance harness still running after {RUN_LIMIT:?}");
        }
    };
    node.shutdown().await;

    let summary = String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert!(
        output.status.success(),
        "conformance failures ({summary}):\n{}",
        report(&output)
    );
    println!("conformance: {summary}");
}
