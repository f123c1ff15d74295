//! QSTAT: [`QueueStats`].

use std::time::Duration;

use redis::Value;

use super::{queue_name, secs, strings, unsigned, Fields, PauseState};
use crate::Error;

/// What QSTAT tells about a queue ([`Client::queue_stats`](crate::Client::queue_stats)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStats {
    /// The queue's name.
    pub name: String,
    /// How many jobs are queued.
    pub len: u64,
    /// Since when the queue exists.
    pub age: Duration,
    /// Since when nothing was added or taken.
    pub idle: Duration,
    /// How many clients are blocked on it (GETJOB).
    pub blocked: u64,
    /// Ids of the nodes jobs were recently imported from.
    pub import_from: Vec<String>,
    /// Jobs imported per second.
    pub import_rate: u64,
    /// Jobs queued into it since it exists.
    pub jobs_in: u64,
    /// Jobs taken out of it since it exists.
    pub jobs_out: u64,
    /// Its pause state.
    pub pause: PauseState,
}

impl QueueStats {
    /// Parses a QSTAT reply: `None` for a missing queue (a null array).
    pub(crate) fn from_value(value: Value) -> Result<Option<QueueStats>, Error> {
        if value == Value::Nil {
            return Ok(None);
        }
        let mut f = Fields::new(value, "QSTAT")?;
        Ok(Some(QueueStats {
            name: queue_name(f.take("name")?, &f.label("name"))?,
            len: unsigned(f.take("len")?, &f.label("len"))?,
            age: secs(f.take("age")?, &f.label("age"))?,
            idle: secs(f.take("idle")?, &f.label("idle"))?,
            blocked: unsigned(f.take("blocked")?, &f.label("blocked"))?,
            import_from: strings(f.take("import-from")?, &f.label("import-from"))?,
            import_rate: unsigned(f.take("import-rate")?, &f.label("import-rate"))?,
            jobs_in: unsigned(f.take("jobs-in")?, &f.label("jobs-in"))?,
            jobs_out: unsigned(f.take("jobs-out")?, &f.label("jobs-out"))?,
            pause: PauseState::from_value(f.take("pause")?)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_values::*;
    use super::*;

    /// golden/qstat_fields.json, after PAUSE out (volatile values filled in).
    fn qstat_paused() -> Value {
        arr(vec![
            bulk("name"),
            bulk("qstat_fields"),
            bulk("len"),
            int(2),
            bulk("age"),
            int(3),
            bulk("idle"),
            int(0),
            bulk("blocked"),
            int(0),
            bulk("import-from"),
            arr(vec![]),
            bulk("import-rate"),
            int(0),
            bulk("jobs-in"),
            int(3),
            bulk("jobs-out"),
            int(1),
            bulk("pause"),
            bulk("out"),
        ])
    }

    #[test]
    fn parses_the_golden_qstat() {
        let s = QueueStats::from_value(qstat_paused()).unwrap().unwrap();
        assert_eq!(s.name, "qstat_fields");
        assert_eq!(s.len, 2);
        assert_eq!(s.age, Duration::from_secs(3));
        assert_eq!(s.idle, Duration::ZERO);
        assert_eq!(s.blocked, 0);
        assert!(s.import_from.is_empty());
        assert_eq!(s.import_rate, 0);
        assert_eq!((s.jobs_in, s.jobs_out), (3, 1));
        assert_eq!(s.pause, PauseState::Out);
    }

    #[test]
    fn missing_queue_is_none() {
        // golden/qstat_fields.json: QSTAT of a missing queue -> *-1 (redis: Nil).
        assert_eq!(QueueStats::from_value(Value::Nil).unwrap(), None);
    }

    #[test]
    fn reads_by_key_and_ignores_unknown_keys() {
        let Value::Array(mut items) = qstat_paused() else {
            unreachable!()
        };
        items.swap(0, 18);
        items.swap(1, 19);
        items.extend([bulk("new-field"), int(7)]);
        items[11] = arr(vec![bulk("0f3ac4a3e5b5e9b2b5a1c0dd6f5e33d2b1a0c9e8")]);
        let s = QueueStats::from_value(arr(items)).unwrap().unwrap();
        assert_eq!(s.name, "qstat_fields");
        assert_eq!(s.pause, PauseState::Out);
        assert_eq!(s.import_from.len(), 1);
    }

    #[test]
    fn bad_shapes_are_protocol_errors() {
        let Value::Array(mut items) = qstat_paused() else {
            unreachable!()
        };
        items[3] = int(-1); // len
        for reply in [arr(items), arr(vec![]), int(0), arr(vec![bulk("name")])] {
            assert!(
                matches!(
                    QueueStats::from_value(reply.clone()),
                    Err(Error::Protocol(_))
                ),
                "{reply:?}"
            );
        }
    }

    // Examples that build replies from `redis::Value`s (not public API).
    #[test]
    fn doc_example_1() -> Result<(), crate::Error> {
        use crate::reply::{PauseState, QueueStats};
        use redis::Value;

        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let reply = Value::Array(vec![
            b("name"),
            b("emails"),
            b("len"),
            Value::Int(2),
            b("age"),
            Value::Int(10),
            b("idle"),
            Value::Int(1),
            b("blocked"),
            Value::Int(0),
            b("import-from"),
            Value::Array(vec![]),
            b("import-rate"),
            Value::Int(0),
            b("jobs-in"),
            Value::Int(2),
            b("jobs-out"),
            Value::Int(0),
            b("pause"),
            b("none"),
        ]);
        let stats = QueueStats::from_value(reply)?.expect("the queue exists");
        assert_eq!(
            (stats.name.as_str(), stats.len, stats.pause),
            ("emails", 2, PauseState::None)
        );
        assert_eq!(QueueStats::from_value(Value::Nil)?, None); // no such queue
        Ok(())
    }
}
