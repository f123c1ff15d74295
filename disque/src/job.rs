//! Typed jobs: the [`Job`] trait implemented by `#[derive(Job)]`, and payload codecs.
//!
//! INTERFACE (shared by the client and the derive; bodies to be completed):
//! the client calls only [`encode_payload`], [`decode_payload`] and the
//! [`JobSet`] trait's methods.

use crate::{error::Error, options::JobOptions};

/// A job type: its queue, priority, default options and payload codec.
pub trait Job: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static {
    /// The queue jobs of this type go to.
    const QUEUE: &'static str;
    /// Higher is served first when several job types are consumed together.
    const PRIORITY: i64;
    /// Default `ADDJOB` options of this type.
    fn options() -> JobOptions;
}

/// Turns values into payload bytes and back.
pub trait Codec {}

/// Encodes a job value into the bytes sent as the ADDJOB body.
pub fn encode_payload<J: Job>(job: &J) -> Result<Vec<u8>, Error> {
    bincode::serde::encode_to_vec(job, bincode::config::standard())
        .map_err(|e| Error::Encode(e.to_string()))
}

/// Decodes the body of job `id` taken from `queue` as a `J`.
pub fn decode_payload<J: Job>(id: &str, queue: &str, body: &[u8]) -> Result<J, Error> {
    bincode::serde::decode_from_slice(body, bincode::config::standard())
        .map(|(value, _)| value)
        .map_err(|e| Error::Decode {
            id: id.to_owned(),
            queue: queue.to_owned(),
            reason: e.to_string(),
        })
}

/// Several job types consumed together, highest priority first: an enum whose
/// variants each hold a `Delivery<J>` of one job type.
pub trait JobSet: Sized + Send + 'static {
    /// The queues of the member types, highest priority first (the `GETJOB … FROM` order).
    fn queues() -> Vec<&'static str>;
    /// Decodes a raw delivery as the member type of the queue it came from.
    fn from_delivery(delivery: crate::delivery::Delivery<Vec<u8>>) -> Result<Self, Error>;
}
