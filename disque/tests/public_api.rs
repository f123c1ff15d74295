//! Pins the public surface of `disque`: one path per type, at the crate root,
//! and no type of the `redis` crate (the client's transport) in it.
//!
//! The first test names every public item, so removing or renaming one fails
//! to compile. The others read the crate's sources (inside this package) so
//! that adding a public module, a root item or a `redis` type to a public
//! signature fails until this file is updated on purpose.

use std::path::{Path, PathBuf};

#[allow(unused_imports)]
use disque::{
    decode_payload, encode_payload, Bincode, Client, ClientBuilder, Codec, CodecError,
    ConsumeOptions, DeadLetter, DecodeFailure, Delivery, Error, Hello, Info, InfoSection, Job,
    JobId, JobInfo, JobOp, JobOptions, JobScanOptions, JobSet, JobState, NodeInfo, PauseState,
    PayloadError, QueueScanOptions, QueueStats, ReceivedJob, ToAddrs, DEFAULT_PORT,
};
#[allow(unused_imports)]
use disque::{
    AckMode, ClusterNode, RetryPolicy, Worker, WorkerBuilder, WorkerCounters, WorkerStats,
    WorkerSummary,
};

/// Every name `lib.rs` re-exports at the root (`Job` and `JobSet` are both a
/// trait and, with the `derive` feature, a derive macro of the same name).
const ROOT_ITEMS: &[&str] = &[
    "AckMode",
    "Bincode",
    "Client",
    "ClientBuilder",
    "ClusterNode",
    "Codec",
    "CodecError",
    "ConsumeOptions",
    "DEFAULT_PORT",
    "DeadLetter",
    "DecodeFailure",
    "Delivery",
    "Error",
    "Hello",
    "Info",
    "InfoSection",
    "Job",
    "JobId",
    "JobInfo",
    "JobOp",
    "JobOptions",
    "JobScanOptions",
    "JobSet",
    "JobState",
    "Json",
    "NodeInfo",
    "PauseState",
    "PayloadError",
    "PlainJson",
    "QueueScanOptions",
    "QueueStats",
    "ReceivedJob",
    "RetryPolicy",
    "ToAddrs",
    "Worker",
    "WorkerBuilder",
    "WorkerCounters",
    "WorkerStats",
    "WorkerSummary",
    "decode_payload",
    "encode_payload",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of `lib.rs` outside `mod __private { … }` (hidden, for the derive only).
fn lib_without_private() -> String {
    let lib = read(&src().join("lib.rs"));
    match lib.find("pub mod __private") {
        Some(start) => lib[..start].to_owned(),
        None => lib,
    }
}

#[test]
fn every_module_is_private_except_the_derives_hidden_one() {
    let lib = read(&src().join("lib.rs"));
    let public_mods: Vec<&str> = lib
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("pub mod "))
        .collect();
    assert_eq!(public_mods, ["pub mod __private {"]);
    let hidden = lib.find("#[doc(hidden)]\npub mod __private");
    assert!(hidden.is_some(), "__private must stay #[doc(hidden)]");
}

#[test]
fn the_root_re_exports_exactly_the_pinned_items() {
    let lib = lib_without_private();
    let mut found = Vec::new();
    // `pub use path::{A, B};` or `pub use path::A;`, possibly over several lines.
    for stmt in lib.split(';') {
        let stmt = stmt.trim();
        let Some(start) = stmt.find("pub use ") else {
            continue;
        };
        let path = &stmt[start + "pub use ".len()..];
        let names = match (path.find('{'), path.rfind('}')) {
            (Some(open), Some(close)) => path[open + 1..close].to_owned(),
            _ => path.rsplit("::").next().unwrap_or(path).to_owned(),
        };
        found.extend(
            names
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        );
    }
    found.sort();
    found.dedup();
    assert_eq!(
        found, ROOT_ITEMS,
        "update ROOT_ITEMS (and the README) on purpose"
    );
}

#[test]
fn no_redis_type_in_a_public_signature_or_trait_impl() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut leaks = Vec::new();
    for file in files {
        let text = read(&file);
        // Unit tests (at the end of a file) may use `redis` freely.
        let code = text
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or(&text);
        let lines: Vec<&str> = code.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let l = line.trim_start();
            let public = l.starts_with("pub ");
            let trait_impl = l.starts_with("impl") && l.contains(" for ");
            if !(public || trait_impl) {
                continue;
            }
            // The whole signature: up to the `{` or `;` that ends it.
            let mut signature = String::new();
            for next in &lines[n..] {
                signature.push_str(next.trim());
                signature.push(' ');
                if next.contains('{') || next.contains(';') {
                    break;
                }
            }
            if signature.contains("redis") {
                leaks.push(format!("{}:{}: {signature}", file.display(), n + 1));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "redis in the public API:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn a_dropped_delivery_is_must_use() {
    let delivery = read(&src().join("delivery.rs"));
    assert!(delivery.contains(
        "#[must_use = \"a Delivery that is neither acked nor nacked is delivered again after its retry time\"]\npub struct Delivery"
    ));
}
