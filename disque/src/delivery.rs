//! A job handed to a consumer. (STUB: owned by the client engineer; to be completed.)

use crate::{id::JobId, job::Job, Error};

/// A job taken from a queue: it must be acknowledged (`ack`) or given back (`nack`).
///
/// `Delivery<Vec<u8>>` is the raw (untyped) form; `Delivery<J>` for a `J: Job` holds
/// the decoded value.
#[derive(Debug)]
pub struct Delivery<T = Vec<u8>> {
    id: JobId,
    queue: String,
    nacks: u64,
    additional_deliveries: u64,
    value: T,
}

impl<T> Delivery<T> {
    /// The job's id.
    pub fn id(&self) -> &JobId {
        &self.id
    }
    /// The queue it was taken from.
    pub fn queue(&self) -> &str {
        &self.queue
    }
    /// How many times it was NACKed.
    pub fn nacks(&self) -> u64 {
        self.nacks
    }
    /// How many times it was delivered again after its retry time.
    pub fn additional_deliveries(&self) -> u64 {
        self.additional_deliveries
    }
    /// The payload.
    pub fn value(&self) -> &T {
        &self.value
    }
}

impl Delivery<Vec<u8>> {
    /// Decodes the raw body as a `J`. On failure the job is left as it is (active):
    /// Disque delivers it again after its retry time.
    pub fn decode<J: Job>(self) -> Result<Delivery<J>, Error> {
        let value = crate::job::decode_payload::<J>(self.id.as_str(), &self.queue, &self.value)?;
        Ok(Delivery {
            id: self.id,
            queue: self.queue,
            nacks: self.nacks,
            additional_deliveries: self.additional_deliveries,
            value,
        })
    }
}
