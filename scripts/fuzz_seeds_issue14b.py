#!/usr/bin/env python3
# Makes the committed seeds of the netbios, dhcp and bittorrent fuzz targets
# (format: crates/rustnet-core/src/fuzzing.rs, dpi_flow). Needs tshark and the corpus.
# Fuzz seeds from the corpus: (target, selector byte, tshark filter, file); payloads as tshark sees them.
import subprocess, os, hashlib
C=os.environ.get('RUSTNET_CORPUS', '/work/shared/pcaps')
OUT=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fuzz', 'corpus')
def payloads(f, flt, field):
    o=subprocess.run(['tshark','-r',f'{C}/{f}','-Y',flt,'-T','fields','-e',field],capture_output=True,text=True).stdout
    return [bytes.fromhex(l.strip().replace(':','')) for l in o.splitlines() if l.strip()]
def seed(target, sel, ps):
    d=bytes([sel])
    for p in ps: d+=len(p).to_bytes(2,'big')+p
    os.makedirs(f'{OUT}/{target}',exist_ok=True)
    open(f'{OUT}/{target}/{hashlib.sha1(d).hexdigest()[:16]}','wb').write(d)
# netbios: selector 0 -> (137,137); 2 -> (138,138); 0x83 -> tcp (50000,139)
seed('netbios',0,payloads('ndpi_netbios.pcap','nbns && udp.srcport==137 && udp.dstport==137','udp.payload')[:3])
seed('netbios',1,payloads('ndpi_netbios.pcap','nbns && udp.dstport==137 && udp.srcport!=137','udp.payload')[:2])
seed('netbios',2,payloads('ndpi_netbios.pcap','nbdgm','udp.payload')[:2])
seed('netbios',0x83,payloads('ndpi_netbios.pcap','tcp.len>0','tcp.payload')[-1:])
seed('dhcp',0,payloads('ndpi_android.pcap','dhcp && udp.srcport==68','udp.payload')[:2])
seed('dhcp',1,payloads('ndpi_android.pcap','dhcp && udp.srcport==67','udp.payload')[:2])
seed('dhcp',2,payloads('ndpi_android.pcap','dhcpv6','udp.payload')[:2])
seed('bittorrent',0x80,payloads('ndpi_bittorrent.pcap','tcp.port==52895 && tcp.len>0','tcp.payload')[:4])
seed('bittorrent',2,payloads('zeek_mdns.pcap','mdns && ip','udp.payload')[:3])
seed('bittorrent',3,payloads('ndpi_custom_risk_mask.pcapng','llmnr','udp.payload')[:1])
# DHT and uTP: hand-made (the corpus has none).
dht=[b'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe', b'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re']
seed('bittorrent',1,dht)
hs=payloads('ndpi_bittorrent.pcap','tcp.port==52894 && tcp.len>0','tcp.payload')[0]
seed('bittorrent',1,[bytes([0x01,0,0x12,0x34])+bytes(16)+hs])
