//! Replays the transcripts recorded from a real Disque 1.0-rc1 in
//! tests/fixtures/noderest/ (CLIENT, SLOWLOG, LATENCY, maxmemory) against an
//! embedded node, one fresh node per transcript, and compares every reply.

mod resp;

use disque_embedded::Node;
use resp::{Conn, R};
use serde_json::Value;

/// A reply in the transcripts' normalized form; job ids become `$J`.
fn normalize(r: &R) -> Value {
    let id_like = |s: &str| s.len() == 40 && s.starts_with("D-");
    match r {
        R::Status(s) if id_like(s) => serde_json::json!(["status", "$J"]),
        R::Status(s) => serde_json::json!(["status", s]),
        R::Error(s) => serde_json::json!(["error", s]),
        R::Int(n) => serde_json::json!(["int", n]),
        R::Bulk(b) => serde_json::json!(["bulk", String::from_utf8_lossy(b)]),
        R::Nil => serde_json::json!(["nil"]),
        R::NilArray => serde_json::json!(["nilarray"]),
        R::Array(v) => Value::Array(vec![
            "array".into(),
            Value::Array(v.iter().map(normalize).collect()),
        ]),
    }
}

/// The recorded reply with numbered job ids (`$J1`…) made plain `$J`.
fn expected(v: &Value) -> Value {
    match v {
        Value::String(s) if s.starts_with("$J") => Value::String("$J".into()),
        Value::Array(items) => Value::Array(items.iter().map(expected).collect()),
        other => other.clone(),
    }
}

#[tokio::test]
async fn the_embedded_node_answers_like_the_recorded_disque() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/noderest");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    assert!(names.len() >= 7, "transcripts in {}", dir.display());
    let mut steps = 0;
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        let transcript: Value = serde_json::from_str(&text).unwrap();
        let node = Node::start_ephemeral().await.unwrap();
        let mut c = Conn::open(node.addr()).await;
        for step in transcript["steps"].as_array().unwrap() {
            let args: Vec<&str> = step["cmd"]
                .as_array()
                .unwrap_or_else(|| panic!("{}: only cmd steps here", path.display()))
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            let got = normalize(&c.cmd(&args).await);
            assert_eq!(
                got,
                expected(&step["reply"]),
                "{}: {args:?}",
                path.file_name().unwrap().to_string_lossy()
            );
            steps += 1;
        }
        node.shutdown().await;
    }
    assert!(steps >= 60, "{steps} steps replayed");
}
