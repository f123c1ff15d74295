//! The dead-letter envelope: what a job moved aside by `dead_letter` looks
//! like in its dead-letter queue. Imports nothing of the crate.

use std::fmt::Write as _;

/// The suffix of a dead-letter queue: jobs moved aside from queue `q` go to
/// `q.dead` (and from `q.dead`, to `q.dead.dead`).
pub(crate) const DEAD_LETTER_SUFFIX: &str = ".dead";

const MAGIC_LINE: &str = "DQDEAD 1\n";

/// A job moved to a dead-letter queue, with why and where it came from.
///
/// `Delivery::dead_letter` (and `DecodeFailure::dead_letter`) add a job to
/// `<queue>.dead` whose body is this envelope, then acknowledge the
/// original. The envelope is text up to a blank line, then the original
/// body byte for byte (typed payload header included), so it reads well in
/// `SHOW`/`QPEEK` and any language can take it apart:
///
/// ```text
/// DQDEAD 1\n
/// queue: <original queue>\n
/// id: <original job id>\n
/// nacks: <n>\n
/// additional-deliveries: <n>\n
/// reason: <reason>\n
/// \n
/// <original body>
/// ```
///
/// In the values `\` is written `\\`, a line feed `\n` and a carriage
/// return `\r`; nothing else is escaped.
///
/// ```
/// use disque::DeadLetter;
///
/// let letter = DeadLetter {
///     queue: "images".into(),
///     id: "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1".into(),
///     reason: "cannot decode:\nbad header".into(),
///     nacks: 0,
///     additional_deliveries: 4,
///     body: b"\x00raw".to_vec(),
/// };
/// let bytes = letter.to_bytes();
/// assert!(bytes.starts_with(b"DQDEAD 1\nqueue: images\n"));
/// assert_eq!(DeadLetter::parse(&bytes), Some(letter));
/// assert_eq!(DeadLetter::queue_for("images"), "images.dead");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The queue the job was taken from.
    pub queue: String,
    /// The original job's id (it no longer exists: it was acknowledged).
    pub id: String,
    /// Why it was moved aside.
    pub reason: String,
    /// Its NACK count when it was moved.
    pub nacks: u64,
    /// Its additional-deliveries count when it was moved.
    pub additional_deliveries: u64,
    /// The original body, unchanged.
    pub body: Vec<u8>,
}

impl DeadLetter {
    /// The dead-letter queue of `queue`: `queue` + `.dead`.
    pub fn queue_for(queue: &str) -> String {
        format!("{queue}{DEAD_LETTER_SUFFIX}")
    }

    /// The envelope's bytes (the body of the dead-letter job).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = String::from(MAGIC_LINE);
        let mut line = |key: &str, value: &str| {
            let _ = writeln!(head, "{key}: {}", escape(value));
        };
        line("queue", &self.queue);
        line("id", &self.id);
        line("nacks", &self.nacks.to_string());
        line(
            "additional-deliveries",
            &self.additional_deliveries.to_string(),
        );
        line("reason", &self.reason);
        head.push('\n');
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    /// Takes an envelope apart; `None` if `bytes` is not one (a job a
    /// producer put in a `.dead` queue by hand, say).
    ///
    /// ```
    /// assert_eq!(disque::DeadLetter::parse(b"plain body"), None);
    /// ```
    pub fn parse(bytes: &[u8]) -> Option<DeadLetter> {
        let rest = bytes.strip_prefix(MAGIC_LINE.as_bytes())?;
        let end = rest.windows(2).position(|w| w == b"\n\n")?;
        let head = std::str::from_utf8(&rest[..end + 1]).ok()?;
        let body = rest[end + 2..].to_vec();
        let mut letter = DeadLetter {
            queue: String::new(),
            id: String::new(),
            reason: String::new(),
            nacks: 0,
            additional_deliveries: 0,
            body,
        };
        let mut seen = 0u8;
        for line in head.lines() {
            let (key, value) = line.split_once(": ")?;
            let value = unescape(value)?;
            let bit = match key {
                "queue" => {
                    letter.queue = value;
                    1
                }
                "id" => {
                    letter.id = value;
                    2
                }
                "nacks" => {
                    letter.nacks = value.parse().ok()?;
                    4
                }
                "additional-deliveries" => {
                    letter.additional_deliveries = value.parse().ok()?;
                    8
                }
                "reason" => {
                    letter.reason = value;
                    16
                }
                // Keys of later minor versions are skipped.
                _ => 0,
            };
            seen |= bit;
        }
        (seen == 31).then_some(letter)
    }
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next()? {
                '\\' => out.push('\\'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(reason: &str, body: &[u8]) -> DeadLetter {
        DeadLetter {
            queue: "q\nx\\y".into(),
            id: "D-x".into(),
            reason: reason.into(),
            nacks: 3,
            additional_deliveries: u64::MAX,
            body: body.to_vec(),
        }
    }

    #[test]
    fn round_trips_awkward_values_and_bodies() {
        for (reason, body) in [
            ("", &b""[..]),
            ("a\r\n\\n", b"\n\n\n"),
            ("é ✓", b"DQDEAD 1\n\n"),
        ] {
            let l = letter(reason, body);
            assert_eq!(DeadLetter::parse(&l.to_bytes()), Some(l));
        }
    }

    #[test]
    fn refuses_what_is_not_an_envelope() {
        let good = letter("r", b"b").to_bytes();
        assert_eq!(DeadLetter::parse(b""), None);
        assert_eq!(DeadLetter::parse(&good[..20]), None);
        let text = String::from_utf8(good.clone()).unwrap();
        let no_nacks = text.replace("nacks: 3\n", "");
        assert_eq!(DeadLetter::parse(no_nacks.as_bytes()), None);
        let bad_escape = text.replace("reason: r", "reason: \\q");
        assert_eq!(DeadLetter::parse(bad_escape.as_bytes()), None);
        let extra_key = text.replace("reason: r\n", "reason: r\nlater: 1\n");
        assert_eq!(
            DeadLetter::parse(extra_key.as_bytes()),
            Some(letter("r", b"b"))
        );
    }
}
