//! Every golden reply through its parser: real replies parse, error replies
//! map to their error variant (never to `Protocol`).

use redis::Value;

use super::*;

/// Which parser reads a command's reply.
#[derive(Debug, Clone, Copy)]
pub(super) enum Parser {
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

#[test]
fn every_golden_reply_parses_and_every_golden_error_keeps_its_meaning() {
    let cases = super::golden_cases::cases();
    assert!(cases.len() > 500, "only {} cases", cases.len());
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
