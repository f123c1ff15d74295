//! Job ids and node ids in Disque's exact formats.
//!
//! A job id is 40 characters: `D-` + the first 8 hex characters of the node
//! id + `-` + 24 characters of base64 (144 random bits) + `-` + 4 hex
//! characters holding the TTL in minutes (odd unless RETRY is 0).

use rand::{Rng, RngCore};

/// Length of a job id in bytes.
pub const JOB_ID_LEN: usize = 40;
/// Length of a node id in bytes.
pub const NODE_ID_LEN: usize = 40;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8; 16] = b"0123456789abcdef";

/// The first 128 of the 144 random bits of a job id, as integers, so that
/// comparing keys is a few integer operations: the key jobs are stored
/// under, in key order. The last 16 bits (the "tail") are kept in the job and
/// checked on lookup. The node never holds two jobs whose keys share their
/// high 64 bits ([`JobKey::hi`]): those bits alone give a job's place in
/// JSCAN's order, and are its cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct JobKey {
    hi: u64,
    lo: u64,
}

impl JobKey {
    /// The largest key (an upper bound for range queries).
    #[cfg(test)]
    pub const MAX: JobKey = JobKey {
        hi: u64::MAX,
        lo: u64::MAX,
    };

    /// The key made of these high and low 64 bits.
    pub fn from_parts(hi: u64, lo: u64) -> JobKey {
        JobKey { hi, lo }
    }

    /// The high 64 bits (random, and unique among the node's jobs).
    pub fn hi(&self) -> u64 {
        self.hi
    }

    /// The low 64 bits.
    pub fn lo(&self) -> u64 {
        self.lo
    }

    /// Fresh random bits: the key and the tail.
    pub fn random(rng: &mut impl RngCore) -> (JobKey, u16) {
        let mut k = [0u8; 18];
        rng.fill_bytes(&mut k);
        JobKey::split(&k)
    }

    /// Splits the 144 bits into the key and the tail.
    pub fn split(b: &[u8; 18]) -> (JobKey, u16) {
        let mut hi = [0u8; 8];
        let mut lo = [0u8; 8];
        hi.copy_from_slice(&b[..8]);
        lo.copy_from_slice(&b[8..16]);
        let key = JobKey {
            hi: u64::from_be_bytes(hi),
            lo: u64::from_be_bytes(lo),
        };
        (key, u16::from_be_bytes([b[16], b[17]]))
    }
}

/// A random node id: 40 lowercase hex characters.
pub fn random_node_id(rng: &mut impl Rng) -> String {
    (0..NODE_ID_LEN)
        .map(|_| char::from(HEX[rng.random_range(0..16)]))
        .collect()
}

/// The TTL field of a job id: minutes capped at 0xffff, odd iff `retry > 0`.
pub fn ttl_field(ttl_secs: i64, retry: i64) -> u16 {
    let minutes = (ttl_secs / 60).clamp(0, 65535) as u16;
    if retry > 0 {
        minutes | 1
    } else {
        minutes & !1
    }
}

/// Writes the 40-byte id of a job.
pub fn format_job_id(node_id: &[u8], key: &JobKey, tail: u16, ttl_field: u16) -> [u8; JOB_ID_LEN] {
    let mut id = [0u8; JOB_ID_LEN];
    id[0] = b'D';
    id[1] = b'-';
    id[2..10].copy_from_slice(&node_id[..8]);
    id[10] = b'-';
    // The 144 bits as three groups of 48, 8 base64 digits each.
    let groups = [
        key.hi >> 16,
        ((key.hi & 0xffff) << 32) | (key.lo >> 32),
        ((key.lo & 0xffff_ffff) << 16) | u64::from(tail),
    ];
    for (group, out) in groups.into_iter().zip(id[11..35].chunks_exact_mut(8)) {
        for (i, digit) in out.iter_mut().enumerate() {
            *digit = B64[(group >> (42 - 6 * i)) as usize & 63];
        }
    }
    id[35] = b'-';
    for (i, shift) in [12u16, 8, 4, 0].into_iter().enumerate() {
        id[36 + i] = HEX[usize::from((ttl_field >> shift) & 15)];
    }
    id
}

/// Disque's lenient id check: length 40, `D-` prefix, `-` at 10 and 35.
pub fn is_valid_job_id(id: &[u8]) -> bool {
    id.len() == JOB_ID_LEN && id[0] == b'D' && id[1] == b'-' && id[10] == b'-' && id[35] == b'-'
}

/// The value of each byte as a digit of `digits`, [`NOT_A_DIGIT`] if it
/// is none: one load per character when parsing an id.
const fn digit_values(digits: &[u8]) -> [u8; 256] {
    let mut values = [NOT_A_DIGIT; 256];
    let mut i = 0;
    while i < digits.len() {
        values[digits[i] as usize] = i as u8;
        i += 1;
    }
    values
}

const NOT_A_DIGIT: u8 = 0xff;
const B64_VALUES: [u8; 256] = digit_values(B64);
const HEX_VALUES: [u8; 256] = digit_values(HEX);

/// Splits a (valid-looking) id of this node into its key, tail and TTL
/// field; `None` when it cannot name a job of the node whose id is
/// `node_id`.
pub fn parse_job_id(node_id: &[u8], id: &[u8]) -> Option<(JobKey, u16, u16)> {
    if !is_valid_job_id(id) || id[2..10] != node_id[..8] {
        return None;
    }
    // Every digit's value is looked up and the result checked once at the
    // end: a digit's value has its two top bits clear, NOT_A_DIGIT not.
    // The 24 base64 digits are read as three groups of 8 (48 bits each),
    // straight into integers.
    let mut values = 0u8;
    let mut groups = [0u64; 3];
    for (group, digits) in groups.iter_mut().zip(id[11..35].chunks_exact(8)) {
        for &c in digits {
            let v = B64_VALUES[usize::from(c)];
            values |= v;
            *group = (*group << 6) | u64::from(v);
        }
    }
    let mut ttl = 0u16;
    for &c in &id[36..40] {
        let v = HEX_VALUES[usize::from(c)];
        values |= v;
        ttl = (ttl << 4) | u16::from(v);
    }
    if values & 0xc0 != 0 {
        return None;
    }
    let [a, b, c] = groups;
    let key = JobKey {
        hi: (a << 16) | (b >> 32),
        lo: (b << 32) | (c >> 16),
    };
    Some((key, c as u16, ttl))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_field_matches_disque_examples() {
        assert_eq!(ttl_field(86400, 300), 0x05a1);
        assert_eq!(ttl_field(86400, 0), 0x05a0);
        assert_eq!(ttl_field(59, 5), 0x0001);
        assert_eq!(ttl_field(4_000_000, 1), 0xffff);
        assert_eq!(ttl_field(4_000_000, 0), 0xfffe);
    }

    #[test]
    fn ids_round_trip_and_have_the_exact_shape() {
        let node = b"0123abcd0123abcd0123abcd0123abcd0123abcd";
        let mut rng = rand::rng();
        for _ in 0..100 {
            let (key, tail) = JobKey::random(&mut rng);
            let id = format_job_id(node, &key, tail, 0x05a1);
            let s = std::str::from_utf8(&id).unwrap();
            assert!(s.starts_with("D-0123abcd-"));
            assert!(s.ends_with("-05a1"));
            assert!(is_valid_job_id(&id));
            assert_eq!(parse_job_id(node, &id), Some((key, tail, 0x05a1)));
        }
    }

    #[test]
    fn ids_are_the_base64_of_the_key_then_the_tail() {
        let node = b"0123abcd0123abcd0123abcd0123abcd0123abcd";
        let bits: [u8; 18] = std::array::from_fn(|i| i as u8);
        let (key, tail) = JobKey::split(&bits);
        let id = format_job_id(node, &key, tail, 0x05a1);
        assert_eq!(&id, b"D-0123abcd-AAECAwQFBgcICQoLDA0ODxAR-05a1");
        assert_eq!(parse_job_id(node, &id), Some((key, tail, 0x05a1)));
    }

    #[test]
    fn digit_tables_agree_with_the_alphabets() {
        for c in 0..=255u8 {
            let value = |digits: &[u8]| digits.iter().position(|&b| b == c).map(|p| p as u8);
            let table = |v: u8| (v != NOT_A_DIGIT).then_some(v);
            assert_eq!(table(B64_VALUES[usize::from(c)]), value(B64), "{c}");
            assert_eq!(table(HEX_VALUES[usize::from(c)]), value(HEX), "{c}");
        }
    }

    #[test]
    fn one_bad_digit_anywhere_is_refused() {
        let node = b"0123abcd0123abcd0123abcd0123abcd0123abcd";
        let (key, tail) = JobKey::random(&mut rand::rng());
        let id = format_job_id(node, &key, tail, 0x05a1);
        for at in (11..35).chain(36..40) {
            for bad in [b'!', b'-', b'A' - 1, 0xff] {
                let mut wrong = id;
                wrong[at] = bad;
                assert_eq!(parse_job_id(node, &wrong), None, "{at} {bad}");
            }
        }
    }

    #[test]
    fn lenient_validation_and_foreign_ids() {
        let node = b"0123abcd0123abcd0123abcd0123abcd0123abcd";
        let weird = b"D-zzzzzzzz-!!!!!!!!!!!!!!!!!!!!!!!!-zzzz";
        assert!(is_valid_job_id(weird));
        assert_eq!(parse_job_id(node, weird), None);
        assert!(!is_valid_job_id(b"foo"));
        assert!(!is_valid_job_id(
            b"D-deadbeef+AAAAAAAAAAAAAAAAAAAAAAAA-0001"
        ));
    }
}
