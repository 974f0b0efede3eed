//! Vendors of MAC addresses: the IEEE MA-L registry (24-bit OUIs) as an
//! embedded table, src/host/oui.tsv, generated from the public listing by
//! scripts/gen_oui.py (Debian's ieee-data). Parsed on first use.

use std::sync::OnceLock;

static TABLE: &str = include_str!("oui.tsv");

fn table() -> &'static [(u32, &'static str)] {
    static PARSED: OnceLock<Vec<(u32, &'static str)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        TABLE
            .lines()
            .filter_map(|l| {
                let (hex, name) = l.split_once('\t')?;
                Some((u32::from_str_radix(hex, 16).ok()?, name))
            })
            .collect()
    })
}

/// The organisation the MAC's OUI is assigned to; None for locally
/// administered addresses (randomised, virtual) and unassigned OUIs.
pub fn vendor(mac: [u8; 6]) -> Option<&'static str> {
    if mac[0] & 0x02 != 0 {
        return None;
    }
    let oui = u32::from_be_bytes([0, mac[0], mac[1], mac[2]]);
    let t = table();
    t.binary_search_by_key(&oui, |(k, _)| *k).ok().map(|i| t[i].1)
}

/// "00:1b:21:0a:0b:0c".
pub fn format(mac: [u8; 6]) -> String {
    mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendors_from_the_registry() {
        assert_eq!(vendor([0x00, 0x1b, 0x21, 1, 2, 3]), Some("Intel Corporate"));
        assert_eq!(vendor([0x00, 0x00, 0x00, 1, 2, 3]), Some("XEROX CORPORATION"));
        assert_eq!(vendor([0x02, 0x1b, 0x21, 1, 2, 3]), None, "locally administered");
        assert!(table().windows(2).all(|w| w[0].0 < w[1].0), "sorted, no duplicates");
        assert!(table().len() > 30_000);
        assert_eq!(format([0, 0x1b, 0x21, 0xa, 0xb, 0xc]), "00:1b:21:0a:0b:0c");
    }
}
