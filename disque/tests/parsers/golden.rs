//! Every golden reply through its parser: real replies parse, error replies
//! map to their error variant (never to `Protocol`).
//!
//! A `#[cfg(test)]` child of `reply` (the parsers are crate-private), kept
//! out of `src/`. The replies are read at test time from the transcripts
//! recorded from the real Disque (`disque-embedded/tests/fixtures/golden`,
//! the one copy in the repository) and turned into `redis::Value`s: IDs,
//! node IDs and ports filled in, volatile numbers replaced by samples.

use std::path::PathBuf;

use redis::Value;
use serde_json::Value as Json;

use super::test_values::*;
use super::*;

/// Which parser reads a command's reply.
#[derive(Debug, Clone, Copy)]
enum Parser {
    Show,
    Qstat,
    GetJob,
    Qpeek,
    Hello,
    Qscan,
    JScanIds,
    JScanAll,
    Pause,
    Info,
    JobId,
    Working,
    Count,
}

impl Parser {
    /// The parser of `cmd`'s reply, if it has a typed one.
    fn of(cmd: &[String]) -> Option<Parser> {
        let name = cmd.first()?.to_ascii_uppercase();
        Some(match name.as_str() {
            "JSCAN" => {
                let words: Vec<String> = cmd.iter().map(|c| c.to_ascii_lowercase()).collect();
                match words.iter().position(|w| w == "reply") {
                    Some(i) if words.get(i + 1).map(String::as_str) == Some("all") => {
                        Parser::JScanAll
                    }
                    _ => Parser::JScanIds,
                }
            }
            "SHOW" => Parser::Show,
            "QSTAT" => Parser::Qstat,
            "GETJOB" => Parser::GetJob,
            "QPEEK" => Parser::Qpeek,
            "HELLO" => Parser::Hello,
            "QSCAN" => Parser::Qscan,
            "PAUSE" => Parser::Pause,
            "INFO" => Parser::Info,
            "ADDJOB" => Parser::JobId,
            "WORKING" => Parser::Working,
            "ACKJOB" | "FASTACK" | "NACK" | "ENQUEUE" | "DEQUEUE" | "DELJOB" | "QLEN" => {
                Parser::Count
            }
            _ => return None,
        })
    }

    /// Parses `value`, keeping only whether it worked.
    fn run(self, value: Value) -> Result<(), Error> {
        match self {
            Parser::Show => JobInfo::from_value(value).map(drop),
            Parser::Qstat => QueueStats::from_value(value).map(drop),
            Parser::GetJob => parse_getjob(value).map(drop),
            Parser::Qpeek => parse_qpeek(value).map(drop),
            Parser::Hello => Hello::from_value(value).map(drop),
            Parser::Qscan => parse_qscan(value).map(drop),
            Parser::JScanIds => parse_jscan_ids(value).map(drop),
            Parser::JScanAll => parse_jscan_all(value).map(drop),
            Parser::Pause => PauseState::from_value(value).map(drop),
            Parser::Info => Info::from_value(value).map(drop),
            Parser::JobId => parse_job_id(value).map(drop),
            Parser::Working => parse_working(value).map(drop),
            Parser::Count => parse_count(value).map(drop),
        }
    }
}

const ALNUM: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const NODE_1: &str = "dcb833cfd6c5ad00e55ea0b5e5fc8bf3fcdd5c9a";
const NODE_2: &str = "0f3ac4a3e5b5e9b2b5a1c0dd6f5e33d2b1a0c9e8";

/// A well-formed job ID standing for the placeholder `$J<n>` (`$J*`: 0).
fn job_id(n: usize) -> String {
    let rnd: String = (0..24).map(|i| ALNUM[(n * 7 + i) % 64] as char).collect();
    format!("D-dcb833cf-{rnd}-05a1")
}

/// Fills the placeholders of a recorded string in.
fn subst(s: &str) -> String {
    match s {
        "$N1" => return NODE_1.into(),
        "$N2" => return NODE_2.into(),
        "$PORT1" => return "7811".into(),
        "$PORT2" => return "7812".into(),
        _ => {}
    }
    // Every `$J<digits>` or `$J*`, wherever it is.
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("$J") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 2..];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str(&job_id(tail[..digits].parse().unwrap_or(0)));
            rest = &tail[digits..];
        } else if let Some(after) = tail.strip_prefix('*') {
            out.push_str(&job_id(0));
            rest = after;
        } else {
            out.push_str("$J");
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// The text of an INFO reply from its recorded sections.
fn info_text(sections: &[Json]) -> String {
    let mut out = Vec::new();
    for section in sections {
        out.push(format!("# {}", section[0].as_str().unwrap_or_default()));
        for entry in section[1].as_array().into_iter().flatten() {
            let value = match entry[1].as_str().unwrap_or_default() {
                "<int>" => "1".to_owned(),
                "<float>" => "1.50".to_owned(),
                "<str>" => "x".to_owned(),
                other => subst(other),
            };
            out.push(format!("{}:{value}", entry[0].as_str().unwrap_or_default()));
        }
        out.push(String::new());
    }
    out.join("\r\n")
}

fn b64(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.trim_end_matches('=').bytes() {
        let v = ALNUM
            .iter()
            .position(|&x| x == c)
            .expect("base64 in a fixture") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// The reply a normalized one stands for; `None` for what the harness
/// recorded instead of a reply (timeout, closed, protocol error).
fn value(r: &Json) -> Option<Value> {
    let x = &r[1];
    Some(match r[0].as_str()? {
        "status" => status(&subst(x.as_str()?)),
        "bulk" => match x {
            Json::String(s) => bulk(&subst(s)),
            Json::Object(o) if o.contains_key("b64") => Value::BulkString(b64(o["b64"].as_str()?)),
            Json::Object(o) if o.contains_key("len") => {
                Value::BulkString(vec![b'x'; o["len"].as_u64()? as usize])
            }
            Json::Object(o) if o.contains_key("info") => bulk(&info_text(o["info"].as_array()?)),
            _ => panic!("unknown bulk form {x}"),
        },
        "int" => int(match x {
            Json::Object(o) => o["approx"].as_i64()?,
            Json::String(s) if s == "<volatile>" => 12345,
            n => n.as_i64()?,
        }),
        "nil" | "nilarray" => Value::Nil,
        "masked" => int(0),
        "array" => arr(x.as_array()?.iter().map(value).collect::<Option<_>>()?),
        "error" => err(x.as_str()?),
        _ => return None,
    })
}

/// `(command, reply)` of every step, pipelines flattened.
fn pairs(step: &Json, out: &mut Vec<(Json, Json)>) {
    if let Some(p) = step.get("pipeline").and_then(Json::as_array) {
        for s in p {
            pairs(s, out);
        }
        return;
    }
    for key in ["cmd", "wait", "scan_all", "recv"] {
        if let (Some(cmd), Some(reply)) = (step.get(key), step.get("reply")) {
            out.push((cmd.clone(), reply.clone()));
        }
    }
}

/// `(golden file, command, parser, reply, is an error reply)`.
fn cases() -> Vec<(String, String, Parser, Value, bool)> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../disque-embedded/tests/fixtures/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("a readable fixture");
        let golden: Json = serde_json::from_str(&text).expect("a JSON fixture");
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned());
        let mut steps = Vec::new();
        for step in golden["steps"].as_array().into_iter().flatten() {
            pairs(step, &mut steps);
        }
        for (cmd, reply) in steps {
            let Some(args) = cmd.as_array() else { continue };
            if !args.first().is_some_and(Json::is_string) {
                continue;
            }
            let words: Vec<String> = args
                .iter()
                .map(|c| c.as_str().map_or("<bin>".into(), String::from))
                .collect();
            let (Some(parser), Some(v)) = (Parser::of(&words), value(&reply)) else {
                continue;
            };
            let label: String = words.join(" ").chars().take(80).collect();
            let is_error = reply[0] == "error";
            cases.push((file.clone().unwrap_or_default(), label, parser, v, is_error));
        }
    }
    cases
}

#[test]
fn every_golden_reply_parses_and_every_golden_error_keeps_its_meaning() {
    let cases = cases();
    // As many as the generated table this replaces held.
    assert_eq!(
        cases.len(),
        551,
        "replies with a typed parser in the transcripts"
    );
    let mut failures = Vec::new();
    for (file, cmd, parser, value, is_error) in cases {
        match (parser.run(value), is_error) {
            (Ok(()), false) => {}
            (Err(Error::Protocol(m)), _) => failures.push(format!("{file}: {cmd}: {m}")),
            (Err(_), true) => {}
            (Ok(()), true) => {
                failures.push(format!("{file}: {cmd}: error reply parsed as a value"))
            }
            (Err(e), false) => failures.push(format!("{file}: {cmd}: {e:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
