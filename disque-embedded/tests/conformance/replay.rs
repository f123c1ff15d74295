//! Replays one golden transcript against a server and compares the new
//! transcript with it, step by step, with the recording harness's rules.
//!
//! A transcript holds the commands and the replies; three things of a
//! scenario are not in it and are kept here, per scenario: what a `wait`
//! step polls for (and for how long), longer per-reply timeouts, and the
//! 1 MiB body of `big_payload` (recorded as length + SHA-256 only).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::normalize::{base64_decode, canon, enc_bytes, loose_id, sha256_hex, Normalizer};
use super::resp::{encode_command, Conn, Reply};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_TIMEOUTS_PER_SCENARIO: u32 = 2;
const WAIT_INTERVAL: Duration = Duration::from_millis(50);
const SCAN_MAX_ITER: usize = 500;

/// What a `wait` step polls for.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    Int(i64),
    Nil,
    NotNil,
    Status(&'static str),
    Field(&'static str, i64),
}

impl Until {
    fn holds(self, r: &Reply) -> bool {
        match self {
            Until::Int(n) => *r == Reply::Int(n),
            Until::Nil => matches!(r, Reply::Nil | Reply::NilArray),
            Until::NotNil => !matches!(
                r,
                Reply::Nil | Reply::NilArray | Reply::Error(_) | Reply::Timeout | Reply::Closed
            ),
            Until::Status(s) => *r == Reply::Status(s.as_bytes().to_vec()),
            Until::Field(name, n) => r
                .kv()
                .into_iter()
                .find(|(k, _)| k == name)
                .is_some_and(|(_, v)| *v == Reply::Int(n)),
        }
    }
}

/// The `wait` steps of a scenario, in order: condition and time limit.
pub fn waits(scenario: &str) -> &'static [(Until, f64)] {
    match scenario {
        "getjob_blocking_served" | "getjob_blocked_multi_queue" | "pause_out_unblocks" => {
            &[(Until::Field("blocked", 1), 5.0)]
        }
        "delay_expiry" => &[(Until::Int(1), 4.0)],
        "ttl_expiry" => &[(Until::Nil, 5.0)],
        "retry_requeue" => &[(Until::Int(1), 5.0)],
        "cluster_async_replicate" => &[(Until::NotNil, 3.0)],
        "cluster_ackjob_gc" | "cluster_ackjob_on_replica" => {
            &[(Until::Nil, 3.0), (Until::Nil, 3.0)]
        }
        "cluster_dummy_ack" | "cluster_fastack" => &[(Until::Nil, 3.0)],
        "cluster_nack_propagates" => &[(Until::Field("nacks", 1), 3.0)],
        "cluster_pause_bcast" => &[(Until::Status("in"), 3.0), (Until::Status("none"), 3.0)],
        _ => &[],
    }
}

/// Per-reply timeout of a `cmd` step, when longer than the default.
fn cmd_timeout(scenario: &str, cmd: &[Vec<u8>]) -> Duration {
    match (scenario, cmd.first().map(Vec::as_slice)) {
        ("big_payload", _) => Duration::from_secs(20),
        ("cluster_federation", Some(b"GETJOB")) => Duration::from_secs(8),
        _ => DEFAULT_TIMEOUT,
    }
}

/// The body `big_payload` sends, recorded as `{"len", "sha256"}`: the bytes
/// 0..=255 repeated.
fn big_argument(len: usize, sha256: &str) -> Result<Vec<u8>, String> {
    let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
    if sha256_hex(&data) == sha256 {
        Ok(data)
    } else {
        Err(format!(
            "cannot rebuild a {len}-byte argument with SHA-256 {sha256}"
        ))
    }
}

/// Where a scenario runs.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

/// A scenario that could not run at all (e.g. a cluster scenario on a node
/// without peers).
pub struct Skip(pub String);

/// One scenario's run: the new transcript, built like the recording.
struct Run<'a> {
    name: &'a str,
    cluster: bool,
    addrs: HashMap<char, Target>,
    forced_peer: Option<Target>,
    norm: Normalizer,
    steps: Vec<Value>,
    conns: HashMap<String, Conn>,
    pending: HashMap<String, VecDeque<Vec<Vec<u8>>>>,
    timeouts: u32,
    waits_done: usize,
}

/// Why a run stopped early (the rest of its steps are then missing).
struct Abort(String);

impl<'a> Run<'a> {
    fn conn(&mut self, c: &str) -> Result<&mut Conn, Abort> {
        let fresh = self.conns.get(c).is_none_or(|co| co.broken);
        if fresh {
            let node = c.chars().next().unwrap_or('A');
            let t = self
                .addrs
                .get(&node)
                .ok_or_else(|| Abort(format!("no address for connection {c}")))?
                .clone();
            let co = Conn::open(&t.host, t.port).map_err(Abort)?;
            self.conns.insert(c.to_owned(), co);
            self.pending.insert(c.to_owned(), VecDeque::new());
        }
        self.conns
            .get_mut(c)
            .ok_or_else(|| Abort(format!("connection {c} vanished")))
    }

    fn check_abort(&self) -> Result<(), Abort> {
        if self.timeouts >= MAX_TIMEOUTS_PER_SCENARIO {
            return Err(Abort(format!(
                "{} reply timeouts, scenario aborted",
                self.timeouts
            )));
        }
        Ok(())
    }

    fn count(&mut self, r: &Reply) {
        if *r == Reply::Timeout {
            self.timeouts += 1;
        }
    }

    fn read(&mut self, c: &str, timeout: Duration) -> Result<Reply, Abort> {
        let r = self.conn(c)?.read_reply(timeout);
        self.count(&r);
        Ok(r)
    }

    fn send(&mut self, c: &str, data: &[u8]) -> Result<Option<Reply>, Abort> {
        let co = self.conn(c)?;
        match co.send_all(data) {
            Ok(()) => Ok(None),
            Err(r) => {
                co.broken = true;
                self.count(&r);
                Ok(Some(r))
            }
        }
    }

    fn call(&mut self, c: &str, raw: &[Vec<u8>], timeout: Duration) -> Result<Reply, Abort> {
        match self.send(c, &encode_command(raw))? {
            Some(err) => Ok(err),
            None => self.read(c, timeout),
        }
    }

    fn push(&mut self, mut step: Map<String, Value>, c: &str) {
        if c != "A" {
            step.insert("conn".into(), json!(c));
        }
        self.steps.push(Value::Object(step));
    }

    /// A recorded command argument back to bytes.
    fn resolve(&mut self, arg: &Value) -> Result<Vec<u8>, Abort> {
        match arg {
            Value::String(s) => {
                if let Some(raw) = self.norm.jobs_rev.get(s).or(self.norm.nodes_rev.get(s)) {
                    return Ok(raw.clone());
                }
                let b = s.as_bytes().to_vec();
                if loose_id(&b) {
                    self.norm.constants.insert(b.clone());
                }
                Ok(b)
            }
            Value::Object(o) => {
                if let Some(b64) = o.get("b64").and_then(Value::as_str) {
                    return base64_decode(b64)
                        .ok_or_else(|| Abort(format!("bad base64 argument {b64:?}")));
                }
                match (
                    o.get("len").and_then(Value::as_u64),
                    o.get("sha256").and_then(Value::as_str),
                ) {
                    (Some(len), Some(sha)) => big_argument(len as usize, sha).map_err(Abort),
                    _ => Err(Abort(format!("unknown argument form {arg}"))),
                }
            }
            Value::Number(n) => Ok(n.to_string().into_bytes()),
            other => Err(Abort(format!("unknown argument form {other}"))),
        }
    }

    fn resolve_all(&mut self, args: Option<&Value>) -> Result<Vec<Vec<u8>>, Abort> {
        let Some(Value::Array(args)) = args else {
            return Err(Abort("step without a command".into()));
        };
        args.iter().map(|a| self.resolve(a)).collect()
    }

    fn setup(&mut self) -> Result<(), Result<Abort, Skip>> {
        let a = self.addrs[&'A'].clone();
        let mut co = Conn::open(&a.host, a.port).map_err(|e| Ok(Abort(e)))?;
        let hello = read_after(&mut co, &[b"HELLO".to_vec()]);
        if let Reply::ProtocolError(m) = &hello {
            return Err(Ok(Abort(format!(
                "no usable reply to HELLO during setup ({m})"
            ))));
        }
        let mut entries: Vec<[Vec<u8>; 4]> = Vec::new();
        let mut others = Vec::new();
        if let Reply::Array(items) = &hello {
            if let (true, Some(Reply::Bulk(myid))) = (items.len() >= 2, items.get(1)) {
                self.norm
                    .add_node(myid, Some(a.port.to_string().as_bytes()));
                for e in &items[2..] {
                    if let Reply::Array(xs) = e {
                        if let [Reply::Bulk(i), Reply::Bulk(ip), Reply::Bulk(p), Reply::Bulk(pr)] =
                            xs.as_slice()
                        {
                            entries.push([i.clone(), ip.clone(), p.clone(), pr.clone()]);
                        }
                    }
                }
                others = entries.iter().filter(|e| e[0] != *myid).cloned().collect();
                others.sort_by(|x, y| (&x[2], &x[0]).cmp(&(&y[2], &y[0])));
            }
        }
        if self.cluster {
            let (peer, mut pid) = if let Some(p) = self.forced_peer.clone() {
                let port = p.port.to_string().into_bytes();
                // The last entry with that port, as the recording harness.
                let pid = others
                    .iter()
                    .rev()
                    .find(|e| e[2] == port)
                    .map(|e| e[0].clone());
                (p, pid)
            } else if let Some(e) = others.first() {
                let host = match String::from_utf8_lossy(&e[1]).into_owned() {
                    h if h.is_empty() => a.host.clone(),
                    h => h,
                };
                let port = String::from_utf8_lossy(&e[2])
                    .parse()
                    .map_err(|_| Ok(Abort(format!("bad peer port {:?}", e[2]))))?;
                (Target { host, port }, Some(e[0].clone()))
            } else {
                return Err(Err(Skip(format!(
                    "cluster scenario but {}:{} has no peer in HELLO",
                    a.host, a.port
                ))));
            };
            self.addrs.insert('B', peer.clone());
            if pid.is_none() {
                let mut pco = Conn::open(&peer.host, peer.port).map_err(|e| Ok(Abort(e)))?;
                if let Reply::Array(items) = read_after(&mut pco, &[b"HELLO".to_vec()]) {
                    if let (true, Some(Reply::Bulk(id))) = (items.len() >= 2, items.get(1)) {
                        pid = Some(id.clone());
                    }
                }
            }
            if let Some(pid) = pid {
                self.norm
                    .add_node(&pid, Some(peer.port.to_string().as_bytes()));
            }
        } else if entries.len() > 1 {
            return Err(Err(Skip(format!(
                "single-node scenario but {}:{} is part of a {}-node cluster",
                a.host,
                a.port,
                entries.len()
            ))));
        }
        let mut nodes: Vec<char> = self.addrs.keys().copied().collect();
        nodes.sort();
        for node in nodes {
            let flush = [b"DEBUG".to_vec(), b"FLUSHALL".to_vec()];
            if node == 'A' {
                read_after(&mut co, &flush);
            } else {
                let t = self.addrs[&node].clone();
                let mut fco = Conn::open(&t.host, t.port).map_err(|e| Ok(Abort(e)))?;
                read_after(&mut fco, &flush);
            }
        }
        Ok(())
    }

    fn step(&mut self, step: &Value) -> Result<(), Abort> {
        let c = step
            .get("conn")
            .and_then(Value::as_str)
            .unwrap_or("A")
            .to_owned();
        let mask: Vec<String> = step
            .get("mask")
            .and_then(Value::as_array)
            .map(|m| {
                m.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let elapsed = step
            .get("elapsed_range")
            .and_then(|r| Some((r.get(0)?.as_f64()?, r.get(1)?.as_f64()?, r.clone())));
        if step.get("cmd").is_some() {
            self.check_abort()?;
            let raw = self.resolve_all(step.get("cmd"))?;
            let t0 = Instant::now();
            let r = self.call(&c, &raw, cmd_timeout(self.name, &raw))?;
            let dt = t0.elapsed().as_secs_f64();
            let mut s = Map::new();
            s.insert("cmd".into(), self.norm.norm_cmd(&raw));
            if !mask.is_empty() {
                s.insert("mask".into(), json!(mask));
            }
            let mut reply = self.norm.reply(&raw, &r, &mask);
            if step.get("sorted") == Some(&Value::Bool(true)) {
                s.insert("sorted".into(), json!(true));
                if reply[0] == "array" {
                    if let Some(items) = reply[1].as_array_mut() {
                        items.sort_by_cached_key(canon);
                    }
                }
            }
            s.insert("reply".into(), reply);
            if let Some((lo, hi, range)) = elapsed {
                s.insert("elapsed_range".into(), range);
                s.insert("elapsed_ok".into(), json!(lo <= dt && dt <= hi));
            }
            self.push(s, &c);
        } else if let Some(Value::Array(cmds)) = step.get("pipeline") {
            self.check_abort()?;
            let mut raws = Vec::new();
            for p in cmds {
                raws.push(self.resolve_all(p.get("cmd"))?);
            }
            let data: Vec<u8> = raws.iter().flat_map(|r| encode_command(r)).collect();
            let mut err = self.send(&c, &data)?;
            let mut replies = Vec::new();
            for _ in &raws {
                let r = match &err {
                    Some(e) => e.clone(),
                    None => self.read(&c, DEFAULT_TIMEOUT)?,
                };
                if r.is_harness_outcome() {
                    err = Some(r.clone());
                }
                replies.push(r);
            }
            let norm: Vec<Value> = raws
                .iter()
                .zip(&replies)
                .map(|(raw, r)| json!({"cmd": self.norm.norm_cmd(raw), "reply": self.norm.reply(raw, r, &mask)}))
                .collect();
            let mut s = Map::new();
            s.insert("pipeline".into(), Value::Array(norm));
            if !mask.is_empty() {
                s.insert("mask".into(), json!(mask));
            }
            self.push(s, &c);
        } else if step.get("send").is_some() {
            self.check_abort()?;
            let raw = self.resolve_all(step.get("send"))?;
            let err = self.send(&c, &encode_command(&raw))?;
            let mut s = Map::new();
            s.insert("send".into(), self.norm.norm_cmd(&raw));
            match err {
                Some(e) => {
                    let kind = self.norm.generic(&e, false)[0].clone();
                    s.insert("send_error".into(), kind);
                }
                None => self.pending.entry(c.clone()).or_default().push_back(raw),
            }
            self.push(s, &c);
        } else if step.get("recv").is_some() {
            self.check_abort()?;
            self.conn(&c)?;
            let raw = self
                .pending
                .get_mut(&c)
                .and_then(VecDeque::pop_front)
                .unwrap_or_default();
            let t0 = Instant::now();
            let r = self.read(&c, DEFAULT_TIMEOUT)?;
            let dt = t0.elapsed().as_secs_f64();
            let mut s = Map::new();
            s.insert("recv".into(), self.norm.norm_cmd(&raw));
            s.insert("reply".into(), self.norm.reply(&raw, &r, &[]));
            if let Some((lo, hi, range)) = elapsed {
                s.insert("elapsed_range".into(), range);
                s.insert("elapsed_ok".into(), json!(lo <= dt && dt <= hi));
            }
            self.push(s, &c);
        } else if let Some(data) = step.get("raw") {
            self.check_abort()?;
            let data = self.resolve(data)?;
            let n = step
                .get("replies")
                .and_then(Value::as_array)
                .map_or(1, Vec::len);
            let mut err = self.send(&c, &data)?;
            let mut out = Vec::new();
            for _ in 0..n {
                let r = match &err {
                    Some(e) => e.clone(),
                    None => self.read(&c, DEFAULT_TIMEOUT)?,
                };
                if r.is_harness_outcome() {
                    err = Some(r.clone());
                }
                out.push(self.norm.generic(&r, false));
            }
            let mut s = Map::new();
            s.insert("raw".into(), enc_bytes(&data));
            s.insert("replies".into(), Value::Array(out));
            self.push(s, &c);
        } else if let Some(secs) = step.get("sleep") {
            std::thread::sleep(Duration::from_secs_f64(secs.as_f64().unwrap_or(0.0)));
            self.steps.push(json!({"sleep": secs}));
        } else if step.get("wait").is_some() {
            self.check_abort()?;
            let raw = self.resolve_all(step.get("wait"))?;
            let Some(&(until, limit)) = waits(self.name).get(self.waits_done) else {
                return Err(Abort(format!(
                    "wait step #{} has no condition in replay.rs `waits`",
                    self.waits_done + 1
                )));
            };
            self.waits_done += 1;
            let deadline = Instant::now() + Duration::from_secs_f64(limit);
            let (r, ok) = loop {
                let r = self.call(&c, &raw, DEFAULT_TIMEOUT)?;
                let ok = until.holds(&r);
                if ok || Instant::now() >= deadline || matches!(r, Reply::Timeout | Reply::Closed) {
                    break (r, ok);
                }
                std::thread::sleep(WAIT_INTERVAL);
            };
            let mut s = Map::new();
            s.insert("wait".into(), self.norm.norm_cmd(&raw));
            s.insert("reply".into(), self.norm.reply(&raw, &r, &[]));
            s.insert("satisfied".into(), json!(ok));
            self.push(s, &c);
        } else if step.get("scan_all").is_some() {
            self.check_abort()?;
            let raw = self.resolve_all(step.get("scan_all"))?;
            let (mut cursor, mut items, mut it, mut bad) = (b"0".to_vec(), Vec::new(), 0, None);
            loop {
                let mut args = vec![raw[0].clone(), cursor.clone()];
                args.extend_from_slice(&raw[1..]);
                let r = self.call(&c, &args, DEFAULT_TIMEOUT)?;
                it += 1;
                match r {
                    Reply::Array(xs) if xs.len() == 2 => match (&xs[0], &xs[1]) {
                        (Reply::Bulk(cur), Reply::Array(list)) => {
                            cursor = cur.clone();
                            items.extend(list.iter().cloned());
                        }
                        _ => {
                            bad = Some(Reply::Array(xs));
                            break;
                        }
                    },
                    other => {
                        bad = Some(other);
                        break;
                    }
                }
                if cursor == b"0" || it >= SCAN_MAX_ITER {
                    break;
                }
            }
            let complete = bad.is_none() && cursor == b"0";
            let whole = bad.unwrap_or(Reply::Array(vec![Reply::Bulk(cursor), Reply::Array(items)]));
            let mut s = Map::new();
            s.insert("scan_all".into(), self.norm.norm_cmd(&raw));
            s.insert("reply".into(), self.norm.reply(&raw, &whole, &[]));
            s.insert("complete".into(), json!(complete));
            self.push(s, &c);
        } else {
            return Err(Abort(format!("unknown step {step}")));
        }
        Ok(())
    }
}

fn read_after(co: &mut Conn, raw: &[Vec<u8>]) -> Reply {
    if let Err(r) = co.send_all(&encode_command(raw)) {
        return Reply::ProtocolError(format!("setup: {r:?}"));
    }
    match co.read_reply(DEFAULT_TIMEOUT) {
        r @ (Reply::Timeout | Reply::Closed | Reply::ProtocolError(_)) => {
            Reply::ProtocolError(format!("setup: {r:?}"))
        }
        r => r,
    }
}

/// The result of replaying one scenario.
pub struct Outcome {
    pub steps: Vec<Value>,
    pub ids: Map<String, Value>,
    pub error: Option<String>,
}

/// Replays `golden` against `target` (and its peer for cluster scenarios).
pub fn run(golden: &Value, target: &Target, peer: Option<&Target>) -> Result<Outcome, Skip> {
    let name = golden["name"].as_str().unwrap_or_default();
    let cluster = golden["tags"]
        .as_array()
        .is_some_and(|t| t.iter().any(|x| x == "cluster"));
    let mut run = Run {
        name,
        cluster,
        addrs: HashMap::from([('A', target.clone())]),
        forced_peer: peer.cloned(),
        norm: Normalizer::default(),
        steps: Vec::new(),
        conns: HashMap::new(),
        pending: HashMap::new(),
        timeouts: 0,
        waits_done: 0,
    };
    let mut error = None;
    match run.setup() {
        Err(Err(skip)) => return Err(skip),
        Err(Ok(Abort(e))) => error = Some(e),
        Ok(()) => {
            let steps = golden["steps"].as_array().cloned().unwrap_or_default();
            for step in &steps {
                if let Err(Abort(e)) = run.step(step) {
                    error = Some(e);
                    break;
                }
            }
        }
    }
    Ok(Outcome {
        steps: run.steps,
        ids: run.norm.id_meta,
        error,
    })
}

// ---------------------------------------------------------------- compare

/// Two normalized values agree: tolerant numbers within the larger
/// tolerance, everything else exactly.
pub fn matches(exp: &Value, got: &Value) -> bool {
    match (exp, got) {
        (Value::Object(e), _) if e.contains_key("approx") => match got {
            Value::Object(g) if g.contains_key("approx") => {
                let (Some(a), Some(b)) = (e["approx"].as_f64(), g["approx"].as_f64()) else {
                    return false;
                };
                let tol =
                    |m: &Map<String, Value>| m.get("tol").and_then(Value::as_f64).unwrap_or(0.0);
                (a - b).abs() <= tol(e).max(tol(g))
            }
            _ => false,
        },
        (Value::Array(e), Value::Array(g)) => {
            e.len() == g.len() && e.iter().zip(g).all(|(a, b)| matches(a, b))
        }
        (Value::Array(_), _) => false,
        (Value::Object(e), Value::Object(g)) => {
            e.len() == g.len()
                && e.iter()
                    .all(|(k, v)| g.get(k).is_some_and(|w| matches(v, w)))
        }
        (Value::Object(_), _) => false,
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => a.as_f64() == b.as_f64(),
        },
        _ => exp == got,
    }
}

fn first_diff(exp: &Value, got: &Value, path: &mut Vec<usize>) -> bool {
    if matches(exp, got) {
        return false;
    }
    if let (Some(e), Some(g)) = (exp.as_array(), got.as_array()) {
        if !e.is_empty()
            && !g.is_empty()
            && e[0] == g[0]
            && e[0] == "array"
            && e.len() == 2
            && g.len() == 2
        {
            if let (Some(a), Some(b)) = (e[1].as_array(), g[1].as_array()) {
                if a.len() == b.len() {
                    for (i, (x, y)) in a.iter().zip(b).enumerate() {
                        path.push(i);
                        if first_diff(x, y, path) {
                            return true;
                        }
                        path.pop();
                    }
                }
            }
        }
    }
    true
}

fn at_path<'v>(mut v: &'v Value, path: &[usize]) -> Option<&'v Value> {
    for &i in path {
        v = v.get(1)?.get(i)?;
    }
    Some(v)
}

/// A normalized reply as a human reads it.
pub fn render(v: &Value) -> String {
    let s = render_inner(v);
    if s.chars().count() <= 600 {
        s
    } else {
        let head: String = s.chars().take(600).collect();
        format!("{head}...({} chars)", s.chars().count())
    }
}

fn render_inner(v: &Value) -> String {
    let Some(items) = v.as_array().filter(|a| !a.is_empty()) else {
        return v.to_string();
    };
    let x = items.get(1).unwrap_or(&Value::Null);
    match items[0].as_str().unwrap_or_default() {
        "int" => match x {
            Value::Object(o) => format!(
                "(integer) ~{}+-{}",
                o.get("approx").unwrap_or(&Value::Null),
                o.get("tol").unwrap_or(&Value::Null)
            ),
            Value::String(s) => format!("(integer) {s}"),
            other => format!("(integer) {other}"),
        },
        "status" => match x {
            Value::String(s) => format!("+{s}"),
            other => format!("+{other}"),
        },
        "error" => format!(
            "(error) {}",
            x.as_str().map_or_else(|| x.to_string(), String::from)
        ),
        "bulk" => x.to_string(),
        "nil" => "(nil)".into(),
        "nilarray" => "(nil-array)".into(),
        "array" => {
            let inner: Vec<String> = x
                .as_array()
                .map(|a| a.iter().map(render_inner).collect())
                .unwrap_or_default();
            format!("[{}]", inner.join(", "))
        }
        "masked" => "<masked>".into(),
        "timeout" => "(no reply: timeout)".into(),
        "closed" => "(connection closed)".into(),
        _ => v.to_string(),
    }
}

fn words(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), String::from))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// How a failure message names a step.
fn step_label(step: &Value) -> String {
    for key in ["cmd", "send", "recv", "wait", "scan_all"] {
        if let Some(args) = step.get(key) {
            let prefix = if key == "cmd" {
                String::new()
            } else {
                key.to_uppercase()
            };
            let mut label = format!("{prefix} {}", words(args)).trim().to_owned();
            if let Some(c) = step.get("conn").and_then(Value::as_str) {
                label.push_str(&format!("   (conn {c})"));
            }
            return label;
        }
    }
    if let Some(p) = step.get("pipeline").and_then(Value::as_array) {
        let cmds: Vec<String> = p.iter().map(|x| words(&x["cmd"])).collect();
        return format!("PIPELINE {}", cmds.join(" ; "));
    }
    if let Some(raw) = step.get("raw") {
        return format!("RAW {raw}");
    }
    if let Some(s) = step.get("sleep") {
        return format!("SLEEP {s}");
    }
    step.to_string()
}

const OUTCOME_KEYS: [&str; 5] = ["reply", "replies", "satisfied", "elapsed_ok", "complete"];

/// Everything of a step except what the server answered.
fn step_shape(step: &Value) -> Value {
    let mut s = step.as_object().cloned().unwrap_or_default();
    for k in OUTCOME_KEYS {
        s.remove(k);
    }
    if let Some(Value::Array(p)) = s.get("pipeline").cloned() {
        s.insert(
            "pipeline".into(),
            Value::Array(p.iter().map(|x| x["cmd"].clone()).collect()),
        );
    }
    Value::Object(s)
}

fn step_outcome(step: &Value) -> Map<String, Value> {
    let mut o = Map::new();
    for k in OUTCOME_KEYS {
        if let Some(v) = step.get(k) {
            o.insert(k.into(), v.clone());
        }
    }
    if let Some(p) = step.get("pipeline").and_then(Value::as_array) {
        o.insert(
            "replies".into(),
            Value::Array(p.iter().map(|x| x["reply"].clone()).collect()),
        );
    }
    o
}

/// The first difference between the golden transcript and a run, as the
/// lines of a failure report; `None` when they agree.
pub fn compare(golden: &Value, got: &Outcome) -> Option<Vec<String>> {
    let empty = Vec::new();
    let gs = golden["steps"].as_array().unwrap_or(&empty);
    let ns = &got.steps;
    let total = gs.len();
    for i in 0..gs.len().max(ns.len()) {
        let n = i + 1;
        let head = |label: String| format!("step {n}/{total}: {label}");
        let (Some(g), Some(s)) = (gs.get(i), ns.get(i)) else {
            if i >= gs.len() {
                return Some(vec![
                    head(step_label(&ns[i])),
                    format!("difference: extra step (golden has only {total})"),
                ]);
            }
            let why = got
                .error
                .as_ref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            return Some(vec![
                head(step_label(&gs[i])),
                format!(
                    "difference: missing step (run stopped after {} steps{why})",
                    ns.len()
                ),
            ]);
        };
        if step_shape(g) != step_shape(s) {
            return Some(vec![
                head(step_label(g)),
                "difference: command differs from golden (scenario changed? re-record)".into(),
                format!("expected:   {}", step_shape(g)),
                format!("got:        {}", step_shape(s)),
            ]);
        }
        let (go, no) = (step_outcome(g), step_outcome(s));
        if let Some(exp) = go.get("reply") {
            let got_reply = no.get("reply").unwrap_or(&Value::Null);
            if !matches(exp, got_reply) {
                let mut lines = vec![
                    head(step_label(g)),
                    format!("expected:   {}", render(exp)),
                    format!("got:        {}", render(got_reply)),
                ];
                let mut path = Vec::new();
                first_diff(exp, got_reply, &mut path);
                if !path.is_empty() {
                    let at: String = path.iter().map(|p| format!("[{p}]")).collect();
                    let show = |v: &Value| at_path(v, &path).map_or("null".into(), render);
                    lines.push(format!("at:         {at}"));
                    lines.push(format!("expected{at}: {}", show(exp)));
                    lines.push(format!("got{at}:      {}", show(got_reply)));
                }
                return Some(lines);
            }
        }
        if let Some(Value::Array(exp)) = go.get("replies") {
            let got_replies = no
                .get("replies")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (j, (a, b)) in exp.iter().zip(&got_replies).enumerate() {
                if !matches(a, b) {
                    return Some(vec![
                        head(step_label(g)),
                        format!("at:         reply #{}", j + 1),
                        format!("expected:   {}", render(a)),
                        format!("got:        {}", render(b)),
                    ]);
                }
            }
            if exp.len() != got_replies.len() {
                return Some(vec![
                    head(step_label(g)),
                    "difference: number of replies differs".into(),
                ]);
            }
        }
        for k in ["satisfied", "elapsed_ok", "complete"] {
            if let Some(exp) = go.get(k) {
                if no.get(k) != Some(exp) {
                    return Some(vec![
                        head(step_label(g)),
                        format!("difference: {k}"),
                        format!("expected:   {exp}"),
                        format!("got:        {}", no.get(k).unwrap_or(&Value::Null)),
                    ]);
                }
            }
        }
    }
    let gi = golden["ids"].as_object().cloned().unwrap_or_default();
    let ni = &got.ids;
    let mut phs: Vec<&String> = gi.keys().chain(ni.keys()).collect();
    phs.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
    phs.dedup();
    for ph in phs {
        if gi.get(ph) != ni.get(ph) {
            return Some(vec![
                format!("step ids: job id {ph} properties"),
                format!("expected:   {}", gi.get(ph).unwrap_or(&Value::Null)),
                format!("got:        {}", ni.get(ph).unwrap_or(&Value::Null)),
            ]);
        }
    }
    None
}
