//! Opening a packet source with a `--bpf-filter`: in the kernel for live
//! capture where it can run there, in user space otherwise.

use super::LiveSource;
use super::bpf::{self, BpfError, UserFilter};
use super::live::{CaptureError, LiveCapture, RingConfig};
use rustnet_core::wire::LinkType;

/// Live capture backend (`--backend`; clap reads the variant docs as help).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Linux AF_PACKET ring, no C library
    Afpacket,
    /// libpcap (needs a build with the `pcap` feature)
    Pcap,
}

/// Why a filtered live capture could not be opened.
#[derive(Debug)]
pub enum OpenError {
    Capture(CaptureError),
    Filter(BpfError),
    /// The libpcap backend failed to open (its message).
    Pcap(String),
    /// This backend is not in this build or not on this platform.
    Unsupported(String),
}

impl OpenError {
    /// Exit code: 2 for a bad filter expression (usage), else 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            OpenError::Filter(e) => e.exit_code(),
            _ => 1,
        }
    }
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Capture(e) => e.fmt(f),
            OpenError::Filter(e) => e.fmt(f),
            OpenError::Pcap(m) | OpenError::Unsupported(m) => f.write_str(m),
        }
    }
}

/// Opens `iface` on the chosen backend (default: AF_PACKET on Linux, libpcap
/// elsewhere) with `expr` as capture filter.
pub fn open_source(
    backend: Option<Backend>,
    iface: &str,
    expr: Option<&str>,
) -> Result<(Box<dyn LiveSource>, Option<UserFilter>), OpenError> {
    let default = if cfg!(target_os = "linux") { Backend::Afpacket } else { Backend::Pcap };
    match backend.unwrap_or(default) {
        Backend::Afpacket => {
            if !cfg!(target_os = "linux") {
                return Err(OpenError::Unsupported("--backend afpacket is not supported on this platform".into()));
            }
            let (cap, user) = open_live(iface, expr)?;
            Ok((Box::new(cap), user))
        }
        Backend::Pcap => open_pcap(iface, expr).map(|c| (c, None)),
    }
}

#[cfg(any(feature = "pcap", not(target_os = "linux")))]
fn open_pcap(iface: &str, expr: Option<&str>) -> Result<Box<dyn LiveSource>, OpenError> {
    use super::pcap_backend::{PcapCapture, PcapOpenError};
    match PcapCapture::open(iface, expr) {
        Ok(c) => Ok(Box::new(c)),
        Err(PcapOpenError::Filter(m)) => Err(OpenError::Filter(BpfError::Syntax(m))),
        Err(e) => Err(OpenError::Pcap(format!("cannot capture on {iface}: {e}"))),
    }
}

#[cfg(not(any(feature = "pcap", not(target_os = "linux"))))]
fn open_pcap(_iface: &str, _expr: Option<&str>) -> Result<Box<dyn LiveSource>, OpenError> {
    Err(OpenError::Unsupported(
        "this build has no libpcap backend: rebuild with `cargo build --features pcap` (needs libpcap-dev)".into(),
    ))
}

/// Opens `iface` with `expr` attached to the socket. The program is compiled
/// for the frames the socket delivers; on cooked sockets ("any" and devices
/// without an Ethernet header) the kernel sees packets without the cooked
/// header, so the program is rewritten for that view, and when that is not
/// possible (it reads link-layer addresses) the filter runs in user space on
/// the delivered frames instead, as libpcap does.
pub fn open_live(iface: &str, expr: Option<&str>) -> Result<(LiveCapture, Option<UserFilter>), OpenError> {
    let Some(expr) = expr else {
        return LiveCapture::open(iface).map(|c| (c, None)).map_err(OpenError::Capture);
    };
    let link = LiveCapture::link_type_of(iface).map_err(OpenError::Capture)?;
    let prog = bpf::compile(expr, link).map_err(OpenError::Filter)?;
    let (kernel, user) = if link == LinkType::LinuxSll {
        match bpf::for_cooked_socket(&prog) {
            Some(k) => (Some(k), None),
            None => {
                log::info!("BPF filter reads cooked-header fields: filtering in user space");
                (None, Some(UserFilter::with_program(expr, link, prog)))
            }
        }
    } else {
        (Some(prog), None)
    };
    let cap =
        LiveCapture::open_filtered(iface, RingConfig::default(), kernel.as_deref()).map_err(OpenError::Capture)?;
    Ok((cap, user))
}

/// The user-space filter for a capture file, compiled now for the link type
/// the file declares first (Ethernet if it declares none before its first
/// packet); other link types met later are compiled then.
pub fn file_filter(first: Option<LinkType>, expr: &str) -> Result<UserFilter, BpfError> {
    UserFilter::new(expr, first.unwrap_or(LinkType::Ethernet))
}
