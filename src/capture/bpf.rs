//! tcpdump-syntax capture filters (`-f/--bpf-filter`): compiled by libpcap to
//! classic BPF, attached to the AF_PACKET socket (kernel filtering), or run in
//! user space over capture files and where the kernel cannot run them.
//!
//! Compiling: with the `pcap` feature through the pcap crate; without it
//! (the default Linux build, which links no C library) libpcap is loaded at
//! run time if the system has it.

use super::Packet;
use rustnet_core::wire::LinkType;
use std::collections::HashMap;
use std::fmt;

pub use crate::sys::socket::Insn;
// The tests check that the kernel accepts what libpcap compiles.
#[cfg(test)]
use crate::sys::socket::attach_filter as attach;

/// Why a filter could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BpfError {
    /// libpcap rejected the expression (its message).
    Syntax(String),
    /// No libpcap to compile with.
    NoLibpcap(String),
}

impl BpfError {
    /// Exit code: 2 for a bad filter expression (usage), else 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            BpfError::Syntax(_) => 2,
            BpfError::NoLibpcap(_) => 1,
        }
    }
}

impl fmt::Display for BpfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BpfError::Syntax(m) => write!(f, "invalid BPF filter: {m}"),
            BpfError::NoLibpcap(m) => write!(
                f,
                "--bpf-filter needs libpcap to compile the expression, and none was found ({m}); \
                 install it (Debian/Ubuntu: apt install libpcap0.8) or build with --features pcap"
            ),
        }
    }
}

impl std::error::Error for BpfError {}

/// The DLT_ number libpcap's compiler expects for a link type (differs from
/// the LINKTYPE_ number for raw IP).
fn dlt(link: LinkType) -> i32 {
    match link {
        LinkType::Raw => 12,
        other => other.number() as i32,
    }
}

/// Compiles `expr` for frames of `link` (optimised, netmask unknown).
pub fn compile(expr: &str, link: LinkType) -> Result<Vec<Insn>, BpfError> {
    if expr.contains('\0') {
        return Err(BpfError::Syntax("the expression contains a NUL byte".into()));
    }
    imp::compile(expr, dlt(link))
}

#[cfg(any(feature = "pcap", not(target_os = "linux")))]
mod imp {
    use super::{BpfError, Insn};

    pub fn compile(expr: &str, dlt: i32) -> Result<Vec<Insn>, BpfError> {
        let dead = pcap::Capture::dead(pcap::Linktype(dlt)).map_err(|e| BpfError::NoLibpcap(e.to_string()))?;
        let prog = dead.compile(expr, true).map_err(|e| BpfError::Syntax(e.to_string()))?;
        // The pcap crate keeps the instruction fields private but prints them as
        // "code jt jf k"; reading that back avoids reinterpreting its memory.
        prog.get_instructions()
            .iter()
            .map(|i| {
                let s = i.to_string();
                let mut f = s.split(' ').map(|w| w.parse::<u64>().ok());
                match (f.next().flatten(), f.next().flatten(), f.next().flatten(), f.next().flatten()) {
                    (Some(code), Some(jt), Some(jf), Some(k)) => Ok(Insn {
                        code: u16::try_from(code).map_err(|_| BpfError::Syntax(format!("bad insn {s}")))?,
                        jt: u8::try_from(jt).map_err(|_| BpfError::Syntax(format!("bad insn {s}")))?,
                        jf: u8::try_from(jf).map_err(|_| BpfError::Syntax(format!("bad insn {s}")))?,
                        k: u32::try_from(k).map_err(|_| BpfError::Syntax(format!("bad insn {s}")))?,
                    }),
                    _ => Err(BpfError::Syntax(format!("unexpected instruction text {s:?}"))),
                }
            })
            .collect()
    }
}

#[cfg(not(any(feature = "pcap", not(target_os = "linux"))))]
mod imp {
    use super::{BpfError, Insn};
    use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};

    /// `struct bpf_program`.
    #[repr(C)]
    struct Program {
        len: c_uint,
        insns: *mut Insn,
    }

    const LIBS: [&str; 3] = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];
    const NETMASK_UNKNOWN: u32 = 0xffff_ffff;
    /// Snap length the programs are compiled for (libpcap's maximum).
    const SNAPLEN: c_int = 262_144;

    type OpenDead = unsafe extern "C" fn(c_int, c_int) -> *mut c_void;
    type Compile = unsafe extern "C" fn(*mut c_void, *mut Program, *const c_char, c_int, u32) -> c_int;
    type GetErr = unsafe extern "C" fn(*mut c_void) -> *const c_char;
    type FreeCode = unsafe extern "C" fn(*mut Program);
    type Close = unsafe extern "C" fn(*mut c_void);

    fn load() -> Result<libloading::Library, BpfError> {
        let mut last = String::new();
        for name in LIBS {
            // SAFETY: loading libpcap runs only its (side-effect free) ELF
            // initialisers; the symbols used below have the C signatures of
            // pcap.h, stable since libpcap 0.8.
            match unsafe { libloading::Library::new(name) } {
                Ok(l) => return Ok(l),
                Err(e) => last = e.to_string(),
            }
        }
        Err(BpfError::NoLibpcap(last))
    }

    pub fn compile(expr: &str, dlt: i32) -> Result<Vec<Insn>, BpfError> {
        let lib = load()?;
        let sym_err = |e: libloading::Error| BpfError::NoLibpcap(e.to_string());
        // SAFETY: the types match the declarations in pcap.h.
        let (open_dead, compile, geterr, freecode, close) = unsafe {
            (
                lib.get::<OpenDead>(b"pcap_open_dead\0").map_err(sym_err)?,
                lib.get::<Compile>(b"pcap_compile\0").map_err(sym_err)?,
                lib.get::<GetErr>(b"pcap_geterr\0").map_err(sym_err)?,
                lib.get::<FreeCode>(b"pcap_freecode\0").map_err(sym_err)?,
                lib.get::<Close>(b"pcap_close\0").map_err(sym_err)?,
            )
        };
        let text = CString::new(expr).map_err(|_| BpfError::Syntax("NUL byte in expression".into()))?;
        // SAFETY: pcap_open_dead has no preconditions; NULL is checked.
        let handle = unsafe { open_dead(dlt, SNAPLEN) };
        if handle.is_null() {
            return Err(BpfError::NoLibpcap("pcap_open_dead failed".into()));
        }
        let mut prog = Program { len: 0, insns: std::ptr::null_mut() };
        // SAFETY: valid handle, program struct and NUL-terminated text.
        let rc = unsafe { compile(handle, &mut prog, text.as_ptr(), 1, NETMASK_UNKNOWN) };
        let result = if rc != 0 {
            // SAFETY: pcap_geterr returns the handle's NUL-terminated message
            // buffer, valid until the handle is closed (below, after copying).
            let msg = unsafe { CStr::from_ptr(geterr(handle)) }.to_string_lossy().into_owned();
            Err(BpfError::Syntax(msg))
        } else if prog.insns.is_null() {
            Err(BpfError::Syntax("libpcap returned an empty program".into()))
        } else {
            // SAFETY: on success libpcap filled `len` instructions at `insns`
            // (bpf_insn has Insn's layout); copied before being freed.
            let v = unsafe { std::slice::from_raw_parts(prog.insns, prog.len as usize) }.to_vec();
            // SAFETY: frees what pcap_compile allocated, once.
            unsafe { freecode(&mut prog) };
            Ok(v)
        };
        // SAFETY: closes the handle opened above, once.
        unsafe { close(handle) };
        result
    }
}

// Classic BPF opcode fields (linux/filter.h, pcap/bpf.h).
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const W: u16 = 0x00;
const H: u16 = 0x08;
const B: u16 = 0x10;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const IND: u16 = 0x40;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;
const MSH: u16 = 0xa0;
const SRC_X: u16 = 0x08;
const MAX_INSNS: usize = 4096;
/// Linux ancillary loads (SKF_AD_OFF + n).
const SKF_AD_OFF: u32 = 0xffff_f000;
const SKF_AD_PROTOCOL: u32 = 0;
const SKF_AD_PKTTYPE: u32 = 4;
/// Linux cooked header length: what libpcap's SLL programs assume before the network header.
const SLL_HDR_LEN: u32 = 16;

/// Rewrites a program compiled for LINKTYPE_LINUX_SLL so the kernel can run it
/// on a SOCK_DGRAM socket, which sees packets from the network header on (no
/// cooked header): offsets past the header move down by its length, and the
/// two header fields the kernel knows (packet type, protocol) become ancillary
/// loads — what libpcap does for its own cooked sockets. None when the program
/// reads other header fields (addresses): then it must run in user space.
pub fn for_cooked_socket(prog: &[Insn]) -> Option<Vec<Insn>> {
    prog.iter()
        .map(|i| {
            let class = i.code & 0x07;
            let mode = i.code & 0xe0;
            let size = i.code & 0x18;
            let loads = matches!(class, LD | LDX) && matches!(mode, ABS | IND | MSH);
            if !loads {
                return Some(*i);
            }
            let k = if i.k >= SLL_HDR_LEN {
                i.k - SLL_HDR_LEN
            } else if mode == ABS && size == H && i.k == 0 {
                SKF_AD_OFF + SKF_AD_PKTTYPE
            } else if mode == ABS && size == H && i.k == 14 {
                SKF_AD_OFF + SKF_AD_PROTOCOL
            } else {
                return None;
            };
            Some(Insn { k, ..*i })
        })
        .collect()
}

fn load(pkt: &[u8], at: u32, size: u16) -> Option<u32> {
    let at = at as usize;
    match size {
        W => pkt.get(at..at.checked_add(4)?).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        H => pkt.get(at..at.checked_add(2)?).map(|b| u32::from(u16::from_be_bytes([b[0], b[1]]))),
        B => pkt.get(at).map(|&b| u32::from(b)),
        _ => None,
    }
}

/// Runs a classic BPF program over one frame; returns the accepted length (0 =
/// rejected). Written here because no maintained crate interprets classic BPF
/// (libpcap's own interpreter is not exposed by the pcap crate without a
/// pcap_pkthdr copy per packet, and the default build links no libpcap).
/// Out-of-bounds loads, bad jumps and division by zero reject, as in the kernel.
pub fn run(prog: &[Insn], pkt: &[u8], wire_len: u32) -> u32 {
    let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
    let mut pc = 0usize;
    for _ in 0..MAX_INSNS.min(prog.len()) {
        let Some(i) = prog.get(pc) else { return 0 };
        pc += 1;
        let (class, size, mode) = (i.code & 0x07, i.code & 0x18, i.code & 0xe0);
        match class {
            LD => {
                a = match mode {
                    IMM => i.k,
                    ABS => match load(pkt, i.k, size) {
                        Some(v) => v,
                        None => return 0,
                    },
                    IND => match x.checked_add(i.k).and_then(|at| load(pkt, at, size)) {
                        Some(v) => v,
                        None => return 0,
                    },
                    MEM => match mem.get(i.k as usize) {
                        Some(&v) => v,
                        None => return 0,
                    },
                    LEN => wire_len,
                    _ => return 0,
                }
            }
            LDX => {
                x = match mode {
                    IMM => i.k,
                    MEM => match mem.get(i.k as usize) {
                        Some(&v) => v,
                        None => return 0,
                    },
                    LEN => wire_len,
                    MSH => match load(pkt, i.k, B) {
                        Some(v) => (v & 0x0f) * 4,
                        None => return 0,
                    },
                    _ => return 0,
                }
            }
            ST | STX => match mem.get_mut(i.k as usize) {
                Some(m) => *m = if class == ST { a } else { x },
                None => return 0,
            },
            ALU => {
                let v = if i.code & SRC_X != 0 { x } else { i.k };
                a = match i.code & 0xf0 {
                    0x00 => a.wrapping_add(v),
                    0x10 => a.wrapping_sub(v),
                    0x20 => a.wrapping_mul(v),
                    0x30 => match a.checked_div(v) {
                        Some(r) => r,
                        None => return 0,
                    },
                    0x40 => a | v,
                    0x50 => a & v,
                    0x60 => a.checked_shl(v).unwrap_or(0),
                    0x70 => a.checked_shr(v).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 => match a.checked_rem(v) {
                        Some(r) => r,
                        None => return 0,
                    },
                    0xa0 => a ^ v,
                    _ => return 0,
                }
            }
            JMP => {
                let v = if i.code & SRC_X != 0 { x } else { i.k };
                let off = match i.code & 0xf0 {
                    0x00 => i.k as usize,
                    0x10 => usize::from(if a == v { i.jt } else { i.jf }),
                    0x20 => usize::from(if a > v { i.jt } else { i.jf }),
                    0x30 => usize::from(if a >= v { i.jt } else { i.jf }),
                    0x40 => usize::from(if a & v != 0 { i.jt } else { i.jf }),
                    _ => return 0,
                };
                pc = match pc.checked_add(off) {
                    Some(p) => p,
                    None => return 0,
                };
            }
            RET => {
                return match i.code & 0x18 {
                    0x00 => i.k,
                    0x08 => x,
                    0x10 => a,
                    _ => 0,
                };
            }
            _ => {
                // MISC: TAX / TXA.
                match i.code & 0xf8 {
                    0x00 => x = a,
                    0x80 => a = x,
                    _ => return 0,
                }
            }
        }
    }
    0
}

/// A filter run in user space, compiled once per link type met.
pub struct UserFilter {
    expr: String,
    progs: HashMap<u32, Option<Vec<Insn>>>,
    /// Packets rejected (by the program, or because it cannot be compiled for their link type).
    pub rejected: u64,
}

impl UserFilter {
    /// Compiles `expr` for `first` now, so a bad expression fails before any packet.
    pub fn new(expr: &str, first: LinkType) -> Result<UserFilter, BpfError> {
        let prog = compile(expr, first)?;
        let mut progs = HashMap::new();
        progs.insert(first.number(), Some(prog));
        Ok(UserFilter { expr: expr.to_string(), progs, rejected: 0 })
    }

    /// A filter with a program already compiled for `link`.
    pub fn with_program(expr: &str, link: LinkType, prog: Vec<Insn>) -> UserFilter {
        let mut progs = HashMap::new();
        progs.insert(link.number(), Some(prog));
        UserFilter { expr: expr.to_string(), progs, rejected: 0 }
    }

    /// Whether the packet passes.
    pub fn matches(&mut self, p: &Packet<'_>) -> bool {
        let expr = &self.expr;
        let prog = self.progs.entry(p.link.number()).or_insert_with(|| match compile(expr, p.link) {
            Ok(prog) => Some(prog),
            Err(e) => {
                log::warn!("BPF filter not usable on link type {:?}: {e}; its packets are dropped", p.link);
                None
            }
        });
        let ok = prog.as_deref().is_some_and(|prog| run(prog, p.data, p.wire_len) != 0);
        if !ok {
            self.rejected += 1;
        }
        ok
    }
}

#[cfg(test)]
#[path = "bpf_tests.rs"]
mod tests;
