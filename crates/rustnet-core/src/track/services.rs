//! Well-known service names by port.

use super::key::Proto;
#[path = "services_table.rs"]
mod table;

/// IANA name of a TCP/UDP port, if registered.
pub fn service_name(proto: Proto, port: u16) -> Option<&'static str> {
    let i = table::SERVICES.binary_search_by_key(&port, |r| r.0).ok()?;
    let (_, tcp, udp) = table::SERVICES[i];
    let name = match proto {
        Proto::Tcp => tcp,
        Proto::Udp => udp,
        _ => return None,
    };
    // A port registered for one transport is usually that service on the other too (443/udp is QUIC).
    let name = if name.is_empty() { if tcp.is_empty() { udp } else { tcp } } else { name };
    (!name.is_empty()).then_some(name)
}

/// Whether a port is a well-known server port (has a service name).
pub fn is_service_port(port: u16) -> bool {
    table::SERVICES.binary_search_by_key(&port, |r| r.0).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_ports() {
        assert_eq!(service_name(Proto::Tcp, 443), Some("https"));
        assert_eq!(service_name(Proto::Udp, 53), Some("domain"));
        assert_eq!(service_name(Proto::Tcp, 22), Some("ssh"));
        assert_eq!(service_name(Proto::Udp, 443), Some("https"));
        assert_eq!(service_name(Proto::Tcp, 51234), None);
        assert!(super::table::SERVICES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(super::table::SERVICES.len() >= 200);
    }
}
