//! Conformance: replays the transcripts recorded from the real Disque 1.0-rc1
//! (`tests/fixtures/golden/*.json`, format and rules in the README there)
//! against an embedded node, and requires every `single-node` scenario to
//! pass. Each scenario's commands are sent again and the replies normalized
//! and compared exactly as the recording harness did; a failure names the
//! scenario, the step's command, and the expected and received replies.
//!
//! Environment (all optional):
//! - `DISQUE_CONFORMANCE_ADDR=host:port`: run the single-node scenarios
//!   against that server instead of an embedded node.
//! - `DISQUE_CONFORMANCE_CLUSTER_ADDR=host:port`: a node of a real Disque
//!   cluster of at least two nodes; the `cluster` scenarios run against it
//!   (they print one `SKIPPED` line otherwise).
//! - `DISQUE_CONFORMANCE_PEER=host:port`: its peer (default: the first other
//!   node its HELLO lists).
//! - `DISQUE_CONFORMANCE_ONLY=glob[,glob…]`: only the scenarios whose name
//!   matches (`*` and `?`), e.g. `addjob_*`.

#[path = "conformance/normalize.rs"]
mod normalize;
#[path = "conformance/replay.rs"]
mod replay;
#[path = "conformance/resp.rs"]
mod resp;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use disque_embedded::Node;
use serde_json::Value;

use replay::Target;

/// The catalogue takes well under a minute; this only bounds a hang.
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden")
}

/// Every transcript, by name.
fn catalogue() -> Vec<Value> {
    let dir = golden_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", p.display()))
        })
        .collect()
}

fn has_tag(golden: &Value, tag: &str) -> bool {
    golden["tags"]
        .as_array()
        .is_some_and(|t| t.iter().any(|x| x == tag))
}

fn name(golden: &Value) -> &str {
    golden["name"].as_str().unwrap_or_default()
}

/// `fnmatch` with `*` and `?`.
fn glob(pattern: &[u8], s: &[u8]) -> bool {
    match (pattern.split_first(), s.split_first()) {
        (None, None) => true,
        (Some((b'*', rest)), _) => glob(rest, s) || (!s.is_empty() && glob(pattern, &s[1..])),
        (Some((b'?', rest)), Some((_, srest))) => glob(rest, srest),
        (Some((p, rest)), Some((c, srest))) => p == c && glob(rest, srest),
        _ => false,
    }
}

fn selected(golden: &Value) -> bool {
    match std::env::var("DISQUE_CONFORMANCE_ONLY") {
        Ok(only) => only
            .split([',', ' '])
            .filter(|p| !p.is_empty())
            .any(|p| glob(p.as_bytes(), name(golden).as_bytes())),
        Err(_) => true,
    }
}

fn target_from_env(var: &str) -> Option<Target> {
    let v = std::env::var(var).ok()?;
    let (host, port) = v.rsplit_once(':')?;
    let port = port
        .parse()
        .unwrap_or_else(|_| panic!("{var}={v}: expected HOST:PORT"));
    Some(Target {
        host: host.to_owned(),
        port,
    })
}

/// Replays every selected scenario with `tag`; returns the failure reports.
fn replay_all(tag: &str, target: &Target, peer: Option<&Target>) -> Vec<String> {
    let t0 = Instant::now();
    let (mut passed, mut skipped) = (0, 0);
    let mut failures = Vec::new();
    let mut dead_streak = 0;
    let mut gave_up: Option<&str> = None;
    for golden in catalogue()
        .iter()
        .filter(|g| has_tag(g, tag) && selected(g))
    {
        let name = name(golden);
        if let Some(why) = gave_up {
            println!("FAIL {name}\n    not run: {why}");
            failures.push(format!("FAIL {name}\n    not run: {why}"));
            continue;
        }
        let outcome = match replay::run(golden, target, peer) {
            Ok(o) => o,
            Err(replay::Skip(why)) => {
                println!("SKIP {name}: {why}");
                skipped += 1;
                continue;
            }
        };
        let error = outcome.error.clone().unwrap_or_default();
        dead_streak = if error.contains("timeout") || error.contains("HELLO") {
            dead_streak + 1
        } else {
            0
        };
        if dead_streak >= 3 {
            gave_up = Some("server unresponsive in 3 consecutive scenarios");
        }
        let diff = replay::compare(golden, &outcome).or_else(|| {
            outcome.error.as_ref().map(|e| {
                vec![format!(
                    "step {}: -\ndifference: scenario error: {e}",
                    outcome.steps.len() + 1
                )]
            })
        });
        match diff {
            None => {
                passed += 1;
                println!("PASS {name}");
            }
            Some(lines) => {
                let report = format!("FAIL {name}\n    {}", lines.join("\n    "));
                println!("{report}");
                failures.push(report);
            }
        }
    }
    if skipped > 0 {
        println!("{skipped} skipped");
    }
    println!("({:.1}s)", t0.elapsed().as_secs_f64());
    println!("{passed} passed, {} failed", failures.len());
    failures
}

async fn replay_bounded(tag: &'static str, target: Target, peer: Option<Target>) -> Vec<String> {
    let run = tokio::task::spawn_blocking(move || replay_all(tag, &target, peer.as_ref()));
    match tokio::time::timeout(RUN_LIMIT, run).await {
        Ok(Ok(failures)) => failures,
        Ok(Err(e)) => panic!("the replay panicked: {e}"),
        Err(_) => panic!("conformance replay still running after {RUN_LIMIT:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_scenarios_match_the_real_disque() {
    let (node, target) = match target_from_env("DISQUE_CONFORMANCE_ADDR") {
        Some(t) => (None, t),
        None => {
            let node = Node::start_ephemeral().await.unwrap();
            let addr = node.addr();
            let target = Target {
                host: addr.ip().to_string(),
                port: addr.port(),
            };
            (Some(node), target)
        }
    };
    let failures = replay_bounded("single-node", target, None).await;
    if let Some(node) = node {
        node.shutdown().await;
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) differ from the real Disque:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_scenarios_match_the_real_disque() {
    let Some(target) = target_from_env("DISQUE_CONFORMANCE_CLUSTER_ADDR") else {
        let n = catalogue().iter().filter(|g| has_tag(g, "cluster")).count();
        println!(
            "SKIPPED {n} cluster conformance scenarios: they need a real Disque cluster \
             (set DISQUE_CONFORMANCE_CLUSTER_ADDR=host:port)"
        );
        return;
    };
    let peer = target_from_env("DISQUE_CONFORMANCE_PEER");
    let failures = replay_bounded("cluster", target, peer).await;
    assert!(
        failures.is_empty(),
        "{} scenario(s) differ from the real Disque:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_transcript_is_single_node_or_cluster_and_every_wait_has_a_condition() {
    let all = catalogue();
    assert_eq!(all.len(), 91, "the recorded catalogue has 91 scenarios");
    for g in &all {
        assert!(
            has_tag(g, "single-node") != has_tag(g, "cluster"),
            "{}: tagged neither or both",
            name(g)
        );
        let waits = g["steps"]
            .as_array()
            .map_or(0, |s| s.iter().filter(|s| s.get("wait").is_some()).count());
        assert_eq!(
            waits,
            replay::waits(name(g)).len(),
            "{}: wait steps without a condition in replay.rs",
            name(g)
        );
    }
    assert_eq!(all.iter().filter(|g| has_tag(g, "single-node")).count(), 74);
}

#[test]
fn the_normalization_helpers_match_their_standards() {
    // FIPS 180-4 test vectors.
    assert_eq!(
        normalize::sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        normalize::sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        normalize::sha256_hex(&[b'a'; 1_000]),
        "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
    );
    // RFC 4648 vectors.
    for (plain, enc) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(normalize::base64_encode(plain.as_bytes()), enc);
        assert_eq!(
            normalize::base64_decode(enc).as_deref(),
            Some(plain.as_bytes())
        );
    }
    // Sorting key of unordered sets: Python's json.dumps(sort_keys=True).
    assert_eq!(
        normalize::canon(&serde_json::json!(["bulk", {"b": 1, "a": "\u{0}é\n"}])),
        r#"["bulk", {"a": "\u0000é\n", "b": 1}]"#
    );
    assert!(glob(b"addjob_*", b"addjob_basic") && !glob(b"addjob_?", b"addjob_basic"));
}
