//! Fallback socket tables from /proc/net/{tcp,tcp6,udp,udp6}, for kernels or
//! sandboxes without NETLINK_SOCK_DIAG. Parsing is procfs-core's.
//!
//! The files are opened once, by the thread that starts the resolver, under
//! /proc/thread-self/net: a seq_file keeps the namespace it was opened in,
//! so re-reading after a rewind stays in the capture's namespace.

use super::sock_diag::{SockEntry, SockRef};
use procfs::net::{TcpNetEntries, UdpNetEntries};
use procfs::{FromBufReadSI, current_system_info};
use rustnet_core::track::{Endpoint, Proto};
use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::net::SocketAddr;

pub struct ProcNet {
    tcp: Vec<File>,
    udp: Vec<File>,
}

impl ProcNet {
    pub fn open() -> io::Result<ProcNet> {
        let open = |n: &str| File::open(format!("/proc/thread-self/net/{n}"));
        let tcp: Vec<File> = ["tcp", "tcp6"].iter().filter_map(|n| open(n).ok()).collect();
        let udp: Vec<File> = ["udp", "udp6"].iter().filter_map(|n| open(n).ok()).collect();
        if tcp.is_empty() && udp.is_empty() {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no /proc/thread-self/net socket tables"));
        }
        Ok(ProcNet { tcp, udp })
    }

    /// Every socket of `proto`, appended to `out`.
    pub fn dump(&mut self, proto: Proto, out: &mut Vec<SockEntry>) -> io::Result<()> {
        let si = current_system_info();
        let bad = |e: procfs::ProcError| io::Error::new(io::ErrorKind::InvalidData, e.to_string());
        match proto {
            Proto::Tcp => {
                for f in &mut self.tcp {
                    f.seek(SeekFrom::Start(0))?;
                    let t = TcpNetEntries::from_buf_read(BufReader::new(&*f), si).map_err(bad)?;
                    for e in t.0 {
                        out.push(entry(proto, e.local_address, e.remote_address, e.inode, e.uid));
                    }
                }
            }
            Proto::Udp => {
                for f in &mut self.udp {
                    f.seek(SeekFrom::Start(0))?;
                    let t = UdpNetEntries::from_buf_read(BufReader::new(&*f), si).map_err(bad)?;
                    for e in t.0 {
                        out.push(entry(proto, e.local_address, e.remote_address, e.inode, e.uid));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The socket of a flow: exact match, else (UDP) one bound to the local
    /// port on the flow's address or the wildcard address.
    pub fn find(&mut self, proto: Proto, local: Endpoint, remote: Endpoint) -> io::Result<Option<SockRef>> {
        let mut all = Vec::new();
        self.dump(proto, &mut all)?;
        let (local, remote) = (local.canonical(), remote.canonical());
        if let Some(e) = all.iter().find(|e| e.local == local && e.remote == remote) {
            return Ok(Some(e.sock));
        }
        if proto != Proto::Udp {
            return Ok(None);
        }
        let bound = |e: &&SockEntry| {
            e.local.port == local.port
                && e.remote.port == 0
                && (e.local.addr == local.addr || e.local.addr.is_unspecified())
        };
        // Prefer a socket bound to the exact address over the wildcard one.
        let exact = all.iter().filter(bound).find(|e| e.local.addr == local.addr);
        Ok(exact.or_else(|| all.iter().find(bound)).map(|e| e.sock))
    }
}

fn entry(proto: Proto, l: SocketAddr, r: SocketAddr, inode: u64, uid: u32) -> SockEntry {
    SockEntry {
        proto,
        local: Endpoint::new(l.ip(), l.port()).canonical(),
        remote: Endpoint::new(r.ip(), r.port()).canonical(),
        sock: SockRef { inode, uid },
    }
}
