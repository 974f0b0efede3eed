//! End to end, live: the real binary's TUI in tmux, capturing in the lab's
//! client namespace while one curl fetches a file three times from
//! python's http.server (HTTP/1.0: three connections, each closed). `3`
//! shows a curl row whose totals equal tshark's bytes of the three
//! conversations (tcpdump on the same interface), `4` draws the charts.
//! Skipped (with a note) without root, tmux or the lab programs.

mod common;

use common::lab::{Lab, tshark_field};
use common::tmux::Tmux;
use std::time::{Duration, Instant};

/// As the TUI writes byte counts (decimal units, one decimal from kB on).
fn si(n: u64) -> String {
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = 0;
    while v >= 999.95 && unit < 4 {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", ["kB", "MB", "GB", "TB", "PB"][unit])
}

#[test]
fn tui_activity_shows_curl_totals_and_graph_draws() {
    use common::testenv::{lab_ready, tools_ready};
    if !(lab_ready() && tools_ready(&["tmux", "tcpdump", "tshark", "curl", "python3"])) {
        return;
    }
    let mut lab = Lab::up(&format!("ta{}", std::process::id() % 10000));
    let dir = std::env::temp_dir().join(format!("rustnet-tui-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // 300 kB of data to serve, the same each run.
    let body: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.join("blob.bin"), body).expect("write the served file");
    let srv = lab.srv_v4;
    let d = dir.to_string_lossy().into_owned();
    lab.spawn(true, &["python3", "-m", "http.server", "18480", "--bind", srv, "--directory", &d]);
    lab.wait_listening(18480);
    let pcap = dir.join("ref.pcap");
    let (iface, pcap_s) = (lab.cli_if.clone(), pcap.to_string_lossy().into_owned());
    lab.spawn(false, &["tcpdump", "-i", &iface, "-s", "0", "-U", "--immediate-mode", "-w", &pcap_s]);
    let tcpdump = lab.take_last();

    let tmux = Tmux::new(format!("rustnet-live-{}", std::process::id()), "live");
    let cmd = format!(
        "ip netns exec {} {} -i {iface}; echo RUSTNET_EXIT=$?; sleep 60",
        lab.cli_ns,
        env!("CARGO_BIN_EXE_rustnet")
    );
    tmux.start(160, 45, &cmd);
    // The pane runs a shell whose child is `ip netns exec`, which execs rustnet.
    let out = tmux.cmd(&["display-message", "-p", "-t", "live", "#{pane_pid}"]);
    let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let start = Instant::now();
    let pid = loop {
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap_or_default();
        if let Some(p) = children.split_whitespace().next().and_then(|p| p.parse::<u32>().ok()) {
            break p;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "rustnet never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    // The capture socket is opened before the pipeline's workers start;
    // packets wait in its ring until the capture thread reads them.
    common::lab::wait_thread(pid, "worker-0");
    std::thread::sleep(Duration::from_millis(500));

    // One curl process, three fetches (three connections: HTTP/1.0), slowed
    // so that it lives long enough to be named for sure.
    let url = format!("http://{srv}:18480/blob.bin");
    let o = lab.client(&[
        "curl",
        "-s",
        "--limit-rate",
        "2M",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        &url,
        &url,
        &url,
    ]);
    assert!(o.status.success(), "curl failed: {o:?}");
    std::thread::sleep(Duration::from_millis(500));
    let mut tcpdump = tcpdump;
    let _ = tcpdump.kill();
    let _ = tcpdump.wait();

    // tshark's bytes of the three conversations, per direction.
    let (lens, dports) = (tshark_field(&pcap, "frame.len"), tshark_field(&pcap, "tcp.dstport"));
    let sport = tshark_field(&pcap, "tcp.srcport");
    let (mut sent, mut recv) = (0u64, 0u64);
    for ((len, dp), sp) in lens.iter().zip(&dports).zip(&sport) {
        let len: u64 = len.parse().unwrap_or(0);
        if dp == "18480" {
            sent += len;
        } else if sp == "18480" {
            recv += len;
        }
    }
    assert!(recv > 900_000, "three times the file: {recv}");

    // The Activity tab: a curl row with tshark's totals and its 3 connections.
    tmux.keys(&["3"]);
    let (want_sent, want_recv) = (si(sent), si(recv));
    tmux.wait_within("the curl row with tshark's totals", Duration::from_secs(15), |s| {
        s.lines().any(|l| l.contains(" curl ") && l.contains(&want_sent) && l.contains(&want_recv) && l.contains("/3 "))
    });
    // They end (CLOSED, 5 s) and leave the table: the totals stay.
    let screen = tmux.wait_within("the curl connections ended", Duration::from_secs(20), |s| {
        s.lines()
            .any(|l| l.contains(" curl ") && l.contains(&want_sent) && l.contains(&want_recv) && l.contains(" 0/3 "))
    });
    assert!(screen.contains("Interfaces") && screen.contains(&iface), "interface rows, live:\n{screen}");

    // The Graph tab: braille dots of the traffic chart.
    tmux.keys(&["4"]);
    tmux.wait_within("the charts", Duration::from_secs(10), |s| {
        s.contains("Traffic") && s.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c))
    });
    tmux.keys(&["q"]);
    tmux.keys(&["q"]);
    let s = tmux.wait_within("exit", Duration::from_secs(15), |s| s.contains("RUSTNET_EXIT="));
    assert!(s.contains("RUSTNET_EXIT=0"), "{s}");
    let _ = std::fs::remove_dir_all(&dir);
}
