//! Every parser against random and mutated values: errors, never panics.

use redis::Value;

use super::test_values::*;
use super::*;

/// A small deterministic xorshift generator (no dependency, same cases every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A random RESP2 value, nested at most `depth` levels, biased towards
    /// the words and numbers Disque replies contain.
    fn value(&mut self, depth: u32) -> Value {
        const WORDS: [&str; 12] = [
            "0",
            "id",
            "queue",
            "state",
            "nacks",
            "additional-deliveries",
            "in",
            "none",
            "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1",
            "# Jobs\r\nregistered_jobs:1",
            "7711",
            "\u{e9}\u{1F600}",
        ];
        match self.below(if depth == 0 { 6 } else { 8 }) {
            0 => Value::Nil,
            1 => Value::Int(self.next() as i64 >> self.below(64)),
            2 => bulk(WORDS[self.below(WORDS.len() as u64) as usize]),
            3 => status(WORDS[self.below(WORDS.len() as u64) as usize]),
            4 => Value::BulkString((0..self.below(50)).map(|_| self.next() as u8).collect()),
            5 => err("ERR random"),
            _ => {
                let n = self.below(12);
                arr((0..n).map(|_| self.value(depth - 1)).collect())
            }
        }
    }
}

/// Runs every parser on `v` (results ignored: only panics matter).
fn parse_all(v: &Value) {
    let _ = parse_job_id(v.clone());
    let _ = parse_count(v.clone());
    let _ = parse_working(v.clone());
    let _ = JobInfo::from_value(v.clone());
    let _ = QueueStats::from_value(v.clone());
    let _ = PauseState::from_value(v.clone());
    let _ = Info::from_value(v.clone());
    let _ = Hello::from_value(v.clone());
    let _ = parse_getjob(v.clone());
    let _ = parse_qpeek(v.clone());
    let _ = parse_qscan(v.clone());
    let _ = parse_jscan_ids(v.clone());
    let _ = parse_jscan_all(v.clone());
}

#[test]
fn random_values_never_panic_a_parser() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..5_000 {
        parse_all(&rng.value(3));
    }
}

#[test]
fn mutated_golden_replies_never_panic_a_parser() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let Value::Array(show) = show::tests::show_queued() else {
        unreachable!()
    };
    for _ in 0..2_000 {
        let mut items = show.clone();
        for _ in 0..=rng.below(3) {
            let i = rng.below(items.len() as u64) as usize;
            match rng.below(3) {
                0 => items[i] = rng.value(2),
                1 => {
                    items.remove(i);
                }
                _ => {
                    let j = rng.below(items.len() as u64) as usize;
                    items.swap(i, j);
                }
            }
            if items.is_empty() {
                break;
            }
        }
        let reply = arr(items);
        parse_all(&reply);
        parse_all(&arr(vec![bulk("0"), arr(vec![reply.clone()])]));
        parse_all(&arr(vec![reply]));
    }
}

#[test]
fn random_strings_never_panic_job_id_parsing() {
    let mut rng = Rng(0xA076_1D64_78BD_642F);
    let alphabet: Vec<char> = "D-0123456789abcdefXYZ+/\u{e9}\u{1F600}".chars().collect();
    for _ in 0..20_000 {
        let len = 36 + rng.below(8) as usize;
        let s: String = (0..len)
            .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
            .collect();
        if let Ok(id) = crate::JobId::parse(&s) {
            assert_eq!(id.as_str().len(), 40);
            let _ = (id.node_prefix(), id.ttl_minutes(), id.is_at_most_once());
        }
    }
}
