//! The append-only file after a crash in the middle of a write (a torn
//! tail: cut off with a log line, the node starts) and after corruption (a
//! bad record before valid ones: the node refuses to start, naming the
//! offset); BGREWRITEAOF compaction, the automatic rewrite, CONFIG and INFO.

mod persistence;
mod resp;

use persistence::{eventually, rewrite_succeeds, Server, TempDir};
use resp::{Conn, R};

const AOF: &[&str] = &["--appendonly", "yes", "--appendfsync", "always"];
/// Bytes of the file's header.
const HEADER: u64 = 56;

/// Offsets of the records in the file (after the header).
fn record_offsets(bytes: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut pos = HEADER as usize;
    while pos + 8 <= bytes.len() {
        out.push(pos as u64);
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 8 + len;
    }
    out
}

/// A node with three jobs added (three ADD records), stopped cleanly.
async fn three_jobs(dir: &TempDir) -> Vec<String> {
    let node = Server::start(dir.path(), AOF);
    let mut c = node.conn().await;
    let mut ids = Vec::new();
    for b in ["one", "two", "three"] {
        ids.push(c.cmd(&["ADDJOB", "file_q", b, "0"]).await.status());
    }
    node.shutdown().await;
    ids
}

#[tokio::test]
async fn a_torn_last_record_is_cut_off_with_a_log_line() {
    let dir = TempDir::new("torn");
    let ids = three_jobs(&dir).await;
    let bytes = std::fs::read(dir.aof()).unwrap();
    let offsets = record_offsets(&bytes);
    assert_eq!(offsets.len(), 3);
    // A crash in the middle of writing the third record.
    let cut = bytes.len() as u64 - 7;
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.aof())
        .unwrap()
        .set_len(cut)
        .unwrap();

    let node = Server::start(dir.path(), AOF);
    let mut c = node.conn().await;
    assert_eq!(c.cmd(&["SHOW", &ids[0]]).await.field("body").text(), "one");
    assert_eq!(c.cmd(&["SHOW", &ids[1]]).await.field("body").text(), "two");
    assert_eq!(c.cmd(&["SHOW", &ids[2]]).await, R::Nil);
    assert_eq!(
        std::fs::metadata(dir.aof()).unwrap().len(),
        offsets[2],
        "the torn record was not cut off"
    );
    let log = node.output();
    assert!(
        log.contains(&format!("torn last record at offset {}", offsets[2])),
        "no log line about the truncation: {log}"
    );
    // New records follow the good ones.
    let four = c.cmd(&["ADDJOB", "file_q", "four", "0"]).await.status();
    node.kill();
    let node = Server::start(dir.path(), AOF);
    let mut c = node.conn().await;
    assert_eq!(c.cmd(&["QLEN", "file_q"]).await, R::Int(3));
    assert_eq!(c.cmd(&["SHOW", &four]).await.field("body").text(), "four");
    node.shutdown().await;
}

#[tokio::test]
async fn a_zero_filled_tail_is_cut_off() {
    let dir = TempDir::new("zeros");
    let ids = three_jobs(&dir).await;
    let len = std::fs::metadata(dir.aof()).unwrap().len();
    // A crash after the file grew but before its data reached the disk.
    let mut bytes = std::fs::read(dir.aof()).unwrap();
    bytes.extend_from_slice(&[0u8; 4096]);
    std::fs::write(dir.aof(), &bytes).unwrap();

    let node = Server::start(dir.path(), AOF);
    let mut c = node.conn().await;
    assert_eq!(c.cmd(&["QLEN", "file_q"]).await, R::Int(3));
    assert_eq!(
        c.cmd(&["SHOW", &ids[2]]).await.field("body").text(),
        "three"
    );
    assert_eq!(std::fs::metadata(dir.aof()).unwrap().len(), len);
    node.shutdown().await;
}

#[tokio::test]
async fn a_corrupt_record_before_valid_ones_stops_the_start_naming_its_offset() {
    let dir = TempDir::new("corrupt");
    three_jobs(&dir).await;
    let mut bytes = std::fs::read(dir.aof()).unwrap();
    let offsets = record_offsets(&bytes);
    // One bit flipped in the second record's payload.
    bytes[offsets[1] as usize + 20] ^= 0x10;
    std::fs::write(dir.aof(), &bytes).unwrap();
    let out = Server::start_fails(dir.path(), AOF);
    assert!(
        out.contains(&format!("corrupt record at offset {}", offsets[1])),
        "{out}"
    );
    assert!(out.contains("checksum mismatch"), "{out}");
    // Nothing was cut.
    assert_eq!(std::fs::read(dir.aof()).unwrap(), bytes);
}

#[tokio::test]
async fn a_file_that_is_not_ours_is_refused() {
    let dir = TempDir::new("foreign");
    // What a real Disque's AOF starts with.
    std::fs::write(
        dir.aof(),
        b"*2\r\n$7\r\nLOADJOB\r\n$3\r\nabc\r\n*2\r\n$7\r\nLOADJOB\r\n$3\r\nabc\r\n",
    )
    .unwrap();
    let out = Server::start_fails(dir.path(), AOF);
    assert!(
        out.contains("not a disque-embedded append-only file"),
        "{out}"
    );
}

#[tokio::test]
async fn without_appendonly_nothing_is_kept() {
    let dir = TempDir::new("off");
    let node = Server::start(dir.path(), &[]);
    let mut c = node.conn().await;
    let id = c.cmd(&["ADDJOB", "off_q", "x", "0"]).await.status();
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "appendonly"]).await.to_vec(),
        ["appendonly", "no"]
    );
    node.kill();
    assert!(!dir.aof().exists());
    let node = Server::start(dir.path(), &[]);
    assert_eq!(node.conn().await.cmd(&["SHOW", &id]).await, R::Nil);
}

trait Texts {
    fn to_vec(&self) -> Vec<String>;
}

impl Texts for R {
    fn to_vec(&self) -> Vec<String> {
        match self {
            R::Array(items) => items.iter().map(R::text).collect(),
            other => panic!("expected an array, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn bgrewriteaof_compacts_the_file_and_keeps_the_state() {
    let dir = TempDir::new("compact");
    let node = Server::start(dir.path(), AOF);
    let mut c = node.conn().await;
    let adds: Vec<Vec<String>> = (0..2000)
        .map(|i| {
            vec![
                "ADDJOB".into(),
                "compact_q".into(),
                format!("job {i}"),
                "0".into(),
            ]
        })
        .collect();
    let ids: Vec<String> = c.pipeline(&adds).await.iter().map(R::status).collect();
    let acks: Vec<Vec<String>> = ids[..1900]
        .iter()
        .map(|id| vec!["ACKJOB".to_owned(), id.clone()])
        .collect();
    c.pipeline(&acks).await;
    // A delivered one and a nacked one, to check states survive the rewrite.
    let delivered = match c
        .cmd(&["GETJOB", "NOHANG", "COUNT", "2", "FROM", "compact_q"])
        .await
    {
        R::Array(jobs) => jobs
            .iter()
            .map(|j| match j {
                R::Array(f) => f[1].text(),
                other => panic!("{other:?}"),
            })
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    assert_eq!(c.cmd(&["NACK", &delivered[1]]).await, R::Int(1));
    let before = std::fs::metadata(dir.aof()).unwrap().len();
    rewrite_succeeds(&mut c, &node, "the rewrite").await;
    let after = std::fs::metadata(dir.aof()).unwrap().len();
    assert!(after * 10 < before, "{before} bytes before, {after} after");
    assert_eq!(
        c.info_field("persistence", "aof_current_size").await,
        after.to_string()
    );
    assert_eq!(
        c.info_field("persistence", "aof_base_size").await,
        after.to_string()
    );
    node.kill();

    let node = Server::start(dir.path(), AOF);
    let mut c = node.conn().await;
    assert_eq!(c.info_field("jobs", "registered_jobs").await, "100");
    assert_eq!(c.cmd(&["QLEN", "compact_q"]).await, R::Int(99));
    assert_eq!(
        c.cmd(&["SHOW", &delivered[0]]).await.field("state").text(),
        "active"
    );
    let nacked = c.cmd(&["SHOW", &delivered[1]]).await;
    assert_eq!(nacked.field("state").text(), "queued");
    assert_eq!(nacked.field("nacks"), R::Int(1));
    assert_eq!(c.cmd(&["SHOW", &ids[0]]).await, R::Nil);
    node.shutdown().await;
}

#[tokio::test]
async fn the_file_is_rewritten_automatically_past_the_growth_ratio() {
    let dir = TempDir::new("auto");
    let node = Server::start(
        dir.path(),
        &[
            "--appendonly",
            "yes",
            "--auto-aof-rewrite-percentage",
            "100",
            "--auto-aof-rewrite-min-size",
            "20000",
        ],
    );
    let mut c = node.conn().await;
    assert_eq!(
        c.info_field("persistence", "aof_base_size").await,
        HEADER.to_string()
    );
    // Add and ack jobs until the file passes 20,000 bytes: the node
    // rewrites it down to (almost) nothing.
    for round in 0..20 {
        let adds: Vec<Vec<String>> = (0..50)
            .map(|i| {
                vec![
                    "ADDJOB".into(),
                    "auto_q".into(),
                    format!("{round}/{i}"),
                    "0".into(),
                ]
            })
            .collect();
        let ids: Vec<String> = c.pipeline(&adds).await.iter().map(R::status).collect();
        let acks: Vec<Vec<String>> = ids
            .iter()
            .map(|id| vec!["ACKJOB".to_owned(), id.clone()])
            .collect();
        c.pipeline(&acks).await;
    }
    eventually("an automatic rewrite", async || {
        c.info_field("persistence", "aof_last_rewrite_time_sec")
            .await
            != "-1"
    })
    .await;
    assert_eq!(
        c.info_field("persistence", "aof_last_bgrewrite_status")
            .await,
        "ok"
    );
    // At most the 50 jobs of one round were alive when it ran.
    let base: u64 = c
        .info_field("persistence", "aof_base_size")
        .await
        .parse()
        .unwrap();
    assert!(base < 10_000, "rewritten to {base} bytes");
    node.shutdown().await;
}

#[tokio::test]
async fn config_turns_persistence_on_at_run_time() {
    let dir = TempDir::new("config");
    let node = Server::start(dir.path(), &[]);
    let mut c = node.conn().await;
    let before = c.cmd(&["ADDJOB", "cfg_q", "before", "0"]).await.status();
    assert_eq!(c.info_field("persistence", "aof_enabled").await, "0");
    assert_eq!(c.info_field("persistence", "aof_state").await, "off");
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "appendfsync", "sometimes"]).await,
        R::Error("ERR Invalid argument 'sometimes' for CONFIG SET 'appendfsync'".into())
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "dir", "/nonexistent/disque-aof-test"])
            .await,
        R::Error("ERR Changing directory: No such file or directory".into())
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "appendfsync", "always"])
            .await
            .status(),
        "OK"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "appendonly", "yes"])
            .await
            .status(),
        "OK"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "append*"]).await.to_vec(),
        [
            "appendonly",
            "yes",
            "appendfsync",
            "always",
            "appendfilename",
            "disque.aof"
        ]
    );
    // The first rewrite writes what was there before.
    eventually("the first rewrite", async || {
        c.info_field("persistence", "aof_state").await == "on"
    })
    .await;
    let after = c.cmd(&["ADDJOB", "cfg_q", "after", "0"]).await.status();
    assert_eq!(c.info_field("persistence", "aof_enabled").await, "1");
    node.kill();

    let node = Server::start(dir.path(), AOF);
    let mut c = node.conn().await;
    assert_eq!(
        c.cmd(&["SHOW", &before]).await.field("body").text(),
        "before"
    );
    assert_eq!(c.cmd(&["SHOW", &after]).await.field("body").text(), "after");
    // Turned off, it stops logging.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "appendonly", "no"]).await.status(),
        "OK"
    );
    let unlogged = c.cmd(&["ADDJOB", "cfg_q", "unlogged", "0"]).await.status();
    node.kill();
    let node = Server::start(dir.path(), AOF);
    let mut c = node.conn().await;
    assert_eq!(c.cmd(&["SHOW", &unlogged]).await, R::Nil);
    assert_eq!(c.cmd(&["QLEN", "cfg_q"]).await, R::Int(2));
    node.shutdown().await;
}

#[tokio::test]
async fn info_persistence_has_disques_fields() {
    let dir = TempDir::new("info");
    let node = Server::start(dir.path(), AOF);
    let mut c: Conn = node.conn().await;
    let info = c.cmd(&["INFO", "persistence"]).await.text();
    let names: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k))
        .collect();
    assert_eq!(
        names,
        [
            "loading",
            "aof_enabled",
            "aof_state",
            "aof_rewrite_in_progress",
            "aof_rewrite_scheduled",
            "aof_last_rewrite_time_sec",
            "aof_current_rewrite_time_sec",
            "aof_last_bgrewrite_status",
            "aof_last_write_status",
            "aof_current_size",
            "aof_base_size",
            "aof_pending_rewrite",
            "aof_buffer_length",
            "aof_rewrite_buffer_length",
            "aof_pending_bio_fsync",
            "aof_delayed_fsync",
        ]
    );
    assert!(info.starts_with("# Persistence\r\n"));
    node.shutdown().await;
}
