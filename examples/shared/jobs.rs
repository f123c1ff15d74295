//! The job types shared by `producer.rs` and `consumer.rs`: both sides compile
//! against the same definition, so they cannot disagree about queue or shape.

use disque::Job;
use serde::{Deserialize, Serialize};

/// Resize an uploaded image.
#[derive(Debug, Serialize, Deserialize, Job)]
#[job(
    queue = "examples.thumbnails",
    priority = 10,
    retry = "30s",
    ttl = "1h"
)]
pub struct MakeThumbnail {
    /// Where the original is.
    pub path: String,
    /// Wanted width in pixels.
    pub width: u32,
}

/// The address to use: `DISQUE_ADDRS`, else a local Disque (or `disque-embedded`) on 7711.
pub fn addrs() -> String {
    std::env::var("DISQUE_ADDRS").unwrap_or_else(|_| "127.0.0.1:7711".to_owned())
}
