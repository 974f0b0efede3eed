//! Issue 19 item 2: application data split over IP fragments is inspected.
//! The captures (tests/lab/make_frag_fixtures.sh, real curl, dig, dnsmasq,
//! python's http.server and a router namespace with a 576-byte link) hold
//! HTTP requests whose Host header is in the second IPv4 fragment, DNS
//! answers in IPv4 and IPv6 fragments and an mDNS query in IPv6 fragments.
//! Against tshark's view of them (the truth JSON beside each): every HTTP
//! host and every DNS/mDNS name tshark read is on our record (or the record
//! says it left names out, and then the names it kept are tshark's), and
//! DNS response times equal tshark's. Conversations are checked exactly with
//! the other fixtures (corpus_conversations.rs).

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;

const FILES: &[&str] = &["frag_v4.pcap", "frag_v6.pcap"];

/// The strings `pick` finds in each item of the array `v`.
fn strings(v: &Value, pick: impl Fn(&Value) -> &Value) -> BTreeSet<String> {
    v.as_array().into_iter().flatten().filter_map(|i| pick(i).as_str()).map(String::from).collect()
}

#[test]
fn hosts_and_names_in_fragments_are_found() {
    let (mut hosts, mut names) = (0, 0);
    for file in FILES {
        let truth = truth(&fixture(file)).expect("truth JSON beside the fixture");
        let records = fixture_records(file);
        let ours_hosts: Vec<&str> = records.iter().filter_map(|r| r["app"]["host"].as_str()).collect();
        let theirs_hosts = strings(&truth["http_hosts"], |i| i);
        for h in &theirs_hosts {
            assert!(ours_hosts.contains(&h.as_str()), "{file}: HTTP host {h} not found (ours: {ours_hosts:?})");
        }
        hosts += ours_hosts.iter().filter(|h| theirs_hosts.contains(**h)).count();
        let theirs = strings(&truth["dns_query_set"], |i| &i[0]);
        let mut ours = BTreeSet::new();
        let mut truncated = false;
        for r in records.iter().filter(|r| r["app"]["queries"].is_array()) {
            ours.extend(strings(&r["app"]["queries"], |i| &i["name"]));
            truncated |= r["app"]["truncated"] == true;
        }
        assert!(ours.is_subset(&theirs), "{file}: names tshark did not read: {:?}", ours.difference(&theirs));
        if !truncated {
            assert_eq!(ours, theirs, "{file}");
        }
        assert!(theirs.len() == ours.len() || truncated, "{file}: names left out without saying so");
        names += ours.len();
    }
    // What the clients sent: two requests (connections) to frag.example.test; big.example.test
    // over IPv4 and IPv6; 16 of the mDNS query's 40 names (then truncated).
    assert_eq!(hosts, 2);
    assert_eq!(names, 1 + 1 + 16);
}

#[test]
fn dns_response_time_is_taken_at_the_last_fragment() {
    for file in FILES {
        let truth = truth(&fixture(file)).expect("truth JSON beside the fixture");
        let records = fixture_records(file);
        for c in truth["udp_conversations"].as_array().into_iter().flatten() {
            let Some(want) = c["dns_rtt"].as_f64() else { continue };
            let port = c["a_port"].as_u64().unwrap_or(0);
            let r = records
                .iter()
                .find(|r| r["local"].as_str().is_some_and(|l| l.ends_with(&format!(":{port}"))))
                .unwrap_or_else(|| panic!("{file}: no record for port {port}"));
            let got = r["rtt"].as_f64().unwrap_or_else(|| panic!("{file}: no rtt on {r}"));
            assert!((got - want).abs() < 1e-6, "{file}: rtt ours {got}, tshark {want}");
        }
    }
}
