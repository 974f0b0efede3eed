#!/usr/bin/env python3
"""Writes src/host/oui.tsv, the embedded table of IEEE MA-L assignments
(24-bit OUI -> organisation), from the registry's public listing as Debian's
ieee-data package ships it (/usr/share/ieee-data/oui.csv).

    apt-get install ieee-data && scripts/gen_oui.py
"""
import csv, os, sys

SRC = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/ieee-data/oui.csv"
OUT = os.path.join(os.path.dirname(__file__), "..", "src", "host", "oui.tsv")

rows = {}
with open(SRC, newline="", encoding="utf-8") as f:
    for r in csv.DictReader(f):
        if r["Registry"] != "MA-L":
            continue
        a = r["Assignment"].strip().upper()
        name = " ".join(r["Organization Name"].split())  # one line, single spaces
        if len(a) == 6 and name:
            rows.setdefault(a, name)
with open(OUT, "w", encoding="utf-8") as f:
    for a in sorted(rows):
        f.write(f"{a}\t{rows[a]}\n")
print(f"{len(rows)} assignments -> {OUT}", file=sys.stderr)
