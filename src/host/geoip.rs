//! `--geoip DIR`: country, city and AS of remote addresses from local
//! MaxMind-format databases (GeoLite2 or DB-IP lite files), read with the
//! maxminddb crate. Never a network lookup. A missing or corrupt file is
//! one warning; the other files still work.

use rustnet_core::track::GeoInfo;
use std::net::IpAddr;
use std::path::Path;

type Db = maxminddb::Reader<Vec<u8>>;

/// The databases found in one directory.
#[derive(Default)]
pub struct GeoIp {
    /// Country or City layout (a City file also gives the country).
    place: Vec<Db>,
    asn: Option<Db>,
}

/// File names looked for, by layout: MaxMind's GeoLite2/GeoIP2, then DB-IP's lite.
const CITY: [&str; 3] = ["GeoLite2-City.mmdb", "GeoIP2-City.mmdb", "dbip-city-lite.mmdb"];
const COUNTRY: [&str; 3] = ["GeoLite2-Country.mmdb", "GeoIP2-Country.mmdb", "dbip-country-lite.mmdb"];
const ASN: [&str; 3] = ["GeoLite2-ASN.mmdb", "GeoIP2-ISP.mmdb", "dbip-asn-lite.mmdb"];

impl GeoIp {
    /// Opens what `dir` holds; returns the databases and one warning per
    /// problem (no usable file at all is a warning too).
    pub fn open(dir: &Path) -> (GeoIp, Vec<String>) {
        let mut g = GeoIp::default();
        let mut warnings = Vec::new();
        let mut open = |names: &[&str]| -> Option<Db> {
            let path = names.iter().map(|n| dir.join(n)).find(|p| p.exists())?;
            match maxminddb::Reader::open_readfile(&path) {
                Ok(db) => Some(db),
                Err(e) => {
                    warnings.push(format!("GeoIP: {} is not a usable MaxMind database ({e}); skipped", path.display()));
                    None
                }
            }
        };
        // City first: its country is as good as the Country file's.
        g.place.extend(open(&CITY));
        g.place.extend(open(&COUNTRY));
        g.asn = open(&ASN);
        if g.place.is_empty() && g.asn.is_none() && warnings.is_empty() {
            warnings.push(format!(
                "GeoIP: no database in {} (looked for {}, {}, {} and their DB-IP lite names)",
                dir.display(),
                CITY[0],
                COUNTRY[0],
                ASN[0]
            ));
        }
        (g, warnings)
    }

    /// True when no database could be opened.
    pub fn is_empty(&self) -> bool {
        self.place.is_empty() && self.asn.is_none()
    }

    /// What the databases say of `ip` (all None when nothing); a record the
    /// reader cannot decode counts as nothing.
    pub fn lookup(&self, ip: IpAddr) -> GeoInfo {
        let mut out = GeoInfo::default();
        for db in &self.place {
            let Ok(Some(city)) = db.lookup(ip).and_then(|r| r.decode::<maxminddb::geoip2::City>()) else {
                continue;
            };
            if out.country.is_none() {
                out.country = city.country.iso_code.map(str::to_string);
            }
            if out.city.is_none() {
                out.city = city.city.names.english.map(str::to_string);
            }
        }
        if let Some(db) = &self.asn
            && let Ok(Some(a)) = db.lookup(ip).and_then(|r| r.decode::<maxminddb::geoip2::Asn>())
        {
            out.asn = a.autonomous_system_number;
            out.org = a.autonomous_system_organization.map(str::to_string);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoip")
    }

    /// The values scripts/make_geoip_fixture.py told the writer.
    #[test]
    fn looks_up_what_the_databases_hold() {
        let (g, warnings) = GeoIp::open(&fixtures());
        assert!(warnings.is_empty(), "{warnings:?}");
        let v4 = g.lookup("10.77.0.2".parse().expect("ip"));
        assert_eq!(v4.country.as_deref(), Some("DE"));
        assert_eq!(v4.city.as_deref(), Some("Berlin"));
        assert_eq!((v4.asn, v4.org.as_deref()), (Some(64500), Some("Example Transit GmbH")));
        let v6 = g.lookup("fd77::2".parse().expect("ip"));
        assert_eq!((v6.country.as_deref(), v6.org.as_deref()), (Some("FR"), Some("Exemple Réseau SA")));
        assert_eq!(g.lookup("198.51.100.77".parse().expect("ip")).country.as_deref(), Some("JP"));
        assert!(g.lookup("10.77.0.1".parse().expect("ip")).is_empty());
    }

    #[test]
    fn missing_and_corrupt_files_are_warnings() {
        let dir = std::env::temp_dir().join(format!("rustnet-geoip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (g, w) = GeoIp::open(&dir);
        assert!(g.is_empty() && w.len() == 1 && w[0].contains("no database"), "{w:?}");
        // A truncated City file and garbage as the ASN file; a good Country file.
        let city = std::fs::read(fixtures().join("GeoLite2-City.mmdb")).expect("fixture");
        std::fs::write(dir.join("GeoLite2-City.mmdb"), &city[..city.len() / 2]).expect("write");
        std::fs::write(dir.join("GeoLite2-ASN.mmdb"), b"not a database at all").expect("write");
        std::fs::copy(fixtures().join("GeoLite2-Country.mmdb"), dir.join("GeoLite2-Country.mmdb")).expect("copy");
        let (g, w) = GeoIp::open(&dir);
        assert_eq!(w.len(), 2, "{w:?}");
        let v4 = g.lookup("10.77.0.2".parse().expect("ip"));
        assert_eq!((v4.country.as_deref(), v4.asn), (Some("DE"), None));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
