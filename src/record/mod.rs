//! `--record FILE`: every finished connection, as `--json` prints it, kept
//! in a SQLite database (see [`db`] for the table).
//!
//! The sink hands each record to [`Recorder::record`], which only queues it:
//! a writer thread commits what has queued, in one transaction per batch.
//! Live, a full queue drops the record and counts it (capture never waits
//! for the disk); from a file, the sink waits instead, since nothing is lost
//! by waiting. A failed write (disk full, the file locked by another
//! program past [`db::BUSY_TIMEOUT`]) loses that batch: it is counted,
//! logged and, in headless runs, said on stderr; the next batch tries again.
//! Nothing here is on the packet path: records come from the workers'
//! output, after connections have ended.

pub mod db;
pub mod history;

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use rustnet_core::track::Connection;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Records queued for the writer before they are dropped (live).
const QUEUE: usize = 8192;
/// Most records in one transaction.
const BATCH: usize = 4096;
/// How long the writer gathers records before it commits them (unless a
/// whole batch came first): live, where records trickle in, a transaction
/// (and its 64 KiB pages written to the WAL) per half second rather than
/// per record. A `kill -9` loses at most this much. (The bench capture's
/// 8 661 writes were the statement journal, see `db::insert_sql`, not
/// this.)
const COMMIT_EVERY: Duration = Duration::from_millis(500);
/// How often retention runs (and once at the end).
const RETAIN_EVERY: Duration = Duration::from_secs(10);

/// Retention: `--record-max-age`, `--record-max-size`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Retention {
    pub max_age: Option<Duration>,
    pub max_size: Option<u64>,
}

/// What the recording did, at the end.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecordStats {
    /// Records handed to the recorder.
    pub offered: u64,
    /// Records committed to the database.
    pub written: u64,
    /// Dropped because the queue was full (the writer fell behind).
    pub dropped: u64,
    /// Lost by failed writes.
    pub failed: u64,
    /// Deleted by retention.
    pub expired: u64,
    /// The last write error, if any.
    pub error: Option<String>,
}

/// The sink's end of a recording.
pub struct Recorder {
    tx: Option<Sender<db::Row>>,
    blocking: bool,
    offered: u64,
    dropped: u64,
    writer: Option<JoinHandle<RecordStats>>,
    outcome: RecordOutcome,
}

impl Recorder {
    /// Opens `path` (errors here, before capture starts) and starts the
    /// writer. `blocking`: a full queue waits rather than drops (capture
    /// files). `echo`: write errors also go to stderr as they happen (not
    /// under the TUI, which owns the terminal).
    pub fn start(path: &Path, retention: Retention, blocking: bool, echo: bool) -> anyhow::Result<Recorder> {
        let conn = db::open_for_writing(path)?;
        let (tx, rx) = bounded(QUEUE);
        let mut w = Writer {
            conn,
            path: path.to_path_buf(),
            file_id: file_id(path),
            retention,
            echo,
            failing: None,
            stats: RecordStats::default(),
        };
        let writer = std::thread::Builder::new().name("record".into()).spawn(move || {
            w.run(&rx);
            w.stats
        })?;
        Ok(Recorder {
            tx: Some(tx),
            blocking,
            offered: 0,
            dropped: 0,
            writer: Some(writer),
            outcome: RecordOutcome::default(),
        })
    }

    /// Queues one finished connection: `json` is its `--json` line, `local`
    /// and `remote` its endpoints as that line shows them.
    pub fn record(&mut self, c: &Connection, json: Vec<u8>, local: String, remote: String) {
        self.queue(row(c, json, local, remote));
    }

    fn queue(&mut self, row: db::Row) {
        let Some(tx) = &self.tx else { return };
        self.offered += 1;
        let sent = if self.blocking {
            tx.send(row).is_ok()
        } else {
            match tx.try_send(row) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => false,
                Err(TrySendError::Disconnected(_)) => false,
            }
        };
        if !sent {
            self.dropped += 1;
        }
    }

    /// Where the end-of-recording counts land when the recorder is dropped.
    pub fn outcome(&self) -> RecordOutcome {
        self.outcome.clone()
    }
}

impl Drop for Recorder {
    /// Commits what is queued, stops the writer and sets the outcome.
    fn drop(&mut self) {
        self.tx = None;
        let mut stats = match self.writer.take().map(JoinHandle::join) {
            Some(Ok(s)) => s,
            _ => RecordStats { error: Some("the record writer stopped unexpectedly".into()), ..Default::default() },
        };
        stats.offered = self.offered;
        stats.dropped = self.dropped;
        // Whatever was queued and neither written nor counted was lost with the writer.
        let accounted = stats.written + stats.dropped + stats.failed;
        stats.failed += self.offered.saturating_sub(accounted);
        let _ = self.outcome.set(stats);
    }
}

/// Where the end-of-recording counts land, for whoever reports on the
/// session (set once, when the recorder is dropped).
pub type RecordOutcome = Arc<OnceLock<RecordStats>>;

/// The row for one connection; `json` is the `--json` line (its line end, if
/// any, is left out), `local` and `remote` the endpoints as it shows them.
pub fn row(c: &Connection, mut json: Vec<u8>, local: String, remote: String) -> db::Row {
    if json.last() == Some(&b'\n') {
        json.pop();
    }
    db::Row {
        first_seen: c.first_seen.as_secs_f64(),
        last_seen: c.last_seen.as_secs_f64(),
        proto: c.proto.name(),
        local,
        // The address part of `remote`: formatting the address a second
        // time cost 1 500 instructions a record.
        remote_addr: address_of(&remote, c.proto.has_ports()).to_string(),
        remote,
        process: c.process.as_ref().map(|p| p.name.clone()),
        pid: c.process.as_ref().map(|p| p.pid),
        app: c.app.as_ref().map(|a| a.protocol()),
        tx_bytes: c.tx_bytes,
        rx_bytes: c.rx_bytes,
        hostname: c.hostname.clone(),
        // serde_json writes UTF-8, so the check passes and the line is
        // moved, not copied; lossy only to avoid a panic path.
        record: String::from_utf8(json).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// "10.0.0.5:443" → "10.0.0.5", "[fd00::1]:443" → "fd00::1"; an endpoint
/// without a port is its address already.
fn address_of(endpoint: &str, with_port: bool) -> &str {
    if !with_port {
        return endpoint;
    }
    match endpoint.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or(v6, |(a, _)| a),
        None => endpoint.rsplit_once(':').map_or(endpoint, |(a, _)| a),
    }
}

/// Device and inode: tells when the file was deleted or replaced.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

struct Writer {
    conn: rusqlite::Connection,
    path: PathBuf,
    file_id: Option<(u64, u64)>,
    retention: Retention,
    echo: bool,
    /// The error the last write failed with, while writes fail.
    failing: Option<String>,
    stats: RecordStats,
}

impl Writer {
    fn run(&mut self, rx: &Receiver<db::Row>) {
        let mut batch = Vec::with_capacity(BATCH);
        let mut last_retain = Instant::now();
        self.retain();
        while let Ok(first) = rx.recv() {
            batch.push(first);
            let until = Instant::now() + COMMIT_EVERY;
            while batch.len() < BATCH {
                match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
                    Ok(r) => batch.push(r),
                    // Timeout, or the session ended (the rest is committed below).
                    Err(_) => break,
                }
            }
            self.write(&batch);
            batch.clear();
            if last_retain.elapsed() >= RETAIN_EVERY {
                self.retain();
                last_retain = Instant::now();
            }
        }
        self.retain();
    }

    fn write(&mut self, batch: &[db::Row]) {
        self.follow_file();
        match db::insert(&mut self.conn, batch) {
            Ok(()) => {
                if self.failing.take().is_some() {
                    self.say(format_args!("writing again to {}", self.path.display()));
                }
                self.stats.written += batch.len() as u64;
            }
            Err(e) => {
                self.stats.failed += batch.len() as u64;
                let msg = e.to_string();
                // Said once per distinct error, not once per batch.
                if self.failing.as_deref() != Some(msg.as_str()) {
                    self.say(format_args!(
                        "cannot write to {}: {msg} ({} connections not recorded so far; capture goes on)",
                        self.path.display(),
                        self.stats.failed
                    ));
                }
                self.failing = Some(msg.clone());
                self.stats.error = Some(msg);
            }
        }
    }

    /// A database file deleted or replaced under us would swallow every
    /// later record unseen: open the path again (creating a new database).
    fn follow_file(&mut self) {
        let now = file_id(&self.path);
        if now == self.file_id && now.is_some() {
            return;
        }
        match db::open_for_writing(&self.path) {
            Ok(conn) => {
                self.say(format_args!(
                    "{} was deleted or replaced: recording into a new database there",
                    self.path.display()
                ));
                self.conn = conn;
                self.file_id = file_id(&self.path);
            }
            Err(e) => {
                self.say(format_args!("{} was deleted or replaced and cannot be reopened: {e}", self.path.display()))
            }
        }
    }

    fn retain(&mut self) {
        let Retention { max_age, max_size } = self.retention;
        let mut deleted = 0;
        let mut r = Ok(());
        if let Some(age) = max_age {
            r = db::delete_older_than(&self.conn, age).map(|n| deleted += n);
        }
        if let (Ok(()), Some(max)) = (&r, max_size) {
            r = db::shrink_to(&self.conn, max).map(|n| deleted += n);
        }
        self.stats.expired += deleted as u64;
        if deleted > 0 {
            log::info!("record: retention deleted {deleted} connections from {}", self.path.display());
        }
        if let Err(e) = r {
            self.say(format_args!("retention on {} failed: {e}", self.path.display()));
        }
    }

    fn say(&self, msg: std::fmt::Arguments<'_>) {
        log::warn!("record: {msg}");
        if self.echo {
            eprintln!("rustnet: record: {msg}");
        }
    }
}

/// Prints what went wrong with the recording, if anything; returns the
/// exit code it calls for: 1 when records were lost to write errors.
pub fn report(outcome: &RecordOutcome, path: &Path) -> i32 {
    let Some(stats) = outcome.get() else { return 0 };
    log::info!("record: {stats:?}");
    if stats.dropped > 0 {
        eprintln!(
            "rustnet: warning: record: {} connections dropped (the writer fell behind); {} written to {}",
            stats.dropped,
            stats.written,
            path.display()
        );
    }
    if stats.failed > 0 {
        let why = stats.error.as_deref().unwrap_or("write errors");
        eprintln!(
            "rustnet: record: {} connections not written to {} ({why}); {} written",
            stats.failed,
            path.display(),
            stats.written
        );
        return 1;
    }
    0
}

#[cfg(test)]
mod tests {

    #[test]
    fn remote_addr_is_the_address_as_std_formats_it() {
        use rustnet_core::track::{Endpoint, Proto};
        for addr in ["10.0.0.5", "255.255.255.255", "fd00::1", "::", "::ffff:10.0.0.1", "fe80::1:2:3:4"] {
            let ip: std::net::IpAddr = addr.parse().expect("address");
            for proto in [Proto::Tcp, Proto::Udp, Proto::Icmp, Proto::Icmpv6, Proto::Arp] {
                let ep = Endpoint { addr: ip, port: 65535 };
                let shown = ep.display(proto).to_string();
                assert_eq!(address_of(&shown, proto.has_ports()), ip.to_string(), "{shown}");
            }
        }
    }

    use super::*;

    fn row(n: u32) -> db::Row {
        db::Row {
            first_seen: f64::from(n),
            last_seen: f64::from(n),
            proto: "udp",
            local: "10.0.0.1:5000".into(),
            remote: "10.0.0.2:53".into(),
            remote_addr: "10.0.0.2".into(),
            process: None,
            pid: None,
            app: Some("DNS"),
            tx_bytes: 1,
            rx_bytes: 2,
            hostname: None,
            record: format!("{{\"n\":{n}}}"),
        }
    }

    fn rows(path: &Path) -> Vec<String> {
        let Ok(db) = db::open_for_reading(path) else { return Vec::new() };
        let mut stmt = db.prepare("SELECT record FROM connections ORDER BY id").expect("prepare");
        stmt.query_map([], |r| r.get(0)).expect("query").collect::<Result<_, _>>().expect("rows")
    }

    /// The file deleted mid-run: the next batch goes into a new database at
    /// the same path, said and not lost.
    #[test]
    fn a_deleted_database_is_created_again() {
        let path = std::env::temp_dir().join(format!("rustnet-rec-deleted-{}.db", std::process::id()));
        let remove = |p: &Path| {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
            }
        };
        remove(&path);
        let mut rec = Recorder::start(&path, Retention::default(), true, false).expect("start");
        let outcome = rec.outcome();
        rec.queue(row(1));
        let start = Instant::now();
        while rows(&path).is_empty() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(rows(&path), ["{\"n\":1}"]);
        remove(&path);
        rec.queue(row(2));
        drop(rec);
        assert_eq!(rows(&path), ["{\"n\":2}"]);
        let stats = outcome.get().expect("set on drop");
        assert_eq!((stats.offered, stats.written, stats.failed, stats.dropped), (2, 2, 0, 0));
        remove(&path);
    }
}
