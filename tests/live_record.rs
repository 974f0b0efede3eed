//! `--record` in the two-namespace lab: real curl and dig runs land in the
//! database with their process names, exactly as `--json` printed them, and
//! a `kill -9` leaves a database that opens and holds what was committed.

mod common;

use common::lab::Lab;
use common::sqlite;
use common::testenv::{lab_ready, tools_ready};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rustnet-live-record-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn servers(lab: &mut Lab) {
    let srv = lab.srv_v4;
    lab.spawn(true, &["python3", "-m", "http.server", "8080", "--bind", srv]);
    lab.wait_listening(8080);
    let addr = format!("--address=/www.lab.test/{srv}");
    let listen = format!("--listen-address={srv}");
    lab.spawn(true, &["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--bind-interfaces", &listen, &addr]);
}

fn curl_and_dig(lab: &Lab, curls: usize) {
    let srv = lab.srv_v4;
    let url = format!("http://{srv}:8080/");
    for _ in 0..curls {
        let o = lab.client(&["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", &url]);
        assert_eq!(String::from_utf8_lossy(&o.stdout), "200", "curl failed: {o:?}");
    }
    let at = format!("@{srv}");
    let o = lab.client(&["dig", "+short", "+tries=1", "+time=2", &at, "www.lab.test", "A"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), srv, "dig failed: {o:?}");
}

/// A lab with the servers, rustnet on the client's veth with `--json
/// --duration 6` and `extra` (`{out}` replaced by the path of `file`),
/// three curls and a dig, with tcpdump recording the same veth: rustnet's
/// output, `file`'s path and tcpdump's capture.
fn lab_run(prefix: &str, file: &str, extra: &[&str]) -> (std::process::Output, PathBuf, PathBuf) {
    let mut lab = Lab::up(&format!("{prefix}{}", std::process::id() % 10000));
    servers(&mut lab);
    let path = temp(file);
    let path_s = path.to_string_lossy().into_owned();
    let iface = lab.cli_if.clone();
    let reference = temp(&format!("{file}.tcpdump.pcap"));
    let ref_s = reference.to_string_lossy().into_owned();
    lab.spawn(false, &["tcpdump", "-i", &iface, "-s", "0", "-U", "--immediate-mode", "-w", &ref_s]);
    let mut argv = vec![env!("CARGO_BIN_EXE_rustnet"), "-i", &iface, "--json", "--duration", "6"];
    argv.extend(extra.iter().map(|a| if *a == "{out}" { path_s.as_str() } else { a }));
    lab.spawn(false, &argv);
    let rustnet = lab.take_last();
    common::lab::wait_thread(rustnet.id(), "capture");
    curl_and_dig(&lab, 3);
    let out = rustnet.wait_with_output().expect("rustnet finishes after --duration");
    assert!(out.status.success(), "rustnet failed: {}", String::from_utf8_lossy(&out.stderr));
    std::thread::sleep(Duration::from_millis(300));
    (out, path, reference)
}

#[test]
fn live_record_keeps_what_json_printed_with_processes() {
    if !(lab_ready() && tools_ready(&["curl", "dig", "dnsmasq", "python3", "sqlite3", "tcpdump"])) {
        return;
    }
    let (out, db, _) = lab_run("lr", "live.db", &["--record", "{out}"]);
    let printed: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(sqlite(&db, "SELECT record FROM connections ORDER BY id"), printed);
    // What the clients were told to do: three curls to :8080, one dig to :53.
    let srv = "10.77.0.2";
    assert_eq!(
        sqlite(&db, &format!("SELECT process, count(*) FROM connections WHERE remote = '{srv}:8080' GROUP BY 1")),
        ["curl|3"]
    );
    assert_eq!(
        sqlite(&db, &format!("SELECT process FROM connections WHERE remote = '{srv}:53' AND proto = 'udp'")),
        ["dig"]
    );
    let _ = std::fs::remove_dir_all(db.parent().expect("dir"));
}

/// `kill -9` while recording: the file opens afterwards (integrity check)
/// and holds every connection committed before the kill.
#[test]
fn live_record_survives_kill_9() {
    if !(lab_ready() && tools_ready(&["curl", "dig", "dnsmasq", "python3", "sqlite3", "tcpdump"])) {
        return;
    }
    let mut lab = Lab::up(&format!("lk{}", std::process::id() % 10000));
    servers(&mut lab);
    let db = temp("kill.db");
    let (iface, db_s) = (lab.cli_if.clone(), db.to_string_lossy().into_owned());
    lab.spawn(false, &[env!("CARGO_BIN_EXE_rustnet"), "-i", &iface, "--json", "--record", &db_s]);
    let mut rustnet = lab.take_last();
    common::lab::wait_thread(rustnet.id(), "capture");
    curl_and_dig(&lab, 2);
    // The closed HTTP connections leave the table after 5 s (CLOSED lifecycle).
    let start = Instant::now();
    let count = |sql: &str| sqlite(&db, sql).first().and_then(|n| n.parse::<u32>().ok()).unwrap_or(0);
    while count("SELECT count(*) FROM connections WHERE process = 'curl'") < 2
        && start.elapsed() < Duration::from_secs(20)
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    // The JSON line is written just after its row is queued: let it out.
    std::thread::sleep(Duration::from_millis(300));
    let still_running = rustnet.try_wait().expect("try_wait").is_none();
    let _ = rustnet.kill(); // SIGKILL
    let out = rustnet.wait_with_output().expect("wait");
    drop(lab);
    assert!(still_running, "rustnet had exited: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sqlite(&db, "PRAGMA integrity_check"), ["ok"]);
    assert_eq!(count("SELECT count(*) FROM connections WHERE process = 'curl'"), 2);
    // Every stored row is a record --json printed.
    let printed = String::from_utf8_lossy(&out.stdout);
    for row in sqlite(&db, "SELECT record FROM connections") {
        assert!(printed.lines().any(|l| l == row), "{row} not printed");
    }
    let _ = std::fs::remove_dir_all(db.parent().expect("dir"));
}

/// `--pcapng-export` live: every packet of the curl connections is named
/// curl in its `frame.comment`, from the first SYN on, and tshark reads the
/// file without a warning.
#[test]
fn live_pcapng_export_names_curl_from_the_first_syn() {
    if !(lab_ready() && tools_ready(&["curl", "dig", "dnsmasq", "python3", "tshark", "tcpdump"])) {
        return;
    }
    let (_, file, _) = lab_run("lp", "live.pcapng", &["--pcapng-export", "{out}"]);
    let t = std::process::Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args(["-Y", "tcp.port == 8080", "-T", "fields", "-e", "tcp.flags.str", "-e", "frame.comment"])
        .output()
        .expect("run tshark");
    let err = String::from_utf8_lossy(&t.stderr);
    assert!(err.lines().all(|l| l.starts_with("Running as user")), "tshark warns: {err}");
    let frames: Vec<String> = String::from_utf8_lossy(&t.stdout).lines().map(str::to_string).collect();
    let syns = frames.iter().filter(|l| l.contains("S·\t") && !l.contains('A')).count();
    assert_eq!(syns, 3, "three curls, three SYNs: {frames:#?}");
    for f in &frames {
        assert!(f.contains("process=curl pid="), "not named curl: {f}");
    }
    let _ = std::fs::remove_dir_all(file.parent().expect("dir"));
}

/// `--export-filter process:curl` live: the file holds exactly the packets
/// tcpdump saw on the curl connections (by 5-tuple, sequence numbers and
/// length), SYN included, and none of dig's.
#[test]
fn live_export_filter_keeps_exactly_curls_packets() {
    if !(lab_ready() && tools_ready(&["curl", "dig", "dnsmasq", "python3", "tshark", "tcpdump"])) {
        return;
    }
    let (_, file, reference) =
        lab_run("lf", "curl.pcapng", &["--pcapng-export", "{out}", "--export-filter", "process:curl"]);
    let fields =
        ["ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "frame.len"];
    let frames = |f: &std::path::Path, display: &str| {
        let mut c = std::process::Command::new("tshark");
        c.arg("-r").arg(f).args(["-Y", display, "-T", "fields"]);
        for x in fields {
            c.args(["-e", x]);
        }
        let o = c.output().expect("run tshark");
        assert!(o.status.success(), "tshark: {}", String::from_utf8_lossy(&o.stderr));
        let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect();
        v.sort();
        v
    };
    let got = frames(&file, "frame");
    let want = frames(&reference, "tcp.port == 8080");
    let syns = want.iter().filter(|l| l.contains("\t0x0002\t")).count();
    assert_eq!(syns, 3, "tcpdump saw three SYNs: {want:#?}");
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(file.parent().expect("dir"));
}
