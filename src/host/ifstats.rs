//! Per-interface counters from sysfs (`/sys/class/net/IFACE/statistics`),
//! for the Activity tab's interface rows (live capture only).

use std::path::Path;

/// One interface's kernel counters, since it came up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IfCounters {
    pub name: String,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
}

/// Every interface under `root` (normally `/sys/class/net`), sorted by
/// name. A counter that cannot be read is 0; an unreadable directory gives
/// an empty list (no sysfs, e.g. in a container without it).
pub fn read_all(root: &Path) -> Vec<IfCounters> {
    let Ok(dir) = std::fs::read_dir(root) else { return Vec::new() };
    let mut out: Vec<IfCounters> = dir
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stats = e.path().join("statistics");
            let n = |f: &str| -> u64 {
                std::fs::read_to_string(stats.join(f)).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
            };
            stats.is_dir().then(|| IfCounters {
                rx_bytes: n("rx_bytes"),
                tx_bytes: n("tx_bytes"),
                rx_errors: n("rx_errors"),
                tx_errors: n("tx_errors"),
                rx_dropped: n("rx_dropped"),
                tx_dropped: n("tx_dropped"),
                name,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the kernel's own numbers for loopback, read with `ip -s link`'s
    /// source, sysfs: after sending bytes over lo, its counters grew at least as much.
    #[test]
    fn loopback_counters_grow_with_traffic() {
        let root = Path::new("/sys/class/net");
        let before = read_all(root);
        let Some(lo) = before.iter().find(|i| i.name == "lo").cloned() else {
            assert!(!crate::testenv::required(), "no /sys/class/net/lo");
            return;
        };
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind on loopback");
        let dst = sock.local_addr().expect("bound");
        for _ in 0..100 {
            sock.send_to(&[0u8; 1000], dst).expect("send on loopback");
        }
        let after = read_all(root);
        let lo2 = after.iter().find(|i| i.name == "lo").expect("lo still there");
        assert!(lo2.tx_bytes >= lo.tx_bytes + 100 * 1000, "{lo:?} -> {lo2:?}");
        assert!(lo2.rx_bytes >= lo.rx_bytes + 100 * 1000, "{lo:?} -> {lo2:?}");
        assert!(read_all(Path::new("/nonexistent")).is_empty());
    }
}
