//! QUIC inspection against the public corpus and tshark's truth JSONs.
//!
//! QuicState is driven directly, without the engine and the DPI dispatcher
//! (corpus_dpi.rs covers those): frames are parsed with `wire::parse`, one
//! QuicState per UDP 5-tuple, the sender of the first QUIC-looking datagram
//! is the client.
//! Set RUSTNET_CORPUS to the corpus folder to run; skipped (with a note) otherwise.

mod common;

use rustnet_core::dpi::QuicInfo;
use rustnet_core::fuzzing::{QuicState, Side};
use rustnet_core::track::State;
use rustnet_core::wire::{self, L4, LinkType};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;

const FILES: &[&str] = &[
    "ndpi_quic-v2.pcapng",
    "ndpi_quic-23.pcap",
    "ndpi_quic_0RTT.pcap",
    "ndpi_quic_frags_ch_in_multiple_packets.pcapng",
    "ndpi_quic_frags_different_dcid.pcapng",
    "ndpi_quic-fuzz-overflow.pcapng",
    "ndpi_quic_interop_V.pcapng",
    "ndpi_quic-forcing-vn-with-data.pcapng",
    "ndpi_quic046.pcap",
    "ndpi_doq.pcapng",
    "ndpi_dlt_ppp.pcap",
    "tcpdump_quic_handshake.pcap",
    "tcpdump_quic_vn.pcap",
    "tcpdump_quic_handshake_truncated.pcap",
    "zeek_curl-8.1.2-dev-http3-www-google-de.pcap",
    "zeek_quic-decrypt-fail-google-de-51833.pcap",
    "ndpi_http_ipv6.pcap",
];

type Endpoint = (IpAddr, u16);

struct Flow {
    client: Endpoint,
    server: Endpoint,
    quic: QuicState,
    info: QuicInfo,
    state: Option<State>,
}

/// Every frame of a pcap or pcapng file with its link type (format by magic).
fn frames(path: &Path) -> Vec<(LinkType, Vec<u8>)> {
    let frames = common::read_capture(path).expect("capture readable");
    frames.into_iter().map(|f| (LinkType::from_number(f.linktype), f.data)).collect()
}

fn run(path: &Path) -> Vec<Flow> {
    let mut flows: Vec<Flow> = Vec::new();
    let mut index: BTreeMap<(Endpoint, Endpoint), usize> = BTreeMap::new();
    for (link, frame) in frames(path) {
        let Ok(p) = wire::parse(link, &frame) else {
            continue;
        };
        let L4::Udp { sport, dport, payload } = p.l4 else {
            continue;
        };
        if p.frag.is_some() {
            continue;
        }
        let (a, b) = ((p.src, sport), (p.dst, dport));
        let key = if a <= b { (a, b) } else { (b, a) };
        let i = match index.get(&key) {
            Some(&i) => i,
            None if QuicState::looks_like_quic(payload) => {
                flows.push(Flow {
                    client: a,
                    server: b,
                    quic: QuicState::default(),
                    info: QuicInfo::default(),
                    state: None,
                });
                index.insert(key, flows.len() - 1);
                flows.len() - 1
            }
            None => continue,
        };
        let f = &mut flows[i];
        if !f.quic.is_done() {
            f.state = f.quic.on_datagram(Side::client_if(a == f.client), payload, &mut f.info);
        }
    }
    flows
}

fn s(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
}

/// Our name for one of tshark's version numbers. Kept here, independent of
/// the crate's formatter, so the expected side does not come from the code
/// under test.
fn version_name(hex: &str) -> String {
    let v = u32::from_str_radix(hex.trim_start_matches("0x"), 16).expect("hex version");
    match v {
        1 => "v1".into(),
        0x6b33_43cf => "v2".into(),
        0xff00_0001..=0xff00_00ff => format!("draft-{}", v & 0xff),
        _ => format!("0x{v:08x}"),
    }
}

#[test]
fn quic_corpus_matches_tshark() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let mut failures = Vec::new();
    let (mut snis_checked, mut closes_checked, mut files) = (0, 0, 0);
    for name in FILES {
        let path = dir.join(name);
        let truth = common::read_truth(&path).expect("truth json");
        let flows = run(&path);
        files += 1;
        let find = |src: &str, sport: u64, dst: &str, dport: u64| {
            let (src, dst): (IpAddr, IpAddr) = (src.parse().ok()?, dst.parse().ok()?);
            let (a, b) = ((src, sport as u16), (dst, dport as u16));
            flows.iter().find(|f| (f.client, f.server) == (a, b) || (f.client, f.server) == (b, a))
        };

        // Every ClientHello tshark read: same SNI and ALPN on that flow.
        for ch in truth["quic_client_hellos"].as_array().into_iter().flatten() {
            let f = find(
                ch["src"].as_str().unwrap_or(""),
                ch["sport"].as_u64().unwrap_or(0),
                ch["dst"].as_str().unwrap_or(""),
                ch["dport"].as_u64().unwrap_or(0),
            );
            let Some(f) = f else {
                failures.push(format!("{name}: no QUIC flow for hello {ch}"));
                continue;
            };
            let want_sni = ch["sni"].as_str();
            let want_alpn: Vec<String> = ch["alpn"].as_array().into_iter().flatten().map(s).collect();
            if f.info.sni.as_deref() != want_sni || f.info.alpn != want_alpn {
                failures.push(format!(
                    "{name}: frame {}: got sni {:?} alpn {:?}, tshark {want_sni:?} {want_alpn:?}",
                    ch["frame"], f.info.sni, f.info.alpn
                ));
            } else {
                snis_checked += 1;
            }
        }

        // No SNI that tshark (QUIC or gQUIC) did not see.
        let mut known: BTreeSet<String> = truth["quic_snis"].as_array().into_iter().flatten().map(s).collect();
        known.extend(truth["gquic"]["snis"].as_array().into_iter().flatten().map(s));
        let mut versions: BTreeSet<String> =
            truth["quic_versions"].as_object().into_iter().flatten().map(|(k, _)| version_name(k)).collect();
        versions.extend(truth["gquic"]["versions"].as_array().into_iter().flatten().map(s));
        for f in &flows {
            if let Some(sni) = &f.info.sni
                && !known.contains(sni)
            {
                failures.push(format!("{name}: SNI {sni:?} not in tshark's {known:?}"));
            }
            if let Some(v) = &f.info.version
                && !versions.contains(v)
            {
                failures.push(format!("{name}: version {v} not in tshark's {versions:?}"));
            }
        }
        // gQUIC SNIs tshark read must be found too.
        for sni in truth["gquic"]["snis"].as_array().into_iter().flatten() {
            if !flows.iter().any(|f| f.info.sni.as_deref() == sni.as_str()) {
                failures.push(format!("{name}: gQUIC SNI {sni} not found"));
            } else {
                snis_checked += 1;
            }
        }

        // CONNECTION_CLOSE in Initial packets: same code on that flow.
        for cc in truth["quic_connection_close"].as_array().into_iter().flatten() {
            if cc["long_packet_type"].as_str() != Some("0") {
                continue;
            }
            let f = find(
                cc["src"].as_str().unwrap_or(""),
                cc["sport"].as_u64().unwrap_or(0),
                cc["dst"].as_str().unwrap_or(""),
                cc["dport"].as_u64().unwrap_or(0),
            );
            let code = cc["error_code"].as_str().or(cc["app_error_code"].as_str()).and_then(|c| c.parse::<u64>().ok());
            match f {
                Some(f) if f.info.close.as_ref().map(|c| c.code) == code => {
                    assert_eq!(f.state, Some(State::QuicClosed), "{name}: close state");
                    closes_checked += 1;
                }
                _ => failures.push(format!("{name}: CONNECTION_CLOSE {cc} not found")),
            }
        }
        let summary: Vec<String> = flows
            .iter()
            .map(|f| {
                format!(
                    "{}:{} {:?} {:?} {:?}",
                    f.server.0,
                    f.server.1,
                    f.info.version,
                    f.info.sni,
                    f.state.map(State::name)
                )
            })
            .take(4)
            .collect();
        eprintln!("{name}: {} QUIC flows, e.g. {summary:?}", flows.len());
    }
    eprintln!("{files} files, {snis_checked} hellos/SNIs and {closes_checked} closes matched");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
    assert!(snis_checked > 0 && closes_checked > 0);
}

/// State progression on full handshakes: tshark saw Handshake and short
/// header packets in both directions, so the flow must reach QUIC_CONNECTED.
#[test]
fn quic_corpus_handshakes_complete() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    for name in ["tcpdump_quic_handshake.pcap", "zeek_curl-8.1.2-dev-http3-www-google-de.pcap"] {
        let flows = run(&dir.join(name));
        let f = flows.iter().find(|f| f.info.sni.is_some()).expect("flow with SNI");
        assert_eq!(f.state, Some(State::QuicConnected), "{name}");
        assert!(f.quic.is_done(), "{name}: done once connected with SNI");
    }
}

/// Every capture of the corpus: no panic, and no QUIC SNI or version that
/// tshark did not see (false positives on other UDP traffic).
#[test]
fn quic_corpus_sweep_has_no_false_positives() {
    let Some(dir) = common::corpus_dir() else {
        return;
    };
    let mut failures = Vec::new();
    let mut swept = 0;
    for path in common::corpus_files(&dir) {
        let Some(truth) = common::read_truth(&path) else {
            continue;
        };
        swept += 1;
        let name = path.file_name().unwrap_or_default().to_string_lossy().to_string();
        let mut known: BTreeSet<String> = truth["quic_snis"].as_array().into_iter().flatten().map(s).collect();
        known.extend(truth["gquic"]["snis"].as_array().into_iter().flatten().map(s));
        let quic_seen = truth["quic_packets"].as_u64().unwrap_or(0) > 0 || truth["gquic"].is_object();
        for f in run(&path) {
            if let Some(sni) = &f.info.sni
                && !known.contains(sni)
            {
                failures.push(format!("{name}: SNI {sni:?} not seen by tshark"));
            }
            if f.info.version.is_some() && !quic_seen {
                failures.push(format!("{name}: QUIC {:?} where tshark saw none", f.info.version));
            }
        }
    }
    eprintln!("swept {swept} captures");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
