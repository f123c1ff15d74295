//! Replays the lone-node CLUSTER / leaving transcripts recorded from a real
//! Disque 1.0-rc1 (tests/fixtures/recorded/, see the README there) against an
//! embedded node, one fresh node per transcript, and compares every reply
//! after the recording's normalization: node id → `$N1`, its port →
//! `$PORT1` (also inside a CLUSTER NODES text), job ids → `$J1`, `$J2`… in
//! order of appearance, INFO values kept only for the semantic keys.

mod resp;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use disque_embedded::Node;
use resp::{Conn, R};
use serde_json::{json, Value};

/// INFO keys whose values the recording kept (the rest are typed markers).
const INFO_KEEP: &[&str] = &[
    "registered_jobs",
    "registered_queues",
    "blocked_clients",
    "loading",
];

/// One transcript being replayed: placeholders learned so far.
struct Replay {
    node_id: String,
    port: String,
    jobs: Vec<String>,
}

impl Replay {
    /// A recorded argument made concrete.
    fn resolve(&self, arg: &str) -> String {
        if arg == "$N1" {
            return self.node_id.clone();
        }
        if let Some(n) = arg.strip_prefix("$J").and_then(|n| n.parse::<usize>().ok()) {
            return self.jobs[n - 1].clone();
        }
        arg.to_owned()
    }

    fn job_ph(&mut self, id: &str) -> String {
        let n = match self.jobs.iter().position(|j| j == id) {
            Some(i) => i + 1,
            None => {
                self.jobs.push(id.to_owned());
                self.jobs.len()
            }
        };
        format!("$J{n}")
    }

    fn text(&mut self, s: &str) -> String {
        if s == self.node_id {
            "$N1".into()
        } else if s.len() == 40 && s.starts_with("D-") {
            self.job_ph(s)
        } else {
            s.to_owned()
        }
    }

    fn generic(&mut self, r: &R) -> Value {
        match r {
            R::Status(s) => json!(["status", self.text(s)]),
            R::Error(s) => json!(["error", s]),
            R::Int(n) => json!(["int", n]),
            R::Bulk(b) => json!(["bulk", self.text(&String::from_utf8_lossy(b))]),
            R::Nil => json!(["nil"]),
            R::NilArray => json!(["nilarray"]),
            R::Array(v) => json!([
                "array",
                v.iter().map(|x| self.generic(x)).collect::<Vec<_>>()
            ]),
        }
    }

    fn hello(&mut self, r: &R) -> Value {
        let mut v = self.generic(r);
        if let Some(items) = v[1].as_array_mut() {
            for entry in items.iter_mut().skip(2) {
                if entry[1][2][1] == json!(self.port) {
                    entry[1][2][1] = json!("$PORT1");
                }
            }
        }
        v
    }

    fn info(r: &R) -> Value {
        let R::Bulk(b) = r else {
            return json!(["not-a-bulk", format!("{r:?}")]);
        };
        let mut sections: Vec<Value> = Vec::new();
        for line in String::from_utf8_lossy(b)
            .split("\r\n")
            .filter(|l| !l.is_empty())
        {
            if let Some(name) = line.strip_prefix("# ") {
                sections.push(json!([name, []]));
                continue;
            }
            let (key, val) = line.split_once(':').unwrap_or((line, "<no-colon>"));
            let val = if INFO_KEEP.contains(&key) {
                val.to_owned()
            } else if val.parse::<i64>().is_ok() {
                "<int>".to_owned()
            } else if val.parse::<f64>().is_ok() {
                "<float>".to_owned()
            } else {
                "<str>".to_owned()
            };
            if let Some(section) = sections.last_mut() {
                section[1].as_array_mut().unwrap().push(json!([key, val]));
            }
        }
        json!(["bulk", {"info": sections}])
    }

    /// Normalizes the reply to `cmd` like the recording harness did.
    fn reply(&mut self, cmd: &[String], r: &R) -> Value {
        if matches!(r, R::Error(_)) {
            return self.generic(r);
        }
        let name = cmd[0].to_ascii_uppercase();
        let sub = cmd.get(1).map(|s| s.to_ascii_uppercase());
        match (name.as_str(), sub.as_deref(), r) {
            ("HELLO", _, _) => self.hello(r),
            ("INFO", _, _) => Self::info(r),
            ("CLUSTER", Some("NODES"), R::Bulk(b)) => {
                let text = String::from_utf8_lossy(b)
                    .replace(&self.node_id, "$N1")
                    .replace(&format!(":{} ", self.port), ":$PORT1 ");
                json!(["bulk", text])
            }
            _ => self.generic(r),
        }
    }
}

fn args_of(v: &Value, replay: &Replay) -> Vec<String> {
    v.as_array()
        .expect("a command is an array")
        .iter()
        .map(|a| replay.resolve(a.as_str().expect("string arguments only")))
        .collect()
}

async fn cmd(conn: &mut Conn, args: &[String]) -> R {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tokio::time::timeout(Duration::from_secs(10), conn.cmd(&args))
        .await
        .expect("a reply within 10 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_node_answers_cluster_and_leaving_like_the_recorded_disque() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recorded");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    assert_eq!(paths.len(), 4, "transcripts in {}", dir.display());
    let mut replayed = 0;
    for path in paths {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let transcript: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let node = Node::start_ephemeral().await.unwrap();
        let mut replay = Replay {
            node_id: node.node_id(),
            port: node.addr().port().to_string(),
            jobs: Vec::new(),
        };
        let mut conns: HashMap<String, Conn> = HashMap::new();
        let mut pending: HashMap<String, (Vec<String>, Instant)> = HashMap::new();
        for (i, step) in transcript["steps"].as_array().unwrap().iter().enumerate() {
            let label = format!("{name} step {}", i + 1);
            let conn_name = step["conn"].as_str().unwrap_or("A").to_owned();
            if !conns.contains_key(&conn_name) {
                conns.insert(conn_name.clone(), Conn::open(node.addr()).await);
            }
            let conn = conns.get_mut(&conn_name).unwrap();
            if !step["cmd"].is_null() {
                let args = args_of(&step["cmd"], &replay);
                let got = cmd(conn, &args).await;
                assert_eq!(
                    replay.reply(&args, &got),
                    step["reply"],
                    "{label}: {args:?}"
                );
            } else if !step["send"].is_null() {
                let args = args_of(&step["send"], &replay);
                let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
                conn.send_bytes(&refs).await;
                pending.insert(conn_name, (args, Instant::now()));
            } else if !step["recv"].is_null() {
                let (args, sent) = pending.remove(&conn_name).expect("a send before recv");
                let got = tokio::time::timeout(Duration::from_secs(10), conn.read())
                    .await
                    .expect("a reply within 10 s");
                let elapsed = sent.elapsed().as_secs_f64();
                assert_eq!(
                    replay.reply(&args, &got),
                    step["reply"],
                    "{label}: {args:?}"
                );
                if let Some(range) = step["elapsed_range"].as_array() {
                    let (lo, hi) = (range[0].as_f64().unwrap(), range[1].as_f64().unwrap());
                    assert_eq!(
                        (lo..=hi).contains(&elapsed),
                        step["elapsed_ok"] == json!(true),
                        "{label}: replied after {elapsed:.3} s, recorded range {lo}-{hi}"
                    );
                }
            } else if !step["wait"].is_null() {
                // Polled until the recorded final reply (bounded: 5 s).
                let args = args_of(&step["wait"], &replay);
                let deadline = Instant::now() + Duration::from_secs(5);
                loop {
                    let got = cmd(conn, &args).await;
                    let norm = replay.reply(&args, &got);
                    if norm == step["reply"] {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "{label}: never got {}",
                        step["reply"]
                    );
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            } else {
                panic!("{label}: step kind not replayed here: {step}");
            }
            replayed += 1;
        }
        node.shutdown().await;
    }
    assert_eq!(replayed, 67, "steps replayed");
}
