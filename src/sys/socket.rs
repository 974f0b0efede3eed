//! Socket calls shared by the capture ring and the process-hint socket:
//! typed setsockopt/getsockopt, binding a packet socket, attaching a classic
//! BPF program. Thin libc wrappers, so neither user depends on the other.

use std::io;
use std::mem::size_of;
use std::os::fd::AsRawFd;

/// One classic BPF instruction, laid out as `struct bpf_insn` / `struct sock_filter`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// Binds a packet socket to `ifindex` (0 = every interface) for all protocols;
/// packets start arriving from here on.
pub fn bind_all_protocols(fd: std::os::fd::RawFd, ifindex: i32) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = ifindex;
    // SAFETY: `sll` is a valid sockaddr_ll and the length matches it.
    let rc = unsafe {
        libc::bind(fd, (&sll as *const libc::sockaddr_ll).cast(), size_of::<libc::sockaddr_ll>() as libc::socklen_t)
    };
    if rc != 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// setsockopt(2) with `val` as the option value (its size passed along).
pub fn setsockopt<T>(fd: &impl AsRawFd, level: libc::c_int, opt: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: pointer and length describe `val`, which outlives the call.
    let rc = unsafe {
        libc::setsockopt(fd.as_raw_fd(), level, opt, (val as *const T).cast(), size_of::<T>() as libc::socklen_t)
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// getsockopt(2) into `val` (its size passed along as the buffer length).
pub fn getsockopt<T>(fd: &impl AsRawFd, level: libc::c_int, opt: libc::c_int, val: &mut T) -> io::Result<()> {
    let mut len = size_of::<T>() as libc::socklen_t;
    // SAFETY: pointer and length describe `val`, valid for writes; the
    // kernel writes at most `len` bytes.
    let rc = unsafe { libc::getsockopt(fd.as_raw_fd(), level, opt, (val as *mut T).cast(), &mut len) };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Attaches a program to a socket (SO_ATTACH_FILTER): the kernel then queues
/// only matching packets.
pub fn attach_filter(fd: std::os::fd::RawFd, prog: &[Insn]) -> io::Result<()> {
    let len = u16::try_from(prog.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // Insn has sock_filter's layout (repr(C) u16,u8,u8,u32); the kernel
    // copies the program during the call, while `prog` is borrowed.
    let fprog = libc::sock_fprog { len, filter: prog.as_ptr().cast_mut().cast::<libc::sock_filter>() };
    // SAFETY: `fd` is an open descriptor of the caller's for the duration of the call.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    setsockopt(&fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)
}
