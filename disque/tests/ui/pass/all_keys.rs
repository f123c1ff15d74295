use disque::{Job, JobOptions};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Serialize, Deserialize, Job)]
#[job(
    queue = "reports",
    priority = -9223372036854775808,
    replicate = 1,
    delay = "1m",
    retry = "0s",
    ttl = "1h30m",
    maxlen = 4294967295,
    async = false,
    timeout = "1500ms",
    codec = disque::Bincode,
    version = 7,
    accept = [0x0123456789abcdef, 18446744073709551615]
)]
struct Report {
    month: u8,
}

#[derive(Serialize, Deserialize, Job)]
#[job(queue = "a", replicate = 65535, async)]
#[job(ttl = "59s", delay = "58s", retry = "59s")]
struct Split;

fn main() {
    assert_eq!(Report::QUEUE, "reports");
    assert_eq!(Report::PRIORITY, i64::MIN);
    assert_eq!(
        Report::ACCEPTED_FINGERPRINTS,
        &[0x0123456789abcdef, u64::MAX]
    );
    assert_eq!(
        Report::options(),
        JobOptions::new()
            .replicate(1)
            .delay(Duration::from_secs(60))
            .retry(Duration::ZERO)
            .ttl(Duration::from_secs(5_400))
            .maxlen(u32::MAX)
            .asynchronous(false)
            .replication_timeout(Duration::from_millis(1_500))
    );
    assert_eq!(
        Split::options(),
        JobOptions::new()
            .replicate(65535)
            .delay(Duration::from_secs(58))
            .retry(Duration::from_secs(59))
            .ttl(Duration::from_secs(59))
            .asynchronous(true)
    );
}
