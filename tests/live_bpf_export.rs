//! `--bpf-filter` in the kernel and `--pcap-export`, live in the two-namespace
//! lab: a `udp port 9999` filter on the veth and on "any" keeps exactly the
//! datagrams the client was told to exchange on port 9999 (as tcpdump with the
//! same filter sees them), and each export holds exactly what `--json`
//! reported in the same run, flushed on --duration and on SIGINT alike.

mod common;

use common::lab::{Lab, tshark_conversations, tshark_field};
use common::testenv::{lab_ready, libpcap_ready, tools_ready};
use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const ECHO: &str = "import socket,sys\n\
s=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM)\n\
s.bind(('::',int(sys.argv[1])))\n\
while True:\n    d,a=s.recvfrom(4096); s.sendto(d,a)\n";

/// Sends `n` datagrams of growing size to host:port and waits for each echo.
fn exchange(lab: &Lab, host: &str, port: u16, n: usize) {
    let fam = if host.contains(':') { "AF_INET6" } else { "AF_INET" };
    let code = format!(
        "import socket\ns=socket.socket(socket.{fam},socket.SOCK_DGRAM)\ns.settimeout(3)\n\
         for i in range(1,{n}+1):\n    s.sendto(b'x'*i,('{host}',{port})); assert s.recvfrom(4096)[0]==b'x'*i\n"
    );
    let o = lab.client(&["python3", "-c", &code]);
    assert!(o.status.success(), "UDP exchange with {host}:{port} failed: {}", String::from_utf8_lossy(&o.stderr));
}

fn export_conversations(path: &Path) -> BTreeMap<ConvKey, (u64, u64)> {
    assert!(path.is_file(), "{} was written", path.display());
    tshark_conversations(path)
}

fn frame_count(path: &Path) -> usize {
    tshark_field(path, "frame.number").len()
}

#[test]
fn kernel_bpf_filter_and_pcapng_export() {
    if !(lab_ready() && tools_ready(&["tcpdump", "tshark", "curl", "python3"]) && libpcap_ready()) {
        return;
    }
    let mut lab = Lab::up(&format!("bf{}", std::process::id() % 10000));
    let dir = std::env::temp_dir().join(format!("rustnet-bpf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let srv = lab.srv_v4;
    lab.spawn(true, &["python3", "-c", ECHO, "9999"]);
    lab.spawn(true, &["python3", "-c", ECHO, "9998"]);
    lab.spawn(true, &["python3", "-m", "http.server", "8080", "--bind", srv]);
    let iface = lab.cli_if.clone();
    let (ref_f, ref_all) = (p("ref_filtered.pcap"), p("ref_all.pcap"));
    lab.spawn(false, &["tcpdump", "-i", &iface, "-s", "0", "-U", "--immediate-mode", "-w", &ref_f, "udp port 9999"]);
    lab.spawn(false, &["tcpdump", "-i", &iface, "-s", "0", "-U", "--immediate-mode", "-w", &ref_all]);
    let bin = env!("CARGO_BIN_EXE_rustnet");
    let filt = "udp port 9999";
    let (veth_x, any_x, sig_x) = (p("veth.pcapng"), p("any.pcapng"), p("sigint.pcapng"));
    lab.spawn(false, &[bin, "-i", &iface, "--json", "--duration", "7", "-f", filt, "--pcap-export", &veth_x]);
    let on_veth = lab.take_last();
    lab.spawn(false, &[bin, "-i", "any", "--json", "--duration", "7", "--bpf-filter", filt, "--pcap-export", &any_x]);
    let on_any = lab.take_last();
    lab.spawn(false, &[bin, "-i", &iface, "--json", "--pcap-export", &sig_x]);
    let on_sigint = lab.take_last();
    // The same filtered capture through libpcap, when built with it.
    let pcap_x = p("libpcap.pcapng");
    let on_libpcap = cfg!(feature = "pcap").then(|| {
        let args = [bin, "--backend", "pcap", "-i", &iface, "--json", "--duration", "7", "-f", filt];
        lab.spawn(false, &[&args[..], &["--pcap-export", &pcap_x]].concat());
        lab.take_last()
    });
    std::thread::sleep(Duration::from_millis(2000));

    exchange(&lab, srv, 9999, 5);
    exchange(&lab, "fd77::2", 9999, 3);
    exchange(&lab, srv, 9998, 4);
    let o = lab.client(&["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", &format!("http://{srv}:8080/")]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "200", "curl failed: {o:?}");
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signals a child process this test started and still owns.
    assert_eq!(unsafe { libc::kill(on_sigint.id() as i32, libc::SIGINT) }, 0);

    let outs: Vec<_> = [on_veth, on_any, on_sigint]
        .into_iter()
        .chain(on_libpcap)
        .map(|c| c.wait_with_output().expect("rustnet finishes"))
        .collect();
    for (i, o) in outs.iter().enumerate() {
        // The third was stopped by SIGINT: 130, as shells expect of Ctrl+C.
        let want = if i == 2 { 130 } else { 0 };
        assert_eq!(o.status.code(), Some(want), "rustnet failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    std::thread::sleep(Duration::from_millis(300));
    drop(lab); // stops tcpdump (flushes the references) and removes the namespaces
    let recs: Vec<_> = outs.iter().map(|o| parse_lines(&String::from_utf8_lossy(&o.stdout))).collect();

    // What the client was told to do: 5 + 3 datagrams to port 9999, each echoed.
    let expected: BTreeMap<ConvKey, (u64, u64)> = tshark_conversations(Path::new(&ref_f));
    let pkts: Vec<u64> = expected.values().map(|v| v.0).collect();
    assert_eq!(pkts.iter().sum::<u64>(), 16, "tcpdump's filtered reference: {expected:?}");
    // On "any" frames carry a 16-byte cooked header instead of 14 bytes of Ethernet.
    let expected_any: BTreeMap<ConvKey, (u64, u64)> =
        expected.iter().map(|(k, &(n, b))| (k.clone(), (n, b + 2 * n))).collect();
    for (name, r, want) in [("veth", &recs[0], &expected), ("any", &recs[1], &expected_any)] {
        assert!(r.iter().all(|c| c["proto"] == "udp" && c["remote"].as_str().is_some_and(|s| s.ends_with(":9999"))));
        assert_eq!(&record_conversations(r), want, "{name}: rustnet --json vs tcpdump with the same filter");
    }
    assert_eq!(export_conversations(Path::new(&veth_x)), expected, "veth export");
    assert_eq!(frame_count(Path::new(&veth_x)), 16, "veth export holds only the filtered packets");
    assert_eq!(export_conversations(Path::new(&any_x)), expected_any, "any export");
    assert_eq!(frame_count(Path::new(&any_x)), 16, "any export holds only the filtered packets");

    if let Some(r) = recs.get(3) {
        assert_eq!(record_conversations(r), expected, "--backend pcap vs tcpdump with the same filter");
        assert_eq!(export_conversations(Path::new(&pcap_x)), expected, "--backend pcap export");
    }

    // Unfiltered, stopped by SIGINT: the export equals --json and the reference.
    let all = record_conversations(&recs[2]);
    assert_eq!(all.len(), 4, "two 9999, one 9998 and one HTTP conversation: {all:?}");
    assert_eq!(export_conversations(Path::new(&sig_x)), all, "SIGINT export vs --json");
    assert_eq!(all, tshark_conversations(Path::new(&ref_all)), "--json vs unfiltered tcpdump");
    let _ = std::fs::remove_dir_all(&dir);
}
