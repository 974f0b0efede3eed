#![no_main]
//! A MaxMind database from untrusted bytes (a corrupt or hostile .mmdb
//! given to --geoip): opening and looking up addresses never panics.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(g) = rustnet::host::geoip::GeoIp::from_bytes(data.to_vec()) {
        for ip in ["10.77.0.2", "0.0.0.0", "255.255.255.255", "::", "fd77::2", "2001:db8::1"] {
            let _ = g.lookup(ip.parse().expect("literal address"));
        }
    }
});
