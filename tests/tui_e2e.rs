//! End to end: the real binary in a pseudo-terminal (tmux), reading a corpus
//! capture, driven by keys; the screen is checked after each step, and the
//! process must exit after `q q`, and on SIGHUP with the terminal restored.
//! Skipped (with a note) without tmux or corpus.

mod common;

use common::tmux::Tmux;

use std::process::Command;
use std::time::Duration;

const FILE: &str = "ndpi_443-curl.pcap";

fn truth(path: &std::path::Path) -> serde_json::Value {
    common::truth(path).expect("truth JSON beside the capture")
}

#[test]
fn tui_reads_file_filters_details_help_and_quits() {
    let Some(dir) = common::corpus_dir() else { return };
    if !common::testenv::tools_ready(&["tmux"]) {
        return;
    }
    // tmux starts the shell in our directory, but keep the path independent of it.
    let file = std::fs::canonicalize(dir.join(FILE)).expect("corpus file exists");
    let conv = &truth(&file)["tcp_conversations"][0];
    let client = format!("{}:{}", conv["a"].as_str().unwrap_or(""), conv["a_port"]);
    let server = format!("{}:{}", conv["b"].as_str().unwrap_or(""), conv["b_port"]);
    // The table names the server by the SNI the client sent (tshark's).
    let named = format!("{}:{}", truth(&file)["tls_snis"][0].as_str().unwrap_or("-"), conv["b_port"]);
    let tmux = Tmux::new(format!("rustnet-e2e-{}", std::process::id()), "e2e");
    let cmd = format!("{} --read {}; echo RUSTNET_EXIT=$?; sleep 60", env!("CARGO_BIN_EXE_rustnet"), file.display());
    tmux.start(120, 40, &cmd);

    // The replay ends and the connection stays on screen, server end as remote.
    let packets = format!("packets {} ", truth(&file)["packet_count"]);
    tmux.wait_all("the finished replay", &["(finished)", &named, "Overview", "drops kernel 0", &packets, "q quit"]);

    // Filter mode: the bar shows what is typed; the footer the filter keys.
    tmux.keys(&["/"]);
    tmux.wait_all("filter mode", &["Enter keep", "filter /"]);
    tmux.text("sni:");
    // Whether or not `sni:` alone parses, the table shows this connection
    // (it matches, or the last valid, empty, filter stays in force).
    tmux.wait_all("typed filter", &["/sni:", &named, "Enter keep"]);
    tmux.keys(&["Enter"]);
    tmux.wait_all("filter kept, normal mode", &["Enter details", "/sni:", &named]);

    // Move, then open the details of the selected connection.
    tmux.keys(&["j"]);
    tmux.keys(&["Enter"]);
    let sent = format!("sent           {} packets", conv["frames_a_to_b"]);
    let received = format!("received       {} packets", conv["frames_b_to_a"]);
    tmux.wait_all(
        "details",
        &[
            "Connection details",
            &format!("remote         {server}"),
            &format!("local          {client}"),
            &sent,
            &received,
            "Esc back",
        ],
    );

    // Tab goes on to Activity: a file names no process, so its one row
    // holds every byte of the file (tshark's conversation), 1 connection.
    tmux.keys(&["Tab"]);
    let total = |k: &str| conv[k].as_f64().map(|b| format!("{:.1} kB", b / 1000.0)).unwrap_or_default();
    let wants = [total("bytes_a_to_b"), total("bytes_b_to_a"), "0/1".into()];
    tmux.wait_all("activity", &["Processes", "Open/All", "Enter filter overview"]);
    tmux.wait_for("the file's totals in the activity row", |s| {
        let row = s.lines().find(|l| l.contains("(no process)")).unwrap_or("");
        wants.iter().all(|w| row.contains(w.as_str()))
    });
    // `a` in the overview groups by process: the file names none, so one
    // group row holds the connection with tshark's bytes; Enter opens it.
    tmux.keys(&["1"]);
    tmux.keys(&["a"]);
    let bytes = total("bytes");
    tmux.wait_for("the process group row", |s| {
        s.lines().any(|l| {
            l.starts_with('▸') && l.contains("(no process)") && l.contains("1 connection") && l.contains(&bytes)
        })
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("the group opened on its connection", |s| {
        let lines: Vec<&str> = s.lines().collect();
        lines.windows(2).any(|w| w[0].starts_with('▾') && w[0].contains("(no process)") && w[1].contains(&named))
    });
    tmux.keys(&["a"]);
    tmux.wait_for("ungrouped", |s| !s.contains("(no process)") && s.contains(&named));
    // `4`: the Graph tab draws its charts.
    tmux.keys(&["4"]);
    tmux.wait_all("graph", &["Traffic", "Packets", "Retransmits, drops", "Connections by state", "now"]);
    // Tab goes on to help.
    tmux.keys(&["Tab"]);
    tmux.wait_all("help", &["Row markers", "a second q confirms", "Esc back"]);

    // The first q asks, the second quits; the terminal is given back.
    tmux.keys(&["q"]);
    tmux.wait_for("quit prompt", |s| s.contains("press q again to quit"));
    tmux.keys(&["q"]);
    let s = tmux.wait_all("exit", &["RUSTNET_EXIT="]);
    assert!(s.contains("RUSTNET_EXIT=0"), "{s}");
    assert!(!s.contains("Connection details"), "alternate screen left: {s}");
}

/// SIGHUP (the terminal closing) ends the TUI like SIGTERM: exit 0 and the
/// terminal restored (canonical mode and echo back on).
#[test]
fn tui_restores_the_terminal_on_sighup() {
    let Some(dir) = common::corpus_dir() else { return };
    if !common::testenv::tools_ready(&["tmux"]) {
        return;
    }
    let file = std::fs::canonicalize(dir.join(FILE)).expect("corpus file exists");
    let tmux = Tmux::new(format!("rustnet-e2e-hup-{}", std::process::id()), "e2e");
    let cmd = format!(
        "{} --read {}; echo RUSTNET_EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -e -icanon -e icanon -e -echo -e echo | tr '\\n' ' '; echo; sleep 60",
        env!("CARGO_BIN_EXE_rustnet"),
        file.display()
    );
    tmux.start(120, 40, &cmd);
    tmux.wait_all("the finished replay", &["(finished)", "q quit"]);
    let out = tmux.cmd(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"]);
    let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).expect("children");
    let pid = children.split_whitespace().next().expect("rustnet runs under the pane's shell").to_string();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().expect("kill").success());
    let screen = tmux.wait_for("rustnet to exit", |s| s.contains("RUSTNET_EXIT=") && s.contains("echo"));
    assert!(screen.contains("RUSTNET_EXIT=0"), "exit status after SIGHUP:\n{screen}");
    assert!(screen.contains("icanon echo") && !screen.contains("-icanon"), "terminal restored:\n{screen}");
}

/// Issue 20 item 9: a warning that arises while the TUI runs (here the
/// export failing on a full device) is not written over the screen; it is
/// printed once the terminal is restored, and the exit status says so.
#[test]
fn tui_export_failure_is_reported_after_the_screen_is_restored() {
    let Some(dir) = common::corpus_dir() else { return };
    if !common::testenv::tools_ready(&["tmux"]) || !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let file = std::fs::canonicalize(dir.join(FILE)).expect("corpus file exists");
    let tmux = Tmux::new(format!("rustnet-e2e-full-{}", std::process::id()), "e2e");
    let cmd = format!(
        "{} --read {} --pcap-export /dev/full; echo RUSTNET_EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_rustnet"),
        file.display()
    );
    tmux.start(120, 40, &cmd);
    let during = tmux.wait_all("the finished replay", &["(finished)", "q quit"]);
    // Give the export writer time to fail while the UI is still up.
    std::thread::sleep(Duration::from_millis(1500));
    let during = format!("{during}{}", tmux.screen());
    assert!(!during.contains("rustnet:") && !during.contains("no space"), "text over the TUI:\n{during}");
    tmux.keys(&["q"]);
    tmux.wait_for("quit prompt", |s| s.contains("press q again to quit"));
    tmux.keys(&["q"]);
    let after = tmux.wait_all("exit", &["RUSTNET_EXIT="]);
    assert!(after.contains("rustnet: export: no space left on device"), "after exit:\n{after}");
    assert!(after.contains("RUSTNET_EXIT=1"), "after exit:\n{after}");
}

/// Issue 20 item 3: a capture truncated by another program while the TUI
/// replays it. Files were memory-mapped, so the next read of a vanished page
/// killed rustnet with SIGBUS (exit 135) and left the terminal in raw mode on
/// the alternate screen. Now the read ends early: the file is reported
/// damaged (status 2) once the user quits, and the terminal is restored.
#[test]
fn tui_survives_the_file_shrinking_while_it_replays() {
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    if !common::testenv::tools_ready(&["tmux"]) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rustnet-shrink-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("big.pcap");
    // 10 000 UDP frames of 1 400 bytes, 1 ms apart: 14 MB replayed over 10 s,
    // many times the reader's 1 MiB buffer.
    let file = std::fs::File::create(&path).expect("create capture");
    let mut w = PcapWriter::with_header(std::io::BufWriter::new(file), PcapHeader::default()).expect("header");
    let mut f = vec![0u8; 1400];
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[16..18].copy_from_slice(&1386u16.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&[10, 0, 0, 1]);
    f[30..34].copy_from_slice(&[10, 0, 0, 2]);
    f[34..36].copy_from_slice(&40000u16.to_be_bytes());
    f[36..38].copy_from_slice(&9u16.to_be_bytes());
    f[38..40].copy_from_slice(&1366u16.to_be_bytes());
    for i in 0..10_000u64 {
        let ts = Duration::from_secs(1_700_000_000) + Duration::from_millis(i);
        w.write_packet(&PcapPacket::new(ts, 1400, &f)).expect("write packet");
    }
    drop(w);
    let tmux = Tmux::new(format!("rustnet-e2e-shrink-{}", std::process::id()), "e2e");
    let err = dir.join("stderr");
    let cmd = format!(
        "{} --read {} 2>{}; echo RUSTNET_EXIT=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -e -icanon -e icanon -e -echo -e echo | tr '\\n' ' '; echo; sleep 60",
        env!("CARGO_BIN_EXE_rustnet"),
        path.display(),
        err.display()
    );
    tmux.start(120, 40, &cmd);
    let replaying = tmux.wait_all("the replay to start", &["10.0.0.2:9", "q quit"]);
    assert!(!replaying.contains("(finished)"), "the replay ended before the file was cut:\n{replaying}");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open for truncation")
        .set_len(100_000)
        .expect("truncate");
    // The replay reaches the end of what it read, finds the file shorter and
    // ends; the screen stays up until the user quits.
    tmux.wait_all("the replay to end", &["(finished)", "q quit"]);
    tmux.keys(&["q"]);
    tmux.wait_for("quit prompt", |s| s.contains("press q again to quit"));
    tmux.keys(&["q"]);
    // Wait for the `stty` line as well: it is printed just after the exit
    // status, and CI once captured the screen in between.
    let after = tmux.wait_for("exit", |s| s.contains("RUSTNET_EXIT=") && s.contains("echo"));
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(after.contains("RUSTNET_EXIT=2"), "exit status (135 was SIGBUS):\n{after}\nstderr: {stderr}");
    assert!(after.contains("icanon echo") && !after.contains("-icanon"), "terminal restored:\n{after}");
    assert!(stderr.contains("capture file damaged") && stderr.contains("shrank"), "stderr: {stderr}");
}

/// Fixtures from real programs, one after another with 10 minutes of
/// silence between them: by the end of the file most connections have
/// expired in packet time (issue 13: the screen once kept 2 of 35).
const IDLE_GAP_PARTS: &[&str] =
    &["dns_udp", "http_curl", "ssh", "tls13_curl", "tcp_rst", "ping", "ntp_chrony", "mqtt_mosquitto", "arp"];

/// Writes the fixtures above as one pcap, each shifted to start 600 s after
/// the previous one's start.
fn write_idle_gap_capture(path: &std::path::Path) {
    use pcap_file::pcap::{PcapReader, PcapWriter};
    let out = std::fs::File::create(path).expect("temp file");
    let mut w: Option<PcapWriter<std::fs::File>> = None;
    let base = Duration::from_secs(1_700_000_000);
    for (k, part) in IDLE_GAP_PARTS.iter().enumerate() {
        let f = std::fs::File::open(common::fixture(&format!("{part}.pcap"))).expect("fixture");
        let mut r = PcapReader::new(f).expect("pcap fixture");
        let w = w.get_or_insert_with(|| PcapWriter::with_header(out.try_clone().expect("dup"), r.header()).expect("w"));
        let mut first = None;
        while let Some(p) = r.next_packet() {
            let mut p = p.expect("fixture packet");
            let t0 = *first.get_or_insert(p.timestamp);
            p.timestamp = base + Duration::from_secs(600 * k as u64) + (p.timestamp - t0);
            w.write_packet(&p).expect("write");
        }
    }
}

/// `--read` of a capture with long idle gaps: once the replay ends, the
/// overview lists every connection that `--json` reports for the file,
/// those that expired during the replay marked `x` (history).
#[test]
fn tui_read_keeps_every_connection_of_the_file() {
    if !common::testenv::tools_ready(&["tmux"]) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rustnet-e2e-gaps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("idle_gaps.pcap");
    write_idle_gap_capture(&file);
    let n = common::run_json(&file, &[]).records.iter().filter(|r| r.get("proto").is_some()).count();
    assert!(n >= 20, "{n} connections in the merged fixtures");
    let tmux = Tmux::new(format!("rustnet-e2e-gaps-{}", std::process::id()), "e2e");
    let cmd = format!("{} --read {}; echo RUSTNET_EXIT=$?; sleep 60", env!("CARGO_BIN_EXE_rustnet"), file.display());
    tmux.start(120, 40, &cmd);
    // The position title counts the rows listed: all of them (40 lines hold them).
    let all = format!("1–{n} of {n}");
    let s = tmux.wait_all("every connection listed", &["(finished)", &all]);
    assert!(s.contains("ended "), "the header counts the ended connections: {s}");
    assert!(s.lines().any(|l| l.starts_with(" x ") || l.starts_with("x ")), "expired rows marked x: {s}");
    // `t` hides the history: only what is still in the table.
    tmux.keys(&["t"]);
    let s = tmux.wait_for("history hidden", |s| !s.contains(&all) && !s.contains("ended "));
    assert!(s.contains("(finished)"), "{s}");
    tmux.keys(&["q", "q"]);
    tmux.wait_all("exit", &["RUSTNET_EXIT=0"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 16: `--history FILE` in a terminal browses a `--record` database
/// in the TUI: every recorded connection listed (as many as `sqlite3`
/// counts), and the filter narrows them to what `sqlite3` selects.
#[test]
fn tui_browses_a_history_database_and_filters_it() {
    if !common::testenv::tools_ready(&["tmux", "sqlite3"]) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rustnet-e2e-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("h.db");
    for f in ["tls13_curl.pcap", "http_curl.pcap", "dns_udp.pcap", "ssh.pcap", "ping.pcap"] {
        let fixture = common::fixture(f);
        let o = Command::new(env!("CARGO_BIN_EXE_rustnet"))
            .arg("--read")
            .arg(&fixture)
            .args(["--json", "--record"])
            .arg(&db)
            .output()
            .expect("rustnet runs");
        assert!(o.status.success(), "{f}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let sqlite = |q: &str| {
        let o = Command::new("sqlite3").arg(&db).arg(q).output().expect("sqlite3 runs");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let all = sqlite("SELECT count(*) FROM connections");
    let ssh = sqlite("SELECT count(*) FROM connections WHERE remote LIKE '%:22'");
    let ssh_remote = sqlite("SELECT DISTINCT remote FROM connections WHERE remote LIKE '%:22'");
    assert!(ssh.parse::<u32>().is_ok_and(|n| n > 0), "ssh rows: {ssh}");

    let tmux = Tmux::new(format!("rustnet-e2e-hist-{}", std::process::id()), "e2e");
    let cmd = format!("{} --history {}; echo RUSTNET_EXIT=$?; sleep 60", env!("CARGO_BIN_EXE_rustnet"), db.display());
    tmux.start(120, 40, &cmd);
    let everything = format!("1–{all} of {all}");
    tmux.wait_all("the history listed", &["(history)", &format!("ended {all}"), &everything, "secure.example"]);

    tmux.keys(&["/"]);
    tmux.text("port:22");
    tmux.keys(&["Enter"]);
    let s = tmux.wait_all("filtered", &[&format!("1–{ssh} of {ssh}"), "/port:22"]);
    let rows = s.lines().filter(|l| l.contains(&ssh_remote)).count();
    assert_eq!(rows.to_string(), ssh, "{s}");

    tmux.keys(&["q"]);
    tmux.keys(&["q"]);
    let s = tmux.wait_all("exit", &["RUSTNET_EXIT="]);
    assert!(s.contains("RUSTNET_EXIT=0"), "{s}");
    let _ = std::fs::remove_dir_all(&dir);
}
