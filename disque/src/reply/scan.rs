//! QSCAN and JSCAN: [`ScanPage`] — a cursor and one page of items.

use redis::Value;

use super::{array, parse_job_id, queue_name, text, JobInfo};
use crate::{Error, JobId};

/// One page of a QSCAN/JSCAN iteration: the cursor to send next and the
/// items of this page. The iteration is over when the cursor is 0.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct ScanPage<T> {
    /// The cursor to pass to the next call (0: no more pages).
    pub cursor: u64,
    /// The items of this page.
    pub items: Vec<T>,
}

impl<T> ScanPage<T> {
    /// Whether this is the last page (the cursor is back at 0).
    pub(crate) fn is_last(&self) -> bool {
        self.cursor == 0
    }
}

/// Parses a QSCAN page: queue names.
pub(crate) fn parse_qscan(value: Value) -> Result<ScanPage<String>, Error> {
    page(value, "QSCAN", |v| {
        queue_name(v, "QSCAN queue name").map(Some)
    })
}

/// Parses a JSCAN page with `REPLY id` (the default): job ids, which Disque
/// sends as status replies.
pub(crate) fn parse_jscan_ids(value: Value) -> Result<ScanPage<JobId>, Error> {
    page(value, "JSCAN", |v| parse_job_id(v).map(Some))
}

/// Parses a JSCAN page with `REPLY all`: one SHOW-like entry per job (null
/// entries, jobs gone meanwhile, are skipped).
pub(crate) fn parse_jscan_all(value: Value) -> Result<ScanPage<JobInfo>, Error> {
    page(value, "JSCAN", JobInfo::from_value)
}

/// Parses `[cursor, [items…]]`, keeping the items `item` returns `Some` for.
fn page<T>(
    value: Value,
    what: &str,
    item: impl Fn(Value) -> Result<Option<T>, Error>,
) -> Result<ScanPage<T>, Error> {
    let reply = array(value, &format!("{what} reply [cursor, items]"))?;
    let n = reply.len();
    let Ok([cursor, items]) = <[Value; 2]>::try_from(reply) else {
        return Err(Error::Protocol(format!(
            "{what}: expected [cursor, items], got an array of {n}"
        )));
    };
    let cursor_text = text(cursor, &format!("{what} cursor"))?;
    let cursor = cursor_text
        .parse()
        .map_err(|_| Error::Protocol(format!("{what}: cursor {cursor_text:?} is not a number")))?;
    let mut out = Vec::new();
    for v in array(items, &format!("{what} items"))? {
        if let Some(x) = item(v)? {
            out.push(x);
        }
    }
    Ok(ScanPage { cursor, items: out })
}

#[cfg(test)]
mod tests {
    use super::super::show::tests::{show_queued, J1};
    use super::super::test_values::*;
    use super::*;

    const J2: &str = "D-dcb833cf-9ZL1NT17e9+wsA/09NqxscQI-05a1";

    #[test]
    fn parses_the_golden_qscan() {
        // golden/qscan_basic.json: cursor as a bulk string, names as bulk strings.
        let reply = arr(vec![
            bulk("0"),
            arr(vec![
                bulk("qscan_basic:a"),
                bulk("qscan_basic:b"),
                bulk("qscan_basic:c"),
            ]),
        ]);
        let page = parse_qscan(reply).unwrap();
        assert!(page.is_last());
        assert_eq!(
            page.items,
            ["qscan_basic:a", "qscan_basic:b", "qscan_basic:c"]
        );
    }

    #[test]
    fn keeps_a_nonzero_cursor() {
        let page = parse_qscan(arr(vec![bulk("4611686018427387904"), arr(vec![])])).unwrap();
        assert_eq!(page.cursor, 1 << 62);
        assert!(!page.is_last());
    }

    #[test]
    fn parses_the_golden_jscan_ids_as_status_replies() {
        // golden/jscan_basic.json.
        let reply = arr(vec![bulk("0"), arr(vec![status(J1), status(J2)])]);
        let page = parse_jscan_ids(reply).unwrap();
        let ids: Vec<&str> = page.items.iter().map(JobId::as_str).collect();
        assert_eq!(ids, [J1, J2]);
    }

    #[test]
    fn parses_jscan_reply_all_entries_as_show() {
        // golden/cluster_addjob_default_replicate.json: JSCAN REPLY all.
        let reply = arr(vec![bulk("0"), arr(vec![show_queued(), Value::Nil])]);
        let page = parse_jscan_all(reply).unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].id.as_str(), J1);
        assert_eq!(page.items[0].body.as_deref(), Some(&b"show me"[..]));
    }

    #[test]
    fn bad_shapes_are_protocol_errors() {
        for reply in [
            int(0),
            arr(vec![bulk("0")]),
            arr(vec![bulk("x"), arr(vec![])]),
            arr(vec![bulk("-1"), arr(vec![])]),
            arr(vec![bulk("0"), bulk("q")]),
            arr(vec![bulk("0"), arr(vec![int(1)])]),
        ] {
            assert!(
                matches!(parse_qscan(reply.clone()), Err(Error::Protocol(_))),
                "{reply:?}"
            );
        }
        assert!(matches!(
            parse_jscan_ids(arr(vec![bulk("0"), arr(vec![status("D-nope")])])),
            Err(Error::Protocol(_))
        ));
    }

    // Examples that build replies from `redis::Value`s (not public API).
    #[test]
    fn doc_example_1() -> Result<(), crate::Error> {
        use redis::Value;
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let page = crate::reply::parse_qscan(Value::Array(vec![
            b("0"),
            Value::Array(vec![b("emails"), b("reports")]),
        ]))?;
        assert!(page.is_last());
        assert_eq!(page.items, ["emails", "reports"]);
        Ok(())
    }

    #[test]
    fn doc_example_2() -> Result<(), crate::Error> {
        use redis::Value;
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let page = crate::reply::parse_qscan(Value::Array(vec![b("17"), Value::Array(vec![])]))?;
        assert!(!page.is_last());
        assert_eq!(page.cursor, 17);
        Ok(())
    }

    #[test]
    fn doc_example_3() -> Result<(), crate::Error> {
        use redis::Value;
        let page = crate::reply::parse_qscan(Value::Array(vec![
            Value::BulkString(b"0".to_vec()),
            Value::Array(vec![]),
        ]))?;
        assert!(page.items.is_empty());
        Ok(())
    }

    #[test]
    fn doc_example_4() -> Result<(), crate::Error> {
        use redis::Value;
        let page = crate::reply::parse_jscan_ids(Value::Array(vec![
            Value::BulkString(b"0".to_vec()),
            Value::Array(vec![Value::SimpleString(
                "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1".into(),
            )]),
        ]))?;
        assert_eq!(page.items[0].node_prefix(), "dcb833cf");
        Ok(())
    }

    #[test]
    fn doc_example_5() -> Result<(), crate::Error> {
        use redis::Value;
        let page = crate::reply::parse_jscan_all(Value::Array(vec![
            Value::BulkString(b"0".to_vec()),
            Value::Array(vec![Value::Nil]),
        ]))?;
        assert!(page.items.is_empty());
        Ok(())
    }
}
