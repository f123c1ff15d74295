//! PAUSE: [`PauseState`].

use std::{fmt, str::FromStr};

use redis::Value;

use super::text;
use crate::Error;

/// Whether a queue is paused, for input (ADDJOB refused with `-PAUSED`),
/// output (GETJOB waits) or both. PAUSE replies with it (`+in`…), QSTAT
/// reports it, and it is the argument of PAUSE (see [`PauseState::as_arg`]).
///
/// ```
/// use disque::PauseState;
///
/// assert_eq!("all".parse::<PauseState>()?, PauseState::All);
/// assert_eq!(PauseState::In.as_arg(), "in");
/// assert!(PauseState::All.pauses_input() && PauseState::All.pauses_output());
/// # Ok::<(), disque::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PauseState {
    /// Not paused.
    #[default]
    None,
    /// Paused for input: ADDJOB is refused.
    In,
    /// Paused for output: GETJOB gets nothing from it.
    Out,
    /// Paused both ways.
    All,
}

impl PauseState {
    /// The word Disque uses: `none`, `in`, `out` or `all`.
    ///
    /// ```
    /// assert_eq!(disque::PauseState::None.as_arg(), "none");
    /// ```
    pub const fn as_arg(self) -> &'static str {
        match self {
            PauseState::None => "none",
            PauseState::In => "in",
            PauseState::Out => "out",
            PauseState::All => "all",
        }
    }

    /// Whether ADDJOB is refused.
    ///
    /// ```
    /// assert!(disque::PauseState::In.pauses_input());
    /// ```
    pub const fn pauses_input(self) -> bool {
        matches!(self, PauseState::In | PauseState::All)
    }

    /// Whether GETJOB gets nothing.
    ///
    /// ```
    /// assert!(!disque::PauseState::In.pauses_output());
    /// ```
    pub const fn pauses_output(self) -> bool {
        matches!(self, PauseState::Out | PauseState::All)
    }

    /// Parses PAUSE's status reply (`+in`…) or QSTAT's `pause` field.
    pub(crate) fn from_value(value: Value) -> Result<PauseState, Error> {
        let word = text(value, "pause state")?;
        word.parse()
            .map_err(|_| Error::Protocol(format!("expected a pause state, got {word:?}")))
    }
}

impl FromStr for PauseState {
    type Err = Error;

    /// `none`, `in`, `out` or `all`, in any case; anything else is
    /// [`Error::InvalidOptions`].
    fn from_str(s: &str) -> Result<PauseState, Error> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(PauseState::None),
            "in" => Ok(PauseState::In),
            "out" => Ok(PauseState::Out),
            "all" => Ok(PauseState::All),
            _ => Err(Error::InvalidOptions(format!(
                "{s:?} is not a pause state (none, in, out, all)"
            ))),
        }
    }
}

impl fmt::Display for PauseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_arg())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_values::*;
    use super::*;

    #[test]
    fn parses_the_golden_pause_replies() {
        // golden/pause_errors.json and qstat_fields.json: status from PAUSE, bulk in QSTAT.
        assert_eq!(
            PauseState::from_value(status("in")).unwrap(),
            PauseState::In
        );
        assert_eq!(
            PauseState::from_value(status("out")).unwrap(),
            PauseState::Out
        );
        assert_eq!(
            PauseState::from_value(status("all")).unwrap(),
            PauseState::All
        );
        assert_eq!(
            PauseState::from_value(bulk("none")).unwrap(),
            PauseState::None
        );
    }

    #[test]
    fn refuses_other_words_and_shapes() {
        assert!(matches!(
            PauseState::from_value(status("both")),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(
            PauseState::from_value(int(1)),
            Err(Error::Protocol(_))
        ));
        assert!(matches!(
            PauseState::from_value(err("ERR syntax error")),
            Err(Error::Server(_))
        ));
    }

    #[test]
    fn every_state_round_trips() {
        for s in [
            PauseState::None,
            PauseState::In,
            PauseState::Out,
            PauseState::All,
        ] {
            assert_eq!(s.as_arg().parse::<PauseState>().unwrap(), s);
            assert_eq!(s.to_string(), s.as_arg());
        }
        assert_eq!("OUT".parse::<PauseState>().unwrap(), PauseState::Out);
        assert!(matches!(
            "x".parse::<PauseState>(),
            Err(Error::InvalidOptions(_))
        ));
    }

    // Examples that build replies from `redis::Value`s (not public API).
    #[test]
    fn doc_example_1() -> Result<(), crate::Error> {
        use crate::reply::PauseState;
        use redis::Value;

        assert_eq!(
            PauseState::from_value(Value::SimpleString("in".into()))?,
            PauseState::In
        );
        Ok(())
    }
}
