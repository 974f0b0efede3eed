//! The two-namespace lab (tests/lab/netns.sh) for live tests: a client and a
//! server namespace joined by a veth pair; torn down on drop.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

pub struct Lab {
    pub prefix: String,
    pub cli_ns: String,
    pub srv_ns: String,
    pub cli_if: String,
    pub cli_v4: &'static str,
    pub srv_v4: &'static str,
    children: Vec<Child>,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/netns.sh")
}

/// One field of every frame of a capture, per tshark (`-T fields -e FIELD`).
pub fn tshark_field(pcap: &Path, field: &str) -> Vec<String> {
    let o = Command::new("tshark").arg("-r").arg(pcap).args(["-T", "fields", "-e", field]).output();
    let o = o.expect("run tshark");
    assert!(o.status.success(), "tshark reads {}: {}", pcap.display(), String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect()
}

impl Lab {
    /// Brings up a lab whose names start with `prefix` (≤ 8 chars, unique per test).
    pub fn up(prefix: &str) -> Lab {
        let out =
            Command::new("bash").arg(script()).arg("up").env("LAB_PREFIX", prefix).output().expect("run netns.sh");
        assert!(out.status.success(), "netns.sh up: {}", String::from_utf8_lossy(&out.stderr));
        Lab {
            prefix: prefix.into(),
            cli_ns: format!("{prefix}-cli"),
            srv_ns: format!("{prefix}-srv"),
            cli_if: format!("{prefix}-veth-c"),
            cli_v4: "10.77.0.1",
            srv_v4: "10.77.0.2",
            children: Vec::new(),
        }
    }

    fn cmd(ns: &str, argv: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(argv);
        c
    }

    /// Runs a command in the client namespace to completion.
    pub fn client(&self, argv: &[&str]) -> Output {
        Self::cmd(&self.cli_ns, argv).output().expect("run client command")
    }

    /// Starts a long-running process in a namespace; killed on drop.
    pub fn spawn(&mut self, server: bool, argv: &[&str]) -> &mut Child {
        let ns = if server { &self.srv_ns } else { &self.cli_ns };
        let child = Self::cmd(ns, argv)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn lab process");
        self.children.push(child);
        self.children.last_mut().expect("just pushed")
    }

    /// Waits (up to 20 s) until something in the server namespace listens on
    /// TCP `port`: asked of the kernel (`ss`), so no packet is sent.
    pub fn wait_listening(&self, port: u16) {
        let filter = format!("sport = :{port}");
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(20) {
            let o = Self::cmd(&self.srv_ns, &["ss", "-ltnH", &filter]).output().expect("run ss");
            if !o.stdout.is_empty() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("nothing listens on port {port} in {}", self.srv_ns);
    }

    /// Takes a spawned process out of the lab's care (to wait on it).
    pub fn take_last(&mut self) -> Child {
        self.children.pop().expect("a spawned process")
    }
}

/// Waits (up to 20 s) until process `pid` has a thread named `name` (e.g.
/// rustnet's "capture" thread: the capture is open and the pipeline runs).
pub fn wait_thread(pid: u32, name: &str) {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(20) {
        let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten();
        if tasks.filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok()).any(|c| c.trim() == name) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("process {pid} never started a thread named {name}");
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("bash").arg(script()).arg("down").env("LAB_PREFIX", &self.prefix).output();
    }
}

/// Per-conversation (packets, bytes) of a capture file, from tshark.
pub fn tshark_conversations(pcap: &Path) -> std::collections::BTreeMap<super::ConvKey, (u64, u64)> {
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(pcap)
        .args(["-T", "fields", "-E", "separator=,", "-e", "frame.len", "-e", "ip.src", "-e", "ip.dst"])
        .args(["-e", "ipv6.src", "-e", "ipv6.dst", "-e", "tcp.srcport", "-e", "tcp.dstport"])
        .args(["-e", "udp.srcport", "-e", "udp.dstport", "-e", "icmp.type"])
        .output()
        .expect("run tshark");
    let mut m = std::collections::BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 10 || !f[9].is_empty() {
            continue; // ICMP (errors quote headers; not a TCP/UDP conversation)
        }
        let (src, dst) = if f[1].is_empty() { (f[3], f[4]) } else { (f[1], f[2]) };
        let (proto, sp, dp) = if !f[5].is_empty() {
            ("tcp", f[5], f[6])
        } else if !f[7].is_empty() {
            ("udp", f[7], f[8])
        } else {
            continue;
        };
        let key = super::conv_key(proto, (src.into(), sp.parse().unwrap_or(0)), (dst.into(), dp.parse().unwrap_or(0)));
        let e = m.entry(key).or_insert((0, 0));
        e.0 += 1;
        e.1 += f[0].parse::<u64>().unwrap_or(0);
    }
    m
}
