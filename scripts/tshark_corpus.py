"""Shared by the scripts that write tshark truth files: the corpus folder
from the command line or RUSTNET_CORPUS, and tshark's PDML packets of every
capture in it that match a display filter."""
import glob, os, subprocess, sys
import xml.etree.ElementTree as ET


def corpus_dir():
    return sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RUSTNET_CORPUS", "/work/shared/pcaps")


def packets(display_filter):
    """(file name, PDML <packet> element) for every packet of every corpus
    capture that tshark shows under `display_filter`, files in name order."""
    for path in sorted(glob.glob(os.path.join(corpus_dir(), "*.pcap*"))):
        if path.endswith(".json"):
            continue
        pdml = subprocess.run(["tshark", "-r", path, "-Y", display_filter, "-T", "pdml"],
                              capture_output=True, text=True).stdout
        if not pdml.strip():
            continue
        for pkt in ET.fromstring(pdml).iter("packet"):
            yield os.path.basename(path), pkt
