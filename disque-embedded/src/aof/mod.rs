//! Append-only persistence (Disque's `appendonly` family of options).
//!
//! - `record`: the file format (header, framed records);
//! - `writer`: the one thread that appends, fsyncs (group commit) and
//!   swaps in a rewritten file;
//! - `load`: reading the file back at start, truncating a torn tail;
//! - `rewrite`: BGREWRITEAOF, a snapshot written chunk by chunk while the
//!   records logged meanwhile are kept aside and appended to it.
//!
//! The state (`Db`) appends a record to [`Aof`]'s pending buffer for each
//! change that matters, under the state's lock, so the file's order is the
//! state's order. A connection that ran a logged command under
//! `appendfsync always` waits until [`Aof::acked`] passes its record before
//! it writes its replies.

pub mod load;
pub mod record;
pub mod rewrite;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use crate::shared::Shared;
use crate::state::Db;

/// When the file is flushed to disk (`appendfsync`).
///
/// ```
/// use disque_embedded::AppendFsync;
/// assert_eq!(AppendFsync::default(), AppendFsync::EverySec);
/// assert_eq!("always".parse::<AppendFsync>(), Ok(AppendFsync::Always));
/// assert_eq!(AppendFsync::No.as_str(), "no");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum AppendFsync {
    /// After every logged write, before its reply (several clients'
    /// records share one `fsync`: group commit).
    Always,
    /// Once a second, in the background (Disque's default).
    #[default]
    EverySec,
    /// Never explicitly: the operating system decides.
    No,
}

impl AppendFsync {
    /// Disque's name: `always`, `everysec` or `no`.
    ///
    /// ```
    /// assert_eq!(disque_embedded::AppendFsync::EverySec.as_str(), "everysec");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            AppendFsync::Always => "always",
            AppendFsync::EverySec => "everysec",
            AppendFsync::No => "no",
        }
    }

    fn code(self) -> u8 {
        match self {
            AppendFsync::Always => 0,
            AppendFsync::EverySec => 1,
            AppendFsync::No => 2,
        }
    }

    fn from_code(c: u8) -> AppendFsync {
        match c {
            0 => AppendFsync::Always,
            2 => AppendFsync::No,
            _ => AppendFsync::EverySec,
        }
    }
}

impl std::str::FromStr for AppendFsync {
    type Err = String;

    /// Parses Disque's names, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "always" => Ok(AppendFsync::Always),
            "everysec" => Ok(AppendFsync::EverySec),
            "no" => Ok(AppendFsync::No),
            _ => Err("argument must be 'no', 'always' or 'everysec'".to_owned()),
        }
    }
}

impl std::fmt::Display for AppendFsync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The persistence settings (CONFIG GET/SET can change them).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `appendonly`.
    pub enabled: bool,
    /// `appendfsync`.
    pub fsync: AppendFsync,
    /// `dir`.
    pub dir: PathBuf,
    /// `appendfilename`.
    pub filename: String,
    /// `auto-aof-rewrite-percentage` (0 = never).
    pub auto_percentage: u64,
    /// `auto-aof-rewrite-min-size`, bytes.
    pub auto_min_size: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: false,
            fsync: AppendFsync::EverySec,
            dir: PathBuf::from("."),
            filename: DEFAULT_FILENAME.to_owned(),
            auto_percentage: 100,
            auto_min_size: 64 * 1024 * 1024,
        }
    }
}

/// Disque's default `appendfilename`.
pub const DEFAULT_FILENAME: &str = "disque.aof";

impl Settings {
    /// The file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.filename)
    }

    /// Where a rewrite writes before the swap.
    pub fn temp_path(&self) -> PathBuf {
        self.dir.join(format!("temp-rewriteaof-{}", self.filename))
    }
}

/// Pending bytes that wake the writer at once when not under `always`.
const LAZY_WRITE_MAX: usize = 1 << 20;

/// `aof_state`: off.
const STATE_OFF: u8 = 0;
/// `aof_state`: on.
const STATE_ON: u8 = 1;
/// `aof_state`: enabled at run time, waiting for the first rewrite.
const STATE_WAIT_REWRITE: u8 = 2;

/// A finished snapshot handed to the writer: it appends the records logged
/// since the rewrite began, fsyncs, renames it over the file and goes on
/// appending to it.
#[derive(Debug)]
pub struct Swap {
    /// The snapshot, open for writing, positioned at its end.
    pub file: std::fs::File,
    /// Its path.
    pub temp: PathBuf,
    /// The path it replaces.
    pub path: PathBuf,
    /// Its size so far.
    pub size: u64,
}

/// What appenders and the writer share (one short-held lock).
#[derive(Debug, Default)]
pub struct Inner {
    /// Records not yet taken by the writer.
    pub pending: Vec<u8>,
    /// Logical offset of the end of everything appended.
    pub submitted: u64,
    /// A rewrite began at this logical offset: the writer keeps every
    /// record from there on for the new file.
    pub capture_from: Option<u64>,
    /// The rewrite was abandoned: drop what was kept.
    pub capture_abort: bool,
    /// A finished snapshot to swap in.
    pub swap: Option<Swap>,
    /// Stop after writing what is pending.
    pub stop: bool,
    /// Records appended so far (each `append` is one record).
    pub records: u64,
}

/// INFO persistence's figures.
#[derive(Debug)]
pub struct Stats {
    /// `aof_current_size`.
    pub current_size: AtomicU64,
    /// `aof_base_size`.
    pub base_size: AtomicU64,
    /// `aof_last_write_status` is ok.
    pub last_write_ok: AtomicBool,
    /// `aof_last_bgrewrite_status` is ok.
    pub last_rewrite_ok: AtomicBool,
    /// `aof_last_rewrite_time_sec` (-1 before the first).
    pub last_rewrite_secs: AtomicI64,
    /// `aof_rewrite_buffer_length`.
    pub rewrite_buffer_length: AtomicU64,
    /// `fsync` calls made (for tests and benchmarks).
    pub fsyncs: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            current_size: AtomicU64::new(0),
            base_size: AtomicU64::new(0),
            last_write_ok: AtomicBool::new(true),
            last_rewrite_ok: AtomicBool::new(true),
            last_rewrite_secs: AtomicI64::new(-1),
            rewrite_buffer_length: AtomicU64::new(0),
            fsyncs: AtomicU64::new(0),
        }
    }
}

/// The node's persistence: settings, the pending records, the writer and
/// rewrite threads.
#[derive(Debug)]
pub struct Aof {
    settings: Mutex<Settings>,
    /// `aof_state` (`STATE_*`).
    state: AtomicU8,
    /// `appendfsync`, as `AppendFsync::code`.
    fsync: AtomicU8,
    inner: Mutex<Inner>,
    /// Wakes the writer.
    pub(crate) wake: Condvar,
    /// Logical offset up to which records are on disk as `appendfsync`
    /// asks (under `always`: fsynced).
    acked: watch::Sender<u64>,
    /// Figures for INFO.
    pub stats: Stats,
    writer: Mutex<Option<JoinHandle<()>>>,
    rewriter: Mutex<Option<JoinHandle<()>>>,
    /// A rewrite is running (or was asked for).
    rewriting: AtomicBool,
    /// When the running rewrite started.
    rewrite_started: Mutex<Option<Instant>>,
    /// Asks the maintenance task to start a rewrite.
    rewrite_wanted: Notify,
    /// The rewrite must stop (shutdown, AOF turned off).
    pub(crate) cancel: AtomicBool,
    /// `fsync` each record alone (benchmark baseline, from
    /// `DISQUE_EMBEDDED_AOF_NO_GROUP_COMMIT=1`).
    pub(crate) no_group_commit: bool,
    /// `loading` (INFO).
    pub loading: AtomicBool,
    /// What the tests hold and observe.
    #[cfg(test)]
    pub(crate) hooks: TestHooks,
}

/// Test hooks: the writer can be held before each `fsync`, and the
/// connections count the replies of served GETJOBs written before their
/// delivery record was durable.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct TestHooks {
    /// While true, the writer waits before each `fsync`.
    hold_fsync: Mutex<bool>,
    /// Wakes the writer held by `hold_fsync`.
    released: Condvar,
    /// Replies of blocked GETJOBs served later, written out.
    pub served_replies: AtomicU64,
    /// Those of them written while their delivery record was not yet
    /// acknowledged as durable.
    pub served_early: AtomicU64,
}

#[cfg(test)]
impl TestHooks {
    /// Holds (true) or releases (false) the writer before its `fsync`s.
    pub fn hold_fsync(&self, hold: bool) {
        *lock(&self.hold_fsync) = hold;
        self.released.notify_all();
    }

    /// Called by the writer before each `fsync`.
    fn before_fsync(&self) {
        let mut held = lock(&self.hold_fsync);
        while *held {
            held = self.released.wait(held).unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Aof {
    /// Persistence with these settings, not started.
    pub fn new(settings: Settings) -> Aof {
        let (acked, _) = watch::channel(0);
        Aof {
            fsync: AtomicU8::new(settings.fsync.code()),
            settings: Mutex::new(settings),
            state: AtomicU8::new(STATE_OFF),
            inner: Mutex::new(Inner::default()),
            wake: Condvar::new(),
            acked,
            stats: Stats::default(),
            writer: Mutex::new(None),
            rewriter: Mutex::new(None),
            rewriting: AtomicBool::new(false),
            rewrite_started: Mutex::new(None),
            rewrite_wanted: Notify::new(),
            cancel: AtomicBool::new(false),
            no_group_commit: std::env::var_os("DISQUE_EMBEDDED_AOF_NO_GROUP_COMMIT")
                .is_some_and(|v| v == "1"),
            loading: AtomicBool::new(false),
            #[cfg(test)]
            hooks: TestHooks::default(),
        }
    }

    /// A copy of the settings.
    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// Changes the settings (the caller applies the consequences).
    pub fn update_settings(&self, f: impl FnOnce(&mut Settings)) {
        let mut s = lock(&self.settings);
        f(&mut s);
        self.fsync.store(s.fsync.code(), Ordering::Relaxed);
    }

    /// The current `appendfsync`.
    pub fn fsync_mode(&self) -> AppendFsync {
        AppendFsync::from_code(self.fsync.load(Ordering::Relaxed))
    }

    /// Whether records are being logged.
    pub fn enabled(&self) -> bool {
        self.state.load(Ordering::Relaxed) != STATE_OFF
    }

    /// `aof_state`'s name.
    pub fn state_name(&self) -> &'static str {
        match self.state.load(Ordering::Relaxed) {
            STATE_ON => "on",
            STATE_WAIT_REWRITE => "wait-rewrite",
            _ => "off",
        }
    }

    pub(crate) fn lock_inner(&self) -> MutexGuard<'_, Inner> {
        lock(&self.inner)
    }

    /// Appends the records `write` encodes; returns the logical offset of
    /// their end. Called by the state, under its lock.
    pub fn append(&self, write: impl FnOnce(&mut Vec<u8>)) -> u64 {
        let mut inner = self.lock_inner();
        let before = inner.pending.len();
        write(&mut inner.pending);
        let added = (inner.pending.len() - before) as u64;
        inner.submitted += added;
        inner.records += 1;
        let end = inner.submitted;
        let len = inner.pending.len();
        drop(inner);
        // The writer is woken by the first record after it took the
        // pending ones (under `always` it writes at once: a client waits;
        // else it lets records gather for `writer::LAZY_WRITE` first), and
        // again if much is pending.
        let wake = (before == 0 && added > 0) || (before < LAZY_WRITE_MAX && len >= LAZY_WRITE_MAX);
        if wake {
            self.wake.notify_one();
        }
        end
    }

    /// Publishes that records up to `offset` are as durable as asked.
    pub(crate) fn publish_acked(&self, offset: u64) {
        self.acked.send_if_modified(|v| {
            if offset > *v {
                *v = offset;
                true
            } else {
                false
            }
        });
    }

    /// Waits, under `appendfsync always`, until the records up to `offset`
    /// are fsynced; returns at once otherwise.
    pub async fn wait_acked(&self, offset: u64) {
        if offset == 0 || !self.enabled() || self.fsync_mode() != AppendFsync::Always {
            return;
        }
        if *self.acked.borrow() >= offset {
            return;
        }
        let mut rx = self.acked.subscribe();
        let _ = rx.wait_for(|v| *v >= offset).await;
    }

    /// Counts, for the tests, the reply of a served GETJOB written out now;
    /// its delivery record ends at `logged`.
    #[cfg(test)]
    pub(crate) fn served_reply_written(&self, logged: u64) {
        self.hooks.served_replies.fetch_add(1, Ordering::SeqCst);
        if *self.acked.borrow() < logged {
            self.hooks.served_early.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// How many tasks wait in [`Aof::wait_acked`] (tests).
    #[cfg(test)]
    pub(crate) fn acked_waiters(&self) -> usize {
        self.acked.receiver_count()
    }

    /// Bytes of records not yet written (`aof_buffer_length`).
    pub fn pending_len(&self) -> usize {
        self.lock_inner().pending.len()
    }

    /// Starts keeping the records from now on for a rewrite (kept if one
    /// is already being kept). Call with the state locked.
    pub fn begin_capture(&self) {
        let mut inner = self.lock_inner();
        if inner.capture_from.is_none() {
            inner.capture_from = Some(inner.submitted);
            inner.capture_abort = false;
        }
    }

    /// Whether a rewrite is running.
    pub fn rewriting(&self) -> bool {
        self.rewriting.load(Ordering::Relaxed)
    }

    /// Seconds the running rewrite has taken, or -1.
    pub fn current_rewrite_secs(&self) -> i64 {
        match *lock(&self.rewrite_started) {
            Some(t) if self.rewriting() => t.elapsed().as_secs() as i64,
            _ => -1,
        }
    }

    /// BGREWRITEAOF: asks for a rewrite; false if one is running.
    pub fn request_rewrite(&self) -> bool {
        if !self.begin_rewrite() {
            return false;
        }
        self.rewrite_wanted.notify_one();
        true
    }

    /// Marks a rewrite as running; false if one already is.
    fn begin_rewrite(&self) -> bool {
        if self
            .rewriting
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        *lock(&self.rewrite_started) = Some(Instant::now());
        true
    }

    /// A rewrite ended (`ok`: it replaced the file).
    pub(crate) fn rewrite_done(&self, ok: bool) {
        let secs = lock(&self.rewrite_started)
            .take()
            .map_or(0, |t| t.elapsed().as_secs() as i64);
        self.stats.last_rewrite_ok.store(ok, Ordering::Relaxed);
        self.stats.last_rewrite_secs.store(secs, Ordering::Relaxed);
        if ok && self.state.load(Ordering::Relaxed) == STATE_WAIT_REWRITE {
            self.state.store(STATE_ON, Ordering::Relaxed);
        }
        self.rewriting.store(false, Ordering::Release);
    }

    /// Whether the file grew enough since the last rewrite for an automatic
    /// one (`auto-aof-rewrite-percentage`, `auto-aof-rewrite-min-size`).
    fn wants_auto_rewrite(&self) -> bool {
        if self.state.load(Ordering::Relaxed) != STATE_ON || self.rewriting() {
            return false;
        }
        let s = lock(&self.settings);
        let (perc, min) = (s.auto_percentage, s.auto_min_size);
        drop(s);
        let size = self.stats.current_size.load(Ordering::Relaxed);
        if perc == 0 || size <= min {
            return false;
        }
        let base = self.stats.base_size.load(Ordering::Relaxed).max(1);
        let growth = (u128::from(size) * 100 / u128::from(base)).saturating_sub(100);
        growth >= u128::from(perc)
    }

    fn start_writer(self: &Arc<Self>, file: Option<std::fs::File>) {
        {
            let mut inner = self.lock_inner();
            inner.stop = false;
        }
        let aof = self.clone();
        let handle = std::thread::Builder::new()
            .name("disque-aof-writer".into())
            .spawn(move || writer::run(&aof, file));
        match handle {
            Ok(h) => *lock(&self.writer) = Some(h),
            Err(e) => {
                tracing::error!("cannot start the AOF writer thread: {e}");
                self.stats.last_write_ok.store(false, Ordering::Relaxed);
            }
        }
    }

    fn stop_writer(&self) {
        self.lock_inner().stop = true;
        self.wake.notify_one();
        if let Some(h) = lock(&self.writer).take() {
            let _ = h.join();
        }
        let mut inner = self.lock_inner();
        inner.pending = Vec::new();
        inner.capture_from = None;
        inner.swap = None;
        let end = inner.submitted;
        drop(inner);
        // Nobody waits for a file that is no longer written.
        self.publish_acked(end);
    }

    fn stop_rewrite(&self) {
        self.cancel.store(true, Ordering::Release);
        if let Some(h) = lock(&self.rewriter).take() {
            let _ = h.join();
        }
        self.cancel.store(false, Ordering::Release);
    }

    /// Flushes and fsyncs what is pending, then stops the threads (node
    /// shutdown). Blocking.
    pub fn close(&self) {
        let was_on = self.enabled();
        self.stop_rewrite();
        self.stop_writer();
        self.state.store(STATE_OFF, Ordering::Relaxed);
        if was_on {
            // How well group commit grouped: records per fsync.
            tracing::info!(
                "append-only file closed: {} records logged, {} fsyncs",
                self.lock_inner().records,
                self.stats.fsyncs.load(Ordering::Relaxed)
            );
        }
    }
}

/// The settings a node starts with.
pub fn settings_of(config: &crate::Config) -> Settings {
    Settings {
        enabled: config.appendonly,
        fsync: config.appendfsync,
        dir: config.dir.clone(),
        filename: config.appendfilename.clone(),
        auto_percentage: config.auto_aof_rewrite_percentage,
        auto_min_size: config.auto_aof_rewrite_min_size,
    }
}

/// At start: with `appendonly yes`, loads the file (creating it if
/// missing) into the state and starts logging. Blocking (it reads the
/// whole file).
pub fn start(shared: &Arc<Shared>) -> std::io::Result<()> {
    let aof = &shared.aof;
    let settings = aof.settings();
    if settings.enabled {
        aof.loading.store(true, Ordering::Relaxed);
        let mut db = shared.db();
        let loaded = load::open(&settings, &mut db, shared.clock.now_ms());
        aof.loading.store(false, Ordering::Relaxed);
        let (file, size) = loaded?;
        aof.stats.current_size.store(size, Ordering::Relaxed);
        aof.stats.base_size.store(size, Ordering::Relaxed);
        aof.state.store(STATE_ON, Ordering::Relaxed);
        aof.start_writer(Some(file));
        db.set_log(Some(aof.clone()));
    }
    Ok(())
}

/// Starts the task that runs rewrites (on the current runtime).
pub fn spawn_maintenance(shared: &Arc<Shared>) {
    tokio::spawn(maintain(shared.clone()));
}

/// CONFIG SET appendonly yes (`db` is the locked state): logs from now on
/// and writes the whole state by a rewrite (`aof_state` is `wait-rewrite`
/// until it is done).
pub fn enable(shared: &Shared, db: &mut Db) -> Result<(), String> {
    let aof = &shared.aof;
    if aof.enabled() {
        return Ok(());
    }
    let dir = aof.settings().dir;
    if !dir.is_dir() || aof.rewriting() {
        return Err("Unable to turn on AOF. Check server logs.".into());
    }
    aof.update_settings(|s| s.enabled = true);
    aof.state.store(STATE_WAIT_REWRITE, Ordering::Relaxed);
    {
        let mut inner = aof.lock_inner();
        inner.pending.clear();
        inner.capture_from = Some(inner.submitted);
        inner.capture_abort = false;
    }
    aof.start_writer(None);
    db.set_log(Some(aof.clone()));
    aof.request_rewrite();
    Ok(())
}

/// CONFIG SET appendonly no (`db` is the locked state): stops logging
/// (what was written stays); a running rewrite is abandoned.
pub fn disable(shared: &Shared, db: &mut Db) {
    let aof = &shared.aof;
    if !aof.enabled() {
        return;
    }
    db.set_log(None);
    aof.update_settings(|s| s.enabled = false);
    // The rewrite thread needs the state's lock to stop: it is not waited
    // for here.
    aof.cancel.store(true, Ordering::Release);
    aof.stop_writer();
    aof.state.store(STATE_OFF, Ordering::Relaxed);
}

/// How often the maintenance task looks at the file's growth.
const MAINTAIN_EVERY: Duration = Duration::from_millis(100);

/// Starts the rewrites asked for (BGREWRITEAOF, CONFIG SET appendonly yes)
/// and the automatic ones, until shutdown.
async fn maintain(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut interval = tokio::time::interval(MAINTAIN_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let asked = tokio::select! {
            _ = shared.aof.rewrite_wanted.notified() => true,
            _ = interval.tick() => false,
            _ = crate::shared::stopped(&mut shutdown) => return,
        };
        if !asked {
            if !shared.aof.wants_auto_rewrite() || !shared.aof.begin_rewrite() {
                continue;
            }
            tracing::info!("starting an automatic AOF rewrite");
        }
        let previous = lock(&shared.aof.rewriter).take();
        if let Some(h) = previous {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
        shared.aof.cancel.store(false, Ordering::Release);
        let s = shared.clone();
        let handle = std::thread::Builder::new()
            .name("disque-aof-rewrite".into())
            .spawn(move || rewrite::run(&s));
        match handle {
            Ok(h) => *lock(&shared.aof.rewriter) = Some(h),
            Err(e) => {
                tracing::error!("cannot start the AOF rewrite thread: {e}");
                shared.aof.rewrite_done(false);
            }
        }
    }
}

/// `fsync`s a directory so that a rename or a new file in it survives a
/// crash of the machine.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// `e` with the step that failed and its file in the message (its kind
/// kept), so that a failed rewrite's log line says where it failed.
pub(crate) fn failed(e: std::io::Error, step: &str, path: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{step} {}: {e}", path.display()))
}

/// The directory part of `path` (`.` for a bare name).
pub fn dir_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
