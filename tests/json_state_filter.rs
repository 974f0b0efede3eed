//! Issue 11, item 2: `--json --filter state:…` keeps exactly the records
//! that print with that state. Before the engine stamped aged states, workers
//! filtered on the state as of the last packet (UDP_ACTIVE) while JSON printed
//! the aged one, so `state:udp_stale` kept none of the UDP_STALE records.

mod common;

use common::*;
use serde_json::Value;

/// Captures whose UDP flows go quiet long enough to show every UDP state.
const FILES: &[&str] = &["ndpi_snmp.pcap", "ndpi_stun.pcap", "ndpi_netbios.pcap", "ndpi_badpackets.pcap"];
const STATES: &[&str] = &["UDP_STALE", "UDP_IDLE", "UDP_ACTIVE"];

fn lines(records: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = records.iter().map(Value::to_string).collect();
    v.sort();
    v
}

#[test]
fn state_filter_keeps_the_records_that_print_with_that_state() {
    let Some(dir) = corpus_dir() else {
        eprintln!("note: RUSTNET_CORPUS is not a folder; skipping the state filter test");
        return;
    };
    let mut stale = 0;
    for f in FILES {
        let cap = dir.join(f);
        if !cap.is_file() {
            eprintln!("note: {f} is not in the corpus; skipped");
            continue;
        }
        for workers in ["1", "4"] {
            let all = run_json(&cap, &["--workers", workers]);
            assert!(all.status.success(), "{f}: {}", all.stderr);
            for state in STATES {
                let want: Vec<Value> = all.records.iter().filter(|r| r["state"] == *state).cloned().collect();
                let filter = format!("state:{}", state.to_ascii_lowercase());
                let got = run_json(&cap, &["--workers", workers, "--filter", &filter]);
                assert!(got.status.success(), "{f}: {}", got.stderr);
                assert_eq!(
                    lines(&got.records),
                    lines(&want),
                    "{f} --workers {workers} --filter {filter}: kept {} of the {} records printed as {state}",
                    got.records.iter().filter(|r| r["state"] == *state).count(),
                    want.len()
                );
                if *state == "UDP_STALE" {
                    stale += want.len();
                }
            }
        }
    }
    // The files above do hold stale flows (else the test would prove nothing).
    if FILES.iter().all(|f| dir.join(f).is_file()) {
        assert!(stale > 0, "no UDP_STALE record in {FILES:?}");
    }
}
