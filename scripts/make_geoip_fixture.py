#!/usr/bin/env python3
"""Writes the small MaxMind-format test databases in tests/fixtures/geoip/
(GeoLite2 Country, City and ASN layouts) with mmdb-writer (PyPI), so the
GeoIP tests need no download: the values are what this script tells the
writer, and tests/geoip.rs checks rustnet shows exactly them (and that
libmaxminddb's mmdblookup reads the same files).

    pip install mmdb-writer && scripts/make_geoip_fixture.py
"""
import os
from netaddr import IPSet
from mmdb_writer import MMDBWriter

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "geoip")

# network -> (iso, country, city, asn, org). The lab's server addresses
# (tests/lab/netns.sh: 10.77.0.2, fd77::2) and a documentation network.
ENTRIES = {
    "10.77.0.2/32": ("DE", "Germany", "Berlin", 64500, "Example Transit GmbH"),
    "fd77::2/128": ("FR", "France", "Paris", 64501, "Exemple Réseau SA"),
    "198.51.100.0/24": ("JP", "Japan", "Tokyo", 64502, "Example KK"),
}


def writer(kind):
    return MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=kind,
                      languages=["en"], description={"en": "rustnet test data"})


def main():
    os.makedirs(OUT, exist_ok=True)
    country, city, asn = writer("GeoLite2-Country"), writer("GeoLite2-City"), writer("GeoLite2-ASN")
    for net, (iso, cname, town, number, org) in ENTRIES.items():
        c = {"iso_code": iso, "names": {"en": cname}}
        country.insert_network(IPSet([net]), {"country": c, "registered_country": c})
        city.insert_network(IPSet([net]), {"country": c, "city": {"names": {"en": town}}})
        asn.insert_network(IPSet([net]), {"autonomous_system_number": number,
                                          "autonomous_system_organization": org})
    country.to_db_file(os.path.join(OUT, "GeoLite2-Country.mmdb"))
    city.to_db_file(os.path.join(OUT, "GeoLite2-City.mmdb"))
    asn.to_db_file(os.path.join(OUT, "GeoLite2-ASN.mmdb"))


if __name__ == "__main__":
    main()
