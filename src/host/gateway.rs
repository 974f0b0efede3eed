//! The capturing host's default gateways, from its routing tables, so rows
//! to the gateway can be marked "(gw)".

/// The default gateways in /proc/net/route (IPv4) and /proc/net/ipv6_route.
pub fn default_gateways() -> Vec<std::net::IpAddr> {
    let mut out = Vec::new();
    if let Ok(t) = std::fs::read_to_string("/proc/net/route") {
        out.extend(parse_route(&t));
    }
    if let Ok(t) = std::fs::read_to_string("/proc/net/ipv6_route") {
        out.extend(parse_ipv6_route(&t));
    }
    out
}

/// "Iface Destination Gateway Flags …" with little-endian hex addresses:
/// the gateways of routes to 00000000 with the gateway flag (0x2).
fn parse_route(text: &str) -> Vec<std::net::IpAddr> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (dest, gw, flags) = (f.get(1)?, f.get(2)?, u32::from_str_radix(f.get(3)?, 16).ok()?);
            let gw = u32::from_str_radix(gw, 16).ok()?;
            (*dest == "00000000" && flags & 0x2 != 0 && gw != 0)
                .then(|| std::net::IpAddr::V4(std::net::Ipv4Addr::from(gw.to_le_bytes())))
        })
        .collect()
}

/// "dest plen src splen nexthop metric refcnt use flags iface", hex: the
/// next hops of ::/0 routes.
fn parse_ipv6_route(text: &str) -> Vec<std::net::IpAddr> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.first()? != &"00000000000000000000000000000000" || f.get(1)? != &"00" {
                return None;
            }
            let hop = u128::from_str_radix(f.get(4)?, 16).ok().filter(|h| *h != 0)?;
            Some(std::net::IpAddr::V6(std::net::Ipv6Addr::from(hop)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateways_from_the_routing_tables() {
        let v4 = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                  eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                  eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        assert_eq!(parse_route(v4), vec!["192.168.0.1".parse::<std::net::IpAddr>().expect("ip")]);
        let v6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n\
                  fd770000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n";
        assert_eq!(parse_ipv6_route(v6), vec!["fe80::1".parse::<std::net::IpAddr>().expect("ip")]);
        assert!(parse_route("garbage\n\n").is_empty() && parse_ipv6_route("x y z").is_empty());
    }
}
