//! `--ipfix-listen udp://ADDR:PORT`: the collector's socket. A flow source
//! rather than a packet source: IPFIX messages from other hosts' exporters,
//! one per datagram (RFC 7011 §10.3.3), decoded by rustnet-core.

use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

/// Where to listen, from `--ipfix-listen`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenUrl {
    pub addr: SocketAddr,
    /// As given, for the screen and messages.
    pub url: String,
}

/// Parses `udp://ADDR:PORT` (clap value parser). TCP is not offered: a
/// collector of many exporters over TCP would need a session per exporter.
pub fn parse_url(s: &str) -> Result<ListenUrl, String> {
    let Some(rest) = s.strip_prefix("udp://") else {
        return Err(format!("'{s}' is not udp://ADDR:PORT"));
    };
    let addr = rest
        .trim_end_matches('/')
        .to_socket_addrs()
        .map_err(|e| format!("'{s}': {e}"))?
        .next()
        .ok_or_else(|| format!("'{s}': the host has no address"))?;
    Ok(ListenUrl { addr, url: s.to_string() })
}

/// The bound socket.
pub struct Listener {
    socket: UdpSocket,
}

/// Largest IPFIX message: its length field is 16 bits.
pub const MAX_MESSAGE: usize = 65_535;

impl Listener {
    /// Binds the socket; receives wait at most `poll`.
    pub fn bind(url: &ListenUrl, poll: Duration) -> std::io::Result<Listener> {
        let socket = UdpSocket::bind(url.addr)?;
        socket.set_read_timeout(Some(poll))?;
        Ok(Listener { socket })
    }

    /// The address bound (the port, when 0 was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// One datagram into `buf`, or None when none came within the poll
    /// time (or a signal interrupted the wait).
    pub fn recv<'a>(&self, buf: &'a mut [u8]) -> std::io::Result<Option<(&'a [u8], SocketAddr)>> {
        match self.socket.recv_from(buf) {
            Ok((n, from)) => Ok(buf.get(..n).map(|m| (m, from))),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_udp_urls() {
        assert_eq!(parse_url("udp://127.0.0.1:4739").map(|u| u.addr.port()), Ok(4739));
        assert!(parse_url("udp://[::1]:4739/").is_ok());
        for bad in ["tcp://127.0.0.1:4739", "127.0.0.1:4739", "udp://127.0.0.1", "udp://:x"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
