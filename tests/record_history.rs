//! `--record FILE`: what lands in the SQLite database, read back with the
//! real `sqlite3` program, against what `--json` printed for the same input
//! and against tshark's conversations (the fixtures' truth files); and the
//! faults (not a database, locked, full disk) that must not stop capture.

mod common;

use common::{fixture, parse_lines, record_conversations, split_endpoint, sqlite, testenv, truth};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rustnet-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
    }
    p
}

fn rustnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rustnet")).args(args).output().expect("the rustnet binary runs")
}

/// `rustnet --read FILE --json --record DB`.
fn record(file: &Path, db: &Path) -> Output {
    rustnet(&["--read", &file.to_string_lossy(), "--json", "--record", &db.to_string_lossy()])
}

fn ready() -> bool {
    testenv::tools_ready(&["sqlite3"])
}

/// tshark's TCP and UDP conversations of a fixture: (frames, bytes).
fn truth_conversations(file: &Path) -> BTreeMap<common::ConvKey, (u64, u64)> {
    let t = truth(file).expect("truth file");
    let mut m = BTreeMap::new();
    for proto in ["tcp", "udp"] {
        for c in t[format!("{proto}_conversations")].as_array().into_iter().flatten() {
            let end =
                |a: &str, p: &str| (c[a].as_str().unwrap_or_default().to_string(), c[p].as_u64().unwrap_or(0) as u16);
            let key = common::conv_key(proto, end("a", "a_port"), end("b", "b_port"));
            m.insert(key, (c["frames"].as_u64().unwrap_or(0), c["bytes"].as_u64().unwrap_or(0)));
        }
    }
    m
}

#[test]
fn rows_are_the_json_records_and_tshark_conversations() {
    if !ready() {
        return;
    }
    for name in ["http_curl.pcap", "tls13_curl.pcap", "dns_udp.pcap", "ssh.pcap", "tcp_rst.pcap"] {
        let file = fixture(name);
        let db = temp_db(&format!("{name}.db"));
        let out = record(&file, &db);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let printed: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
        assert!(!printed.is_empty(), "{name}: no records");
        // The stored record is the line --json printed, byte for byte, in order.
        let stored = sqlite(&db, "SELECT record FROM connections ORDER BY id");
        assert_eq!(stored, printed, "{name}");
        // tshark's conversations, from the stored records alone.
        let rows = parse_lines(&stored.join("\n"));
        assert_eq!(record_conversations(&rows), truth_conversations(&file), "{name}: conversations");
        // The indexed columns say what the record says.
        let cols = sqlite(
            &db,
            "SELECT proto, remote, remote_addr, ifnull(app, ''), printf('%.6f', first_seen), printf('%.6f', last_seen) \
             FROM connections ORDER BY id",
        );
        for (line, r) in cols.iter().zip(&rows) {
            let f: Vec<&str> = line.split('|').collect();
            let app = r["app"]["protocol"].as_str().unwrap_or_default();
            let remote = r["remote"].as_str().unwrap_or_default();
            let want_addr =
                if r["proto"] == "tcp" || r["proto"] == "udp" { split_endpoint(remote).0 } else { remote.to_string() };
            assert_eq!(&f[..4], [r["proto"].as_str().unwrap_or_default(), remote, want_addr.as_str(), app], "{name}");
            let secs = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
            assert!((secs(f[4]) - r["first_seen"].as_f64().unwrap_or(0.0)).abs() < 1e-6, "{name}: {line}");
            assert!((secs(f[5]) - r["last_seen"].as_f64().unwrap_or(0.0)).abs() < 1e-6, "{name}: {line}");
        }
        assert_eq!(sqlite(&db, "PRAGMA journal_mode"), ["wal"]);
    }
}

#[test]
fn a_second_run_appends() {
    if !ready() {
        return;
    }
    let db = temp_db("append.db");
    let first = record(&fixture("http_curl.pcap"), &db);
    let second = record(&fixture("dns_udp.pcap"), &db);
    assert!(first.status.success() && second.status.success());
    let mut printed = String::from_utf8_lossy(&first.stdout).into_owned();
    printed.push_str(&String::from_utf8_lossy(&second.stdout));
    let want: Vec<&str> = printed.lines().collect();
    assert_eq!(sqlite(&db, "SELECT record FROM connections ORDER BY id"), want);
    // The DNS run's queries, by app, with the names dig asked for (expected.json).
    let names = sqlite(
        &db,
        "SELECT DISTINCT json_extract(q.value, '$.name') FROM connections, json_each(record, '$.app.queries') AS q \
         WHERE app = 'DNS' ORDER BY 1",
    );
    let expected = common::fixture_expected();
    let mut told: Vec<String> = expected["dns_udp.pcap"]["dns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|q| q["name"].as_str().map(str::to_string))
        .collect();
    told.sort();
    told.dedup();
    assert!(!told.is_empty(), "expected.json lists dig's queries");
    assert_eq!(names, told);
    // The TLS run's SNI, by process (none from a file) as README's query asks.
    let sni = sqlite(
        &db,
        "SELECT ifnull(process, '?'), json_extract(record, '$.app.sni'), count(*) FROM connections          WHERE app IN ('TLS', 'QUIC') GROUP BY 1, 2",
    );
    assert!(sni.is_empty(), "no TLS in these two runs: {sni:?}");
}

#[test]
fn not_a_database_is_a_clear_error_and_left_alone() {
    let db = temp_db("junk.db");
    let junk = vec![0x42u8; 5000];
    std::fs::write(&db, &junk).expect("write");
    let out = record(&fixture("http_curl.pcap"), &db);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot open the record database") && err.contains("not a database"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(std::fs::read(&db).expect("read"), junk, "the file is left as it was");

    let out = record(&fixture("http_curl.pcap"), Path::new("/nonexistent-dir/x.db"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot open the record database /nonexistent-dir/x.db"), "{err}");
}

#[test]
fn a_locked_database_is_counted_and_capture_goes_on() {
    if !ready() {
        return;
    }
    let db = temp_db("locked.db");
    assert!(record(&fixture("http_curl.pcap"), &db).status.success());
    let before = sqlite(&db, "SELECT count(*) FROM connections");
    // Another program holds the write lock for the whole run.
    let holder = rusqlite::Connection::open(&db).expect("open");
    holder.execute_batch("BEGIN EXCLUSIVE; INSERT INTO connections SELECT * FROM connections LIMIT 0;").expect("lock");
    let out = record(&fixture("tls13_curl.pcap"), &db);
    holder.execute_batch("ROLLBACK").expect("unlock");
    drop(holder);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("database is locked") && err.contains("not written"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // --json printed every record all the same.
    let plain = rustnet(&["--read", &fixture("tls13_curl.pcap").to_string_lossy(), "--json"]);
    assert_eq!(out.stdout, plain.stdout);
    assert_eq!(sqlite(&db, "SELECT count(*) FROM connections"), before);
}

/// A database on a full file system: the writes fail, are said and counted,
/// capture goes on, and the file still opens afterwards.
#[test]
fn a_full_disk_is_counted_and_capture_goes_on() {
    if !ready() || !testenv::root_ready() || !testenv::tools_ready(&["unshare", "mount"]) {
        return;
    }
    let dir = temp_db("full").with_extension("d");
    std::fs::create_dir_all(&dir).expect("dir");
    let bin = env!("CARGO_BIN_EXE_rustnet");
    let input = fixture("netem_curl_iperf3.pcap");
    // In a private mount namespace: a 1 MiB tmpfs, the database created
    // there, then the rest of the space taken but for 40 KiB: room to open
    // the database (its 32 KiB -shm file), none for a batch.
    let script = format!(
        "set -e; mount -t tmpfs -o size=1m rustnet-full {d}; \
         {bin} --read {http} --json --record {d}/h.db >/dev/null; \
         dd if=/dev/zero of={d}/fill bs=4k 2>/dev/null || true; truncate -s -40K {d}/fill; \
         set +e; {bin} --read {input} --json --record {d}/h.db >{d}/../full.json 2>{d}/../full.err; echo $? >{d}/../full.rc; \
         rm {d}/fill; sqlite3 {d}/h.db 'PRAGMA integrity_check; SELECT count(*) FROM connections' >{d}/../full.check",
        d = dir.display(),
        http = fixture("http_curl.pcap").display(),
        input = input.display(),
    );
    let out = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("unshare");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let parent = dir.parent().expect("parent");
    let read = |n: &str| std::fs::read_to_string(parent.join(n)).unwrap_or_default();
    let err = read("full.err");
    assert_eq!(read("full.rc").trim(), "1", "{err}");
    assert!(err.contains("database or disk is full") && err.contains("not written"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let plain = rustnet(&["--read", &input.to_string_lossy(), "--json"]);
    assert_eq!(read("full.json").as_bytes(), plain.stdout, "--json printed every record");
    let check: Vec<String> = read("full.check").lines().map(str::to_string).collect();
    let first_run = parse_lines(&String::from_utf8_lossy(
        &rustnet(&["--read", &fixture("http_curl.pcap").to_string_lossy(), "--json"]).stdout,
    ));
    assert_eq!(check, ["ok".to_string(), first_run.len().to_string()], "the committed rows survive");
}

/// The README's queries run on a recorded file, and the SNI one finds the
/// name curl was told to send (expected.json).
#[test]
fn the_readme_queries_run() {
    if !ready() {
        return;
    }
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README");
    let section = readme.split("### History database").nth(1).expect("README has the History section");
    let section = section.split("\n### ").next().unwrap_or_default();
    let queries: Vec<&str> = section.split("```sql\n").skip(1).filter_map(|b| b.split("```").next()).collect();
    assert_eq!(queries.len(), 3, "three queries in the README");
    let db = temp_db("readme.db");
    for f in ["tls13_curl.pcap", "dns_udp.pcap", "http_curl.pcap"] {
        assert!(record(&fixture(f), &db).status.success());
    }
    for q in &queries {
        sqlite(&db, q);
    }
    let told = common::fixture_expected()["tls13_curl.pcap"]["tls"][0]["sni"].as_str().unwrap_or_default().to_string();
    assert_eq!(sqlite(&db, queries[2]), [format!("?|{told}|1")]);
}

/// A database file that cannot be written (immutable, so even root cannot):
/// every connection is counted as not written, --json is whole, no panic.
#[test]
fn a_read_only_database_is_counted_and_capture_goes_on() {
    if !ready() || !testenv::root_ready() || !testenv::tools_ready(&["chattr"]) {
        return;
    }
    let db = temp_db("readonly.db");
    assert!(record(&fixture("http_curl.pcap"), &db).status.success());
    let lock = Command::new("chattr").arg("+i").arg(&db).status().expect("chattr");
    if !lock.success() {
        testenv::skip("chattr +i is not supported on this file system");
        return;
    }
    let out = record(&fixture("dns_udp.pcap"), &db);
    let _ = Command::new("chattr").arg("-i").arg(&db).status();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("readonly database") && err.contains("not written"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let plain = rustnet(&["--read", &fixture("dns_udp.pcap").to_string_lossy(), "--json"]);
    assert_eq!(out.stdout, plain.stdout);
    let first =
        String::from_utf8_lossy(&rustnet(&["--read", &fixture("http_curl.pcap").to_string_lossy(), "--json"]).stdout)
            .lines()
            .count();
    assert_eq!(sqlite(&db, "SELECT count(*) FROM connections"), [first.to_string()]);
}
