use disque::Job;

mod v1 {
    /// The fingerprint of the old producer's type, printed once and kept.
    pub const ORDER: u64 = 0x0123_4567_89ab_cdef;
}

const OLDER: u64 = 7;

#[derive(serde::Serialize, serde::Deserialize, Job)]
#[job(queue = "orders", accept = [v1::ORDER, OLDER, 0x2a])]
struct Order {
    id: u64,
}

fn main() {
    assert_eq!(Order::ACCEPTED_FINGERPRINTS, &[v1::ORDER, 7, 42]);
}
