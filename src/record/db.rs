//! The history database (`--record FILE`): one SQLite table of finished
//! connections, a few indexed columns to query by plus the full JSON record.
//!
//! ```sql
//! CREATE TABLE connections (
//!   id INTEGER PRIMARY KEY,      -- insertion order
//!   first_seen REAL, last_seen REAL,   -- seconds since the Unix epoch
//!   proto TEXT, local TEXT, remote TEXT,
//!   remote_addr TEXT,            -- remote without its port
//!   process TEXT, pid INTEGER,   -- NULL when unknown
//!   app TEXT,                    -- app.protocol, NULL when none
//!   tx_bytes INTEGER, rx_bytes INTEGER,
//!   hostname TEXT,               -- the remote's name (DNS seen, reverse DNS), not in the JSON record
//!   record TEXT                  -- the line --json prints, as JSON text
//! );
//! ```

use rusqlite::{Connection, OpenFlags, params};
use std::path::Path;
use std::time::Duration;

/// `PRAGMA user_version` of a database this module created: a file with
/// another non-zero version is some other program's and is refused.
pub const SCHEMA_VERSION: i64 = 1;

/// How long a write waits for another writer's lock before it fails (and
/// its batch is counted as not written).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Page size of a new database.
const PAGE_SIZE: i64 = 65536;
/// The writer's page cache, in KiB.
const CACHE_KIB: i64 = 8192;
/// The WAL's size that starts a checkpoint.
const WAL_BYTES: i64 = 4 << 20;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS connections (
    id INTEGER PRIMARY KEY,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    proto TEXT NOT NULL,
    local TEXT NOT NULL,
    remote TEXT NOT NULL,
    remote_addr TEXT NOT NULL,
    process TEXT,
    pid INTEGER,
    app TEXT,
    tx_bytes INTEGER NOT NULL,
    rx_bytes INTEGER NOT NULL,
    hostname TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS connections_first_seen ON connections(first_seen);
CREATE INDEX IF NOT EXISTS connections_last_seen ON connections(last_seen);
-- No index on process, remote_addr or app: each cost about 3 900
-- instructions a record (random keys), the time ones are appended in order.
";

/// One finished connection, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub first_seen: f64,
    pub last_seen: f64,
    pub proto: &'static str,
    pub local: String,
    pub remote: String,
    pub remote_addr: String,
    pub process: Option<String>,
    pub pid: Option<u32>,
    pub app: Option<&'static str>,
    pub tx_bytes: u64,
    pub rx_bytes: u64,
    /// The remote's host name as shown in the TUI (not part of the JSON record).
    pub hostname: Option<String>,
    /// The JSON record, without its line end.
    pub record: String,
}

/// Opens (creating when missing) a history database for writing: WAL mode,
/// the table and its indexes. A file that is not SQLite, or another
/// program's database, is an error here, before capture starts.
pub fn open_for_writing(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let db = Connection::open_with_flags(path, flags)?;
    db.busy_timeout(BUSY_TIMEOUT)?;
    let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version != 0 && version != SCHEMA_VERSION {
        return Err(not_ours(format!("user_version {version}, not a rustnet history database")));
    }
    // Before anything changes the file: another program's table is refused.
    check_columns(&db, false)?;
    if version == 0 {
        // Both only take effect on a database without tables. Incremental
        // auto-vacuum lets --record-max-size give freed pages back to the
        // file system. 64 KiB pages (the largest): a page holds about 90
        // records, not 5, so far fewer splits and page writes; with the
        // cache below, the writer's CPU per record about halves.
        db.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}; PRAGMA auto_vacuum = INCREMENTAL"))?;
    }
    // WAL: readers (sqlite3, --history) never block the writer; NORMAL
    // sync: a commit survives a crash of this process (not a power cut).
    let mode: String = db.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        log::warn!("record: {} stays in journal mode {mode} (WAL refused)", path.display());
    }
    db.execute_batch("PRAGMA synchronous = NORMAL")?;
    // A batch (up to 4 096 records of about 700 bytes) fits in the page
    // cache, so no page is spilled to the WAL before its commit and written
    // again at it; a checkpoint when the WAL passes about 4 MiB, whatever
    // the page size of the file (an older one may have 4 KiB pages).
    let page: i64 = db.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    db.execute_batch(&format!(
        "PRAGMA cache_size = -{CACHE_KIB}; PRAGMA wal_autocheckpoint = {}",
        (WAL_BYTES / page.max(512)).max(1)
    ))?;
    if version == 0 {
        // Only for a new database: one of ours needs no write to open,
        // so another writer holding the lock does not stop the session.
        db.execute_batch(&format!("BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"))?;
    }
    Ok(db)
}

/// Opens a history database for reading only.
pub fn open_for_reading(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let db = Connection::open_with_flags(path, flags)?;
    db.busy_timeout(BUSY_TIMEOUT)?;
    let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version != SCHEMA_VERSION {
        return Err(not_ours(format!("user_version {version}, not a rustnet history database")));
    }
    check_columns(&db, true)?;
    Ok(db)
}

/// A `connections` table of some other shape is refused, not written into;
/// a missing one is refused when `must_exist`.
fn check_columns(db: &Connection, must_exist: bool) -> rusqlite::Result<()> {
    let mut stmt = db.prepare("SELECT name FROM pragma_table_info('connections')")?;
    let names: Vec<String> = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    if names.is_empty() && !must_exist {
        return Ok(());
    }
    for want in ["first_seen", "last_seen", "process", "remote_addr", "app", "hostname", "record"] {
        if !names.iter().any(|n| n == want) {
            return Err(not_ours(format!("its connections table has no column {want}")));
        }
    }
    Ok(())
}

fn not_ours(msg: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH), Some(msg))
}

/// Rows per INSERT statement: one statement for many rows pays the
/// statement's own cost (start, halt, reset) once for all of them.
const ROWS_PER_INSERT: usize = 32;
/// Columns an INSERT binds per row.
const COLUMNS: usize = 13;

/// `INSERT … VALUES (…), (…), …` for `n` rows. `OR ROLLBACK`: a statement
/// that may fail after some of its rows went in makes SQLite keep a
/// statement journal (a temporary file that every page it touches is first
/// written to: 250 MB for 23 121 records); a failure rolls the whole batch
/// back instead, which is what `insert` does anyway.
fn insert_sql(n: usize) -> String {
    let row = format!("({})", vec!["?"; COLUMNS].join(", "));
    format!(
        "INSERT OR ROLLBACK INTO connections (first_seen, last_seen, proto, local, remote, remote_addr, process, pid, app, \
         tx_bytes, rx_bytes, hostname, record) VALUES {}",
        vec![row; n].join(", ")
    )
}

/// Binds `r` to the parameters `at + 1 ..= at + COLUMNS` of `stmt`.
fn bind(stmt: &mut rusqlite::Statement<'_>, at: usize, r: &Row) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(at + 1, r.first_seen)?;
    stmt.raw_bind_parameter(at + 2, r.last_seen)?;
    stmt.raw_bind_parameter(at + 3, r.proto)?;
    stmt.raw_bind_parameter(at + 4, &r.local)?;
    stmt.raw_bind_parameter(at + 5, &r.remote)?;
    stmt.raw_bind_parameter(at + 6, &r.remote_addr)?;
    stmt.raw_bind_parameter(at + 7, &r.process)?;
    stmt.raw_bind_parameter(at + 8, r.pid)?;
    stmt.raw_bind_parameter(at + 9, r.app)?;
    stmt.raw_bind_parameter(at + 10, i64::try_from(r.tx_bytes).unwrap_or(i64::MAX))?;
    stmt.raw_bind_parameter(at + 11, i64::try_from(r.rx_bytes).unwrap_or(i64::MAX))?;
    stmt.raw_bind_parameter(at + 12, &r.hostname)?;
    stmt.raw_bind_parameter(at + 13, &r.record)
}

/// Writes `rows` in one transaction: all or none.
pub fn insert(db: &mut Connection, rows: &[Row]) -> rusqlite::Result<()> {
    let tx = db.transaction()?;
    {
        let mut chunks = rows.chunks_exact(ROWS_PER_INSERT);
        if chunks.len() > 0 {
            let mut stmt = tx.prepare_cached(&insert_sql(ROWS_PER_INSERT))?;
            for chunk in &mut chunks {
                for (i, r) in chunk.iter().enumerate() {
                    bind(&mut stmt, i * COLUMNS, r)?;
                }
                stmt.raw_execute()?;
            }
        }
        let mut stmt = tx.prepare_cached(&insert_sql(1))?;
        for r in chunks.remainder() {
            bind(&mut stmt, 0, r)?;
            stmt.raw_execute()?;
        }
    }
    tx.commit()
}

/// `--record-max-age`: deletes connections that ended more than `age`
/// before the newest one recorded (packet time, so a capture file's
/// records are aged by its own clock). Returns the rows deleted.
pub fn delete_older_than(db: &Connection, age: Duration) -> rusqlite::Result<usize> {
    db.execute(
        "DELETE FROM connections WHERE last_seen < (SELECT max(last_seen) FROM connections) - ?1",
        params![age.as_secs_f64()],
    )
}

/// Bytes the database's pages hold (free pages not counted: they are
/// reused before the file grows).
pub fn used_bytes(db: &Connection) -> rusqlite::Result<u64> {
    let pages: i64 = db.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = db.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let size: i64 = db.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(u64::try_from((pages - free).max(0) * size).unwrap_or(0))
}

/// `--record-max-size`: deletes the oldest connections (a tenth of the
/// table at a time) until the pages in use fit in `max` bytes, then gives
/// free pages back to the file system. Returns the rows deleted.
pub fn shrink_to(db: &Connection, max: u64) -> rusqlite::Result<usize> {
    let mut deleted = 0;
    while used_bytes(db)? > max {
        let n = db.execute(
            "DELETE FROM connections WHERE id IN (SELECT id FROM connections ORDER BY id \
             LIMIT max(1, (SELECT count(*) FROM connections) / 10))",
            [],
        )?;
        if n == 0 {
            break;
        }
        deleted += n;
    }
    if deleted > 0 {
        db.execute_batch("PRAGMA incremental_vacuum")?;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: u32) -> Row {
        Row {
            first_seen: f64::from(i),
            last_seen: f64::from(i) + 1.0,
            proto: "tcp",
            local: "10.0.0.1:40000".into(),
            remote: "10.0.0.2:443".into(),
            remote_addr: "10.0.0.2".into(),
            process: Some("curl".into()),
            pid: Some(42),
            app: Some("TLS"),
            tx_bytes: u64::MAX,
            rx_bytes: 7,
            hostname: None,
            record: format!("{{\"n\":{i}}}"),
        }
    }

    fn temp(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("rustnet-db-{}-{name}", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
        p
    }

    #[test]
    fn rows_go_in_and_ages_and_sizes_are_bounded() {
        let path = temp("rows.db");
        let mut db = open_for_writing(&path).expect("open");
        insert(&mut db, &(0..100).map(row).collect::<Vec<_>>()).expect("insert");
        let n: i64 = db.query_row("SELECT count(*) FROM connections", [], |r| r.get(0)).expect("count");
        assert_eq!(n, 100);
        // Newest last_seen is 100: an age of 9.5 s keeps last_seen 91..=100.
        assert_eq!(delete_older_than(&db, Duration::from_secs_f64(9.5)).expect("age"), 90);
        // Enough rows that a quarter of them is well above the smallest
        // database (a few 64 KiB pages); 49 900 is not a multiple of the
        // rows per INSERT, so both statements run.
        insert(&mut db, &(100..50_000).map(row).collect::<Vec<_>>()).expect("insert");
        let mut stmt = db.prepare("SELECT record FROM connections ORDER BY id").expect("prepare");
        let records: Vec<String> =
            stmt.query_map([], |r| r.get(0)).expect("query").collect::<Result<_, _>>().expect("rows");
        drop(stmt);
        let want: Vec<String> = (90..50_000).map(|i| format!("{{\"n\":{i}}}")).collect();
        assert!(records == want, "every row once, in order");
        let before = used_bytes(&db).expect("size");
        shrink_to(&db, before / 4).expect("shrink");
        assert!(used_bytes(&db).expect("size") <= before / 4);
        let oldest: f64 = db.query_row("SELECT min(first_seen) FROM connections", [], |r| r.get(0)).expect("min");
        assert!(oldest > 10_000.0, "the oldest rows go first: {oldest}");
        drop(db);
        // A second open appends; reading sees the same table.
        let r = open_for_reading(&path).expect("read");
        let n: i64 = r.query_row("SELECT count(*) FROM connections", [], |r| r.get(0)).expect("count");
        assert!(n > 0);
    }

    #[test]
    fn other_files_are_refused_not_overwritten() {
        let path = temp("junk.db");
        std::fs::write(&path, vec![0x5a; 8192]).expect("write");
        let e = open_for_writing(&path).expect_err("not SQLite");
        assert!(e.to_string().contains("not a database"), "{e}");
        assert_eq!(std::fs::read(&path).expect("read"), vec![0x5a; 8192], "left as it was");

        let path = temp("other.db");
        let other = Connection::open(&path).expect("open");
        other.execute_batch("CREATE TABLE connections (a INTEGER)").expect("create");
        drop(other);
        let e = open_for_writing(&path).expect_err("another program's table");
        assert!(e.to_string().contains("no column"), "{e}");
    }
}
