//! Opening a packet source with a `--bpf-filter`: in the kernel for live
//! capture where it can run there, in user space otherwise.

use super::bpf::{self, BpfError, UserFilter};
use super::file::read_file;
use super::live::{CaptureError, LiveCapture, RingConfig};
use rustnet_core::wire::LinkType;
use std::path::Path;

/// Why a filtered live capture could not be opened.
#[derive(Debug)]
pub enum OpenError {
    Capture(CaptureError),
    Filter(BpfError),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Capture(e) => e.fmt(f),
            OpenError::Filter(e) => e.fmt(f),
        }
    }
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
/// of its first packet (other link types met later are compiled then).
pub fn file_filter(path: &Path, expr: &str) -> Result<UserFilter, BpfError> {
    let mut first = LinkType::Ethernet;
    // Reading stops at the first packet; errors show up again in the real read.
    let _ = read_file(path, &mut |p| {
        first = p.link;
        false
    });
    UserFilter::new(expr, first)
}
