//! Job ids: [`JobId`], validated on the client before anything is sent.

use std::{fmt, str::FromStr, sync::Arc};

use crate::Error;

/// Length of every Disque job id.
const LEN: usize = 40;
/// Byte offsets of the three `-` separators after the `D` tag.
const DASHES: [usize; 3] = [1, 10, 35];
/// Byte range of the node prefix (8 hex chars).
const NODE: std::ops::Range<usize> = 2..10;
/// Byte range of the random part (24 base64 chars).
const RANDOM: std::ops::Range<usize> = 11..35;
/// Byte range of the TTL field (4 hex chars).
const TTL: std::ops::Range<usize> = 36..40;

/// A Disque job id: `D-` + 8 hex chars of the node id + `-` + 24 base64 chars
/// + `-` + 4 hex chars of the TTL in minutes (40 chars in all).
///
/// Built only by [`JobId::parse`] (or [`str::parse`]), so every `JobId` has the
/// exact format of the ids Disque generates; a malformed id is refused with
/// [`Error::BadId`] before it is sent. Cloning is cheap (a reference count).
///
/// ```
/// use disque::JobId;
///
/// let id: JobId = "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1".parse()?;
/// assert_eq!(id.node_prefix(), "dcb833cf");
/// assert_eq!(id.ttl_minutes(), 0x05a1);
/// assert!(!id.is_at_most_once());
/// assert_eq!(id.to_string(), "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1");
/// assert!(JobId::parse("D-not-an-id").is_err());
/// # Ok::<(), disque::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(Arc<str>);

impl JobId {
    /// Validates `s` as a job id; anything but Disque's exact 40-char format is
    /// [`Error::BadId`].
    ///
    /// Hex digits may be of either case; the random part must be base64
    /// (`A-Z a-z 0-9 + /`).
    ///
    /// ```
    /// use disque::{Error, JobId};
    ///
    /// assert!(JobId::parse("D-deadbeef-AAAAAAAAAAAAAAAAAAAAAAAA-0001").is_ok());
    /// assert!(matches!(JobId::parse("D-deadbeef"), Err(Error::BadId(_))));
    /// ```
    pub fn parse(s: &str) -> Result<JobId, Error> {
        if is_well_formed(s.as_bytes()) {
            Ok(JobId(Arc::from(s)))
        } else {
            Err(Error::BadId(format!(
                "{s:?} is not a Disque job id (D-<8 hex>-<24 base64>-<4 hex>)"
            )))
        }
    }

    /// The id as sent to Disque.
    ///
    /// ```
    /// # let id = disque::JobId::parse("D-deadbeef-AAAAAAAAAAAAAAAAAAAAAAAA-0001")?;
    /// assert_eq!(id.as_str().len(), 40);
    /// # Ok::<(), disque::Error>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 8 hex chars of the id of the node that created the job
    /// (compare with the ids of [`Hello`](crate::reply::Hello) nodes).
    ///
    /// ```
    /// # let id = disque::JobId::parse("D-deadbeef-AAAAAAAAAAAAAAAAAAAAAAAA-0001")?;
    /// assert_eq!(id.node_prefix(), "deadbeef");
    /// # Ok::<(), disque::Error>(())
    /// ```
    pub fn node_prefix(&self) -> &str {
        &self.0[NODE]
    }

    /// The TTL field: the job's TTL in minutes, capped at 65535, with its lowest
    /// bit forced to 0 for at-most-once jobs (RETRY 0) and to 1 otherwise.
    ///
    /// ```
    /// # let id = disque::JobId::parse("D-deadbeef-AAAAAAAAAAAAAAAAAAAAAAAA-05a1")?;
    /// assert_eq!(id.ttl_minutes(), 1441); // default TTL: one day
    /// # Ok::<(), disque::Error>(())
    /// ```
    pub fn ttl_minutes(&self) -> u16 {
        // Validated as 4 hex digits by `parse`: this cannot fail, but stay total.
        u16::from_str_radix(&self.0[TTL], 16).unwrap_or(0)
    }

    /// Whether the job was added with RETRY 0 (delivered at most once): Disque
    /// marks those with an even TTL field.
    ///
    /// ```
    /// # use disque::JobId;
    /// assert!(JobId::parse("D-deadbeef-AAAAAAAAAAAAAAAAAAAAAAAA-05a0")?.is_at_most_once());
    /// assert!(!JobId::parse("D-deadbeef-AAAAAAAAAAAAAAAAAAAAAAAA-05a1")?.is_at_most_once());
    /// # Ok::<(), disque::Error>(())
    /// ```
    pub fn is_at_most_once(&self) -> bool {
        self.ttl_minutes() & 1 == 0
    }
}

/// What may stand at a position of an id, as bits of [`CLASS`].
const TAG: u8 = 1;
const DASH: u8 = 2;
const HEX: u8 = 4;
const BASE64: u8 = 8;

/// The kinds of character each byte value is (one table lookup per byte,
/// for ids read from every GETJOB reply).
static CLASS: [u8; 256] = {
    let mut class = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let mut bits = 0;
        if b == b'D' {
            bits |= TAG;
        }
        if b == b'-' {
            bits |= DASH;
        }
        if b.is_ascii_hexdigit() {
            bits |= HEX;
        }
        if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' {
            bits |= BASE64;
        }
        class[c] = bits;
        c += 1;
    }
    class
};

/// What each position of an id must be: `D-`, the node prefix, `-`, the
/// random part, `-`, the TTL field.
const SHAPE: [u8; LEN] = {
    let mut shape = [0; LEN];
    shape[0] = TAG;
    let mut i = RANDOM.start;
    while i < RANDOM.end {
        shape[i] = BASE64;
        i += 1;
    }
    let mut d = 0;
    while d < DASHES.len() {
        shape[DASHES[d]] = DASH;
        d += 1;
    }
    let mut i = NODE.start;
    while i < NODE.end {
        shape[i] = HEX;
        i += 1;
    }
    let mut i = TTL.start;
    while i < TTL.end {
        shape[i] = HEX;
        i += 1;
    }
    shape
};

/// Checks Disque's format byte by byte (ASCII only, so slicing is safe afterwards).
fn is_well_formed(b: &[u8]) -> bool {
    b.len() == LEN
        && b.iter()
            .zip(SHAPE)
            .all(|(&c, want)| CLASS[usize::from(c)] & want != 0)
}

impl FromStr for JobId {
    type Err = Error;

    fn from_str(s: &str) -> Result<JobId, Error> {
        JobId::parse(s)
    }
}

impl TryFrom<&str> for JobId {
    type Error = Error;

    fn try_from(s: &str) -> Result<JobId, Error> {
        JobId::parse(s)
    }
}

impl TryFrom<String> for JobId {
    type Error = Error;

    fn try_from(s: String) -> Result<JobId, Error> {
        JobId::parse(&s)
    }
}

impl AsRef<str> for JobId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for JobId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for JobId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        JobId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1";

    /// The format as the docs state it, position by position.
    fn by_the_docs(b: &[u8]) -> bool {
        let hex = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_hexdigit);
        let base64 = |r: std::ops::Range<usize>| {
            b[r].iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
        };
        b.len() == LEN
            && b[0] == b'D'
            && DASHES.iter().all(|&i| b[i] == b'-')
            && hex(NODE)
            && base64(RANDOM)
            && hex(TTL)
    }

    #[test]
    fn every_byte_at_every_position_is_judged_as_the_docs_say() {
        for at in 0..LEN {
            for c in 0..=255u8 {
                let mut id = GOOD.as_bytes().to_vec();
                id[at] = c;
                assert_eq!(is_well_formed(&id), by_the_docs(&id), "{c:?} at {at}");
            }
        }
        assert!(is_well_formed(GOOD.as_bytes()));
        assert!(!is_well_formed(&GOOD.as_bytes()[..LEN - 1]));
        assert!(!is_well_formed(format!("{GOOD}0").as_bytes()));
    }

    #[test]
    fn parses_a_real_id_and_exposes_its_fields() {
        let id = JobId::parse(GOOD).unwrap();
        assert_eq!(id.as_str(), GOOD);
        assert_eq!(id.to_string(), GOOD);
        assert_eq!(id.node_prefix(), "dcb833cf");
        assert_eq!(id.ttl_minutes(), 1441);
        assert!(!id.is_at_most_once());
        assert_eq!(GOOD.parse::<JobId>().unwrap(), id);
        assert_eq!(JobId::try_from(GOOD.to_owned()).unwrap(), id);
    }

    #[test]
    fn even_ttl_field_means_at_most_once() {
        let id = JobId::parse("D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-fffe").unwrap();
        assert_eq!(id.ttl_minutes(), 0xfffe);
        assert!(id.is_at_most_once());
    }

    #[test]
    fn rejects_every_malformed_shape_with_badid() {
        let bad = [
            "",
            "D-",
            "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a", // 39 chars
            "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a11", // 41 chars
            "X-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1", // tag
            "D_dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05a1", // first dash
            "D-dcb833cf_8YL1NT17e9+wsA/09NqxscQI-05a1", // second dash
            "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI_05a1", // third dash
            "D-zzzzzzzz-8YL1NT17e9+wsA/09NqxscQI-05a1", // node not hex
            "D-dcb833cf-8YL1NT17e9+wsA/09Nqxsc!I-05a1", // random not base64
            "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQI-05g1", // ttl not hex
            "D-dcb833cf-8YL1NT17e9+wsA/09NqxscQ\u{e9}-05a", // non-ASCII, 40 bytes
        ];
        for s in bad {
            assert!(
                matches!(JobId::parse(s), Err(Error::BadId(_))),
                "{s:?} accepted"
            );
        }
    }

    #[test]
    fn is_sent_as_a_single_argument() {
        // Commands are built from `as_str()` (no `redis` trait in the public API).
        let id = JobId::parse(GOOD).unwrap();
        let mut cmd = redis::cmd("SHOW");
        cmd.arg(id.as_str());
        let args = crate::options::test_args(&cmd);
        assert_eq!(args, ["SHOW", GOOD]);
    }

    #[test]
    fn clones_share_the_text() {
        let id = JobId::parse(GOOD).unwrap();
        let copy = id.clone();
        assert!(std::ptr::eq(id.as_str(), copy.as_str()));
    }

    #[test]
    fn serde_round_trip_validates() {
        let config = bincode::config::standard();
        let id = JobId::parse(GOOD).unwrap();
        let bytes = bincode::serde::encode_to_vec(&id, config).unwrap();
        let (back, _): (JobId, usize) = bincode::serde::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(back, id);
        let bad = bincode::serde::encode_to_vec("D-nope", config).unwrap();
        assert!(bincode::serde::decode_from_slice::<JobId, _>(&bad, config).is_err());
    }
}
