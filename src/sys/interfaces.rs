//! Network interfaces of this host: names, indexes, flags and addresses
//! (getifaddrs), and the interface of the default route (/proc/net/route).
//!
//! getifaddrs is called through libc directly: it is one FFI call plus a walk
//! over a linked list, smaller than pulling in a crate for it.

use std::collections::HashSet;
use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd};

/// One IP address assigned to an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IfAddress {
    pub ip: IpAddr,
    /// Length of the network prefix (from the netmask).
    pub prefix_len: u8,
}

/// A network interface as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    /// Kernel interface index (0 if the kernel gave none).
    pub index: u32,
    /// ARPHRD_* hardware type (1 Ethernet, 772 loopback, 65534 none/tun …), if known.
    pub hw_type: Option<u16>,
    /// Administratively up (IFF_UP).
    pub up: bool,
    /// Operationally up (IFF_RUNNING).
    pub running: bool,
    pub loopback: bool,
    pub addresses: Vec<IfAddress>,
}

/// All interfaces of the calling thread's network namespace, in kernel order.
pub fn list() -> io::Result<Vec<Interface>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `head`; on success we own the
    // list and free it below with freeifaddrs exactly once.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out: Vec<Interface> = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a non-null node of the list getifaddrs returned,
        // valid until freeifaddrs.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }.to_string_lossy().into_owned();
        let pos = match out.iter().position(|i| i.name == name) {
            Some(p) => p,
            None => {
                out.push(Interface {
                    name,
                    index: 0,
                    hw_type: None,
                    up: false,
                    running: false,
                    loopback: false,
                    addresses: Vec::new(),
                });
                out.len() - 1
            }
        };
        let entry = &mut out[pos];
        let flags = ifa.ifa_flags as libc::c_int;
        entry.up = flags & libc::IFF_UP != 0;
        entry.running = flags & libc::IFF_RUNNING != 0;
        entry.loopback = flags & libc::IFF_LOOPBACK != 0;
        if ifa.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_addr is non-null and points to a sockaddr whose family
        // tells its real type; each arm reads it as that type only.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        match family {
            libc::AF_PACKET => {
                // SAFETY: AF_PACKET entries carry a sockaddr_ll.
                let ll = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_ll) };
                entry.index = u32::try_from(ll.sll_ifindex).unwrap_or(0);
                entry.hw_type = Some(ll.sll_hatype);
            }
            libc::AF_INET | libc::AF_INET6 => {
                // SAFETY: family checked; the netmask, when present, has the same family.
                let ip = unsafe { sockaddr_ip(ifa.ifa_addr) };
                let mask = if ifa.ifa_netmask.is_null() {
                    None
                } else {
                    // SAFETY: as above.
                    unsafe { sockaddr_ip(ifa.ifa_netmask) }
                };
                if let Some(ip) = ip {
                    let prefix_len = mask.map_or(0, prefix_len);
                    entry.addresses.push(IfAddress { ip, prefix_len });
                }
            }
            _ => {}
        }
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    // glibc leaves ifa_addr null for interfaces without a hardware address
    // (tun, some tunnels): ask the kernel by name instead.
    for entry in out.iter_mut() {
        if entry.index == 0 {
            entry.index = name_to_index(&entry.name).unwrap_or(0);
        }
        if entry.hw_type.is_none() {
            entry.hw_type = hw_type(&entry.name).ok();
        }
    }
    Ok(out)
}

fn ifreq_for(name: &str) -> io::Result<libc::ifreq> {
    // SAFETY: ifreq is plain old data; all-zero is valid.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= req.ifr_name.len() || name.as_bytes().contains(&0) {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    Ok(req)
}

/// The index of interface `name` in the calling thread's namespace.
pub fn name_to_index(name: &str) -> io::Result<u32> {
    let req = ifreq_for(name)?;
    // SAFETY: ifr_name is NUL-terminated (zeroed, name shorter than the array).
    match unsafe { libc::if_nametoindex(req.ifr_name.as_ptr()) } {
        0 => Err(io::Error::last_os_error()),
        i => Ok(i),
    }
}

/// ARPHRD_* type of an interface (SIOCGIFHWADDR), in the calling thread's namespace.
pub fn hw_type(name: &str) -> io::Result<u16> {
    let mut req = ifreq_for(name)?;
    // SAFETY: plain syscall; an unprivileged UDP socket is enough for the ioctl.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor we own; OwnedFd closes it.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    // SAFETY: SIOCGIFHWADDR reads and writes the ifreq passed by pointer.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: on success the kernel filled ifru_hwaddr.
    Ok(unsafe { req.ifr_ifru.ifru_hwaddr.sa_family })
}

/// Reads an IPv4/IPv6 address out of a sockaddr.
///
/// # Safety
/// `sa` must point to a valid sockaddr_in when its family is AF_INET and to a
/// sockaddr_in6 when it is AF_INET6.
unsafe fn sockaddr_ip(sa: *const libc::sockaddr) -> Option<IpAddr> {
    // SAFETY: guaranteed by the caller.
    unsafe {
        match i32::from((*sa).sa_family) {
            libc::AF_INET => {
                let sin = &*(sa as *const libc::sockaddr_in);
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))))
            }
            libc::AF_INET6 => {
                let sin6 = &*(sa as *const libc::sockaddr_in6);
                Some(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)))
            }
            _ => None,
        }
    }
}

fn prefix_len(mask: IpAddr) -> u8 {
    let ones = match mask {
        IpAddr::V4(m) => u32::from(m).count_ones(),
        IpAddr::V6(m) => u128::from(m).count_ones(),
    };
    // At most 128: always fits.
    u8::try_from(ones).unwrap_or(u8::MAX)
}

/// Addresses that belong to this host on `iface`; for "any", on all interfaces.
/// Empty if the interface is unknown or listing fails.
pub fn local_addresses(iface: &str) -> HashSet<IpAddr> {
    let Ok(all) = list() else {
        return HashSet::new();
    };
    all.iter().filter(|i| iface == "any" || i.name == iface).flat_map(|i| i.addresses.iter().map(|a| a.ip)).collect()
}

/// Name of the interface the default route goes through: IPv4 first (lowest
/// metric), then IPv6. Reads the calling thread's namespace view.
pub fn default_route_interface() -> Option<String> {
    let read = |rel: &str| {
        std::fs::read_to_string(format!("/proc/thread-self/{rel}"))
            .or_else(|_| std::fs::read_to_string(format!("/proc/{rel}")))
            .ok()
    };
    read("net/route").and_then(|t| default_v4(&t)).or_else(|| read("net/ipv6_route").and_then(|t| default_v6(&t)))
}

const RTF_UP: u32 = 0x0001;
const RTF_REJECT: u32 = 0x0200;

/// Usable route flags: up and not an unreachable/prohibit route.
fn usable(flags: u32) -> bool {
    flags & RTF_UP != 0 && flags & RTF_REJECT == 0
}

/// Default route interface from /proc/net/route text (header line, then
/// whitespace-separated Iface Destination Gateway Flags RefCnt Use Metric Mask …, hex).
fn default_v4(text: &str) -> Option<String> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (iface, dest, flags, metric, mask) = (f.first()?, f.get(1)?, f.get(3)?, f.get(6)?, f.get(7)?);
            let dest = u32::from_str_radix(dest, 16).ok()?;
            let mask = u32::from_str_radix(mask, 16).ok()?;
            let flags = u32::from_str_radix(flags, 16).ok()?;
            let metric: u32 = metric.parse().ok()?;
            (dest == 0 && mask == 0 && usable(flags)).then(|| (metric, (*iface).to_string()))
        })
        .min_by_key(|(metric, _)| *metric)
        .map(|(_, iface)| iface)
}

/// Default route interface from /proc/net/ipv6_route text (no header; fields:
/// dest plen src plen nexthop metric refcnt use flags iface, hex).
fn default_v6(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (dest, plen, metric, flags, iface) = (f.first()?, f.get(1)?, f.get(5)?, f.get(8)?, f.get(9)?);
            let dest = u128::from_str_radix(dest, 16).ok()?;
            let plen = u8::from_str_radix(plen, 16).ok()?;
            let metric = u32::from_str_radix(metric, 16).ok()?;
            let flags = u32::from_str_radix(flags, 16).ok()?;
            (dest == 0 && plen == 0 && usable(flags) && *iface != "lo").then(|| (metric, (*iface).to_string()))
        })
        .min_by_key(|(metric, _)| *metric)
        .map(|(_, iface)| iface)
}

#[cfg(test)]
#[path = "interfaces_tests.rs"]
mod tests;
