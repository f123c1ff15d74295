use disque::Job;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Job)]
#[job(priority = 1)]
struct NoQueue;

#[derive(Serialize, Deserialize, Job)]
struct NoAttribute;

fn main() {}
