//! Socket lookup through netlink sock_diag (inet_diag): exact 5-tuple
//! queries and full dumps. The kernel answers for the network namespace the
//! netlink socket was opened in, so it is opened by the thread that starts
//! the resolver (the capture's namespace).
//!
//! Uses netlink-packet-sock-diag + netlink-sys (rust-netlink, maintained)
//! rather than hand-rolled structs: they encode/decode inet_diag_req_v2 and
//! inet_diag_msg safely, so this module needs no `unsafe`.

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_SOCK_DIAG};
use rustnet_core::track::{Endpoint, Proto};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What the kernel tells about one socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockRef {
    /// 0 for sockets without a file yet (SYN_RECV, not yet accepted) or
    /// without one any more (TIME_WAIT).
    pub inode: u64,
    pub uid: u32,
}

/// One socket of a dump, addresses normalised (IPv4-mapped IPv6 → IPv4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockEntry {
    pub proto: Proto,
    pub local: Endpoint,
    /// Unspecified address and port 0 for unconnected/listening sockets.
    pub remote: Endpoint,
    pub sock: SockRef,
}

/// A NETLINK_SOCK_DIAG socket of the namespace it was opened in.
pub struct SockDiag {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

/// "Any cookie": the kernel then matches on addresses and ports only.
const NO_COOKIE: [u8; 8] = [0xff; 8];

impl SockDiag {
    pub fn open() -> io::Result<SockDiag> {
        let mut sock = Socket::new(NETLINK_SOCK_DIAG)?;
        sock.bind_auto()?;
        sock.connect(&SocketAddr::new(0, 0))?;
        Ok(SockDiag { sock, seq: 0, buf: vec![0; 64 * 1024] })
    }

    /// The socket owning `local`↔`remote`. For UDP the kernel does the
    /// receive-path lookup, so an unconnected socket bound to the local
    /// port (or the wildcard address) is found too; a dual-stack IPv6
    /// socket is found for an IPv4 flow.
    pub fn find(&mut self, proto: Proto, local: Endpoint, remote: Endpoint) -> io::Result<Option<SockRef>> {
        let protocol = ip_protocol(proto)?;
        let (local, remote) = same_family(local, remote);
        // udp_dump_one looks up with source and destination swapped
        // (net/ipv4/udp_diag.c: "src and dst are swapped for historical reasons").
        let (src, dst) = if proto == Proto::Udp { (remote, local) } else { (local, remote) };
        let id = SocketId {
            source_port: src.port,
            destination_port: dst.port,
            source_address: src.addr,
            destination_address: dst.addr,
            interface_id: 0,
            cookie: NO_COOKIE,
        };
        let req = InetRequest {
            family: family(local.addr),
            protocol,
            extensions: ExtensionFlags::empty(),
            states: StateFlags::all(),
            socket_id: id,
        };
        let mut found = None;
        self.exchange(req, false, |e| found = Some(e.sock))?;
        Ok(found)
    }

    /// Every socket of `proto` in both families; appended to `out`.
    pub fn dump(&mut self, proto: Proto, out: &mut Vec<SockEntry>) -> io::Result<()> {
        let protocol = ip_protocol(proto)?;
        for (fam, id) in [(AF_INET, SocketId::new_v4()), (AF_INET6, SocketId::new_v6())] {
            let req = InetRequest {
                family: fam,
                protocol,
                extensions: ExtensionFlags::empty(),
                states: StateFlags::all(),
                socket_id: id,
            };
            self.exchange(req, true, |mut e| {
                e.proto = proto;
                out.push(e)
            })?;
        }
        Ok(())
    }

    /// Sends one request and feeds each socket of the answer to `each`.
    /// ENOENT (no such socket) is an empty answer.
    fn exchange(&mut self, req: InetRequest, dump: bool, mut each: impl FnMut(SockEntry)) -> io::Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut hdr = NetlinkHeader::default();
        hdr.flags = NLM_F_REQUEST | if dump { NLM_F_DUMP } else { 0 };
        hdr.sequence_number = seq;
        let mut msg = NetlinkMessage::new(hdr, SockDiagMessage::InetRequest(req).into());
        msg.finalize();
        let mut out = vec![0; msg.buffer_len()];
        // serialize() panics only on a buffer shorter than buffer_len(), which `out` is not.
        msg.serialize(&mut out);
        self.sock.send(&out, 0)?;
        loop {
            let n = self.sock.recv(&mut &mut self.buf[..], 0)?;
            let mut off = 0;
            while off < n {
                let bytes = &self.buf[off..n];
                let m = NetlinkMessage::<SockDiagMessage>::deserialize(bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = m.header.length as usize;
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
                if m.header.sequence_number != seq {
                    continue; // a late answer to an earlier request
                }
                match m.payload {
                    NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r)) => {
                        let h = &r.header;
                        let id = &h.socket_id;
                        each(SockEntry {
                            proto: Proto::Tcp,
                            local: Endpoint::new(id.source_address, id.source_port).canonical(),
                            remote: Endpoint::new(id.destination_address, id.destination_port).canonical(),
                            sock: SockRef { inode: u64::from(h.inode), uid: h.uid },
                        });
                        if !dump {
                            return Ok(());
                        }
                    }
                    NetlinkPayload::Done(_) => return Ok(()),
                    NetlinkPayload::Error(e) => {
                        return match e.code.map(|c| -c.get()) {
                            None | Some(libc::ENOENT) => Ok(()),
                            Some(errno) => Err(io::Error::from_raw_os_error(errno)),
                        };
                    }
                    _ => {}
                }
            }
        }
    }
}

fn ip_protocol(p: Proto) -> io::Result<u8> {
    match p {
        Proto::Tcp => Ok(IPPROTO_TCP),
        Proto::Udp => Ok(IPPROTO_UDP),
        _ => Err(io::Error::new(io::ErrorKind::InvalidInput, "sock_diag: only TCP and UDP have sockets to look up")),
    }
}

fn family(a: IpAddr) -> u8 {
    if a.is_ipv4() { AF_INET } else { AF_INET6 }
}

/// Both ends in one family: an IPv4 end paired with an IPv6 one is mapped.
fn same_family(a: Endpoint, b: Endpoint) -> (Endpoint, Endpoint) {
    let (a, b) = (a.canonical(), b.canonical());
    match (a.addr, b.addr) {
        (IpAddr::V4(x), IpAddr::V6(_)) => (Endpoint::new(IpAddr::V6(x.to_ipv6_mapped()), a.port), b),
        (IpAddr::V6(_), IpAddr::V4(y)) => (a, Endpoint::new(IpAddr::V6(y.to_ipv6_mapped()), b.port)),
        _ => (a, b),
    }
}

/// The wildcard ("any") address of `a`'s family.
pub fn unspecified(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}
