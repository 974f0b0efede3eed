//! LAN devices, live (root): in the namespace lab the server's veth gets a
//! MAC with a known vendor prefix (`ip link set address`, Intel's 00:1b:21)
//! and is made the client's default gateway (IPv4 and IPv6). After ARP and
//! neighbour discovery (ping, curl), the ARP and ND rows must carry that MAC
//! and the vendor the IEEE registry listing (Debian's ieee-data oui.csv)
//! gives for it, and every row to the server must say it is the gateway.

mod common;

use common::lab::Lab;
use common::testenv::{lab_ready, skip, tools_ready};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::Duration;

const MAC: &str = "00:1b:21:12:34:56";
const REGISTRY: &str = "/usr/share/ieee-data/oui.csv";

/// The organisation of an MA-L assignment in the registry's CSV listing.
fn registry_vendor(oui: &str) -> Option<String> {
    let text = std::fs::read_to_string(REGISTRY).ok()?;
    let line = text.lines().find(|l| l.starts_with(&format!("MA-L,{oui},")))?;
    let rest = line.strip_prefix(&format!("MA-L,{oui},"))?;
    // "Intel Corporate,\"Lot 8, …\"": the name is the third CSV field.
    let name = if let Some(q) = rest.strip_prefix('"') { q.split('"').next()? } else { rest.split(',').next()? };
    Some(name.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[test]
fn arp_and_nd_rows_name_the_gateway_and_its_vendor() {
    if !(lab_ready() && tools_ready(&["ping", "curl", "python3"])) {
        return;
    }
    let Some(vendor) = registry_vendor("001B21") else {
        skip("lan_devices: no IEEE registry listing (apt-get install ieee-data)");
        return;
    };
    let mut lab = Lab::up(&format!("ld{}", std::process::id() % 10000));
    let srv_if = format!("{}-veth-s", lab.prefix);
    let ip = |args: &[&str]| {
        let o = Command::new("ip").args(args).output().expect("ip");
        assert!(o.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    ip(&["-n", &lab.srv_ns, "link", "set", &srv_if, "address", MAC]);
    ip(&["-n", &lab.cli_ns, "route", "add", "default", "via", lab.srv_v4]);
    ip(&["-n", &lab.cli_ns, "-6", "route", "add", "default", "via", "fd77::2"]);
    ip(&["-n", &lab.cli_ns, "neigh", "flush", "all"]);
    let srv = lab.srv_v4;
    lab.spawn(true, &["python3", "-m", "http.server", "8080", "--bind", srv]);
    lab.wait_listening(8080);

    let rustnet = Command::new("ip")
        .args(["netns", "exec", &lab.cli_ns, env!("CARGO_BIN_EXE_rustnet")])
        .args(["-i", &lab.cli_if, "--json", "--duration", "60"])
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("rustnet");
    common::lab::wait_thread(rustnet.id(), "capture");
    std::thread::sleep(Duration::from_millis(300));
    assert!(lab.client(&["ping", "-c", "1", "-W", "2", srv]).status.success());
    assert!(lab.client(&["ping", "-6", "-c", "1", "-W", "2", "fd77::2"]).status.success());
    let url = format!("http://{srv}:8080/");
    assert!(lab.client(&["curl", "-s", "-o", "/dev/null", "--max-time", "5", &url]).status.success());
    std::thread::sleep(Duration::from_millis(800));
    let pid = i32::try_from(rustnet.id()).expect("pid fits");
    // SAFETY: plain syscall; the child is ours and not yet waited for.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = rustnet.wait_with_output().expect("rustnet output");
    let recs: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();

    let to_server = |r: &&Value| {
        let remote = r["remote"].as_str().unwrap_or_default();
        remote == srv || remote.starts_with(&format!("{srv}:")) || remote.contains("fd77::2")
    };
    let neighbour_rows: Vec<&Value> =
        recs.iter().filter(to_server).filter(|r| r["state"].as_str().is_some_and(|s| s.starts_with("ARP"))).collect();
    let v4 = neighbour_rows.iter().any(|r| r["proto"] == "arp");
    let v6 = neighbour_rows.iter().any(|r| r["proto"] == "icmpv6");
    assert!(v4 && v6, "an ARP and an ND row for the server: {recs:?}");
    let mut with_mac = 0;
    for r in &neighbour_rows {
        let d = &r["device"];
        if d["mac"].is_null() {
            continue; // a row of only our own requests has no answer in it
        }
        assert_eq!(d["mac"], MAC, "{r}");
        assert_eq!(d["vendor"], vendor.as_str(), "{r}");
        with_mac += 1;
    }
    assert!(with_mac >= 2, "the server's MAC on its ARP and ND rows: {neighbour_rows:?}");
    for r in recs.iter().filter(to_server) {
        assert_eq!(r["device"]["gateway"], true, "every row to the gateway says so: {r}");
    }
    assert!(recs.iter().any(|r| r["proto"] == "tcp" && to_server(&r)), "the curl's connection");
}
