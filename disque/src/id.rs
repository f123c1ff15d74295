//! Job ids. (STUB: owned by the replies/options engineer; to be completed.)

/// A Disque job id (`D-<node8>-<24 base64>-<ttl4>`, 40 chars).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobId(String);

impl JobId {
    /// Validates `s` as a job id.
    pub fn parse(s: &str) -> Result<JobId, crate::Error> {
        if s.len() == 40 && s.starts_with("D-") {
            Ok(JobId(s.to_owned()))
        } else {
            Err(crate::Error::BadId(s.to_owned()))
        }
    }
    /// The id as sent to Disque.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
