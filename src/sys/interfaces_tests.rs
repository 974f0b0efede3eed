use super::*;
use crate::sys::testns::{NetnsPair, in_netns, ip};

// Verbatim from this machine's /proc/net/route.
const ROUTE_SAMPLE: &str = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0                                                                               
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0                                                                               
";

// Verbatim from this machine's /proc/net/ipv6_route (the last line is the
// unreachable default route on lo that every Linux host has).
const IPV6_ROUTE_SAMPLE: &str = "\
fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0
00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo
fd000000000000000000000000000002 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000003 00000000 80200001     eth0
fe8000000000000000fc00fffe000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001     eth0
ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000003 00000000 00000001     eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo
";

#[test]
fn default_route_from_real_proc_samples() {
    assert_eq!(default_v4(ROUTE_SAMPLE).as_deref(), Some("eth0"));
    assert_eq!(default_v6(IPV6_ROUTE_SAMPLE).as_deref(), Some("eth0"));
}

#[test]
fn default_route_lowest_metric_wins_and_rejects_are_ignored() {
    let v4 = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
eth1\t00000000\t0100000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
tun0\t00000000\t00000000\t0201\t0\t0\t1\t00000000\t0\t0\t0
eth1\t0000000A\t00000000\t0001\t0\t0\t100\t000000FF\t0\t0\t0
";
    assert_eq!(default_v4(v4).as_deref(), Some("eth1"));
    // Only the unreachable lo default: no usable IPv6 default route.
    let last = IPV6_ROUTE_SAMPLE.lines().last().unwrap_or_default();
    assert_eq!(default_v6(last), None);
}

#[test]
fn default_route_survives_garbage() {
    for text in ["", "\n\n", "Iface\n", "x y z\n", "eth0 zz 00 0003 0 0 0 00000000\n", "\u{0}\u{ff}"] {
        assert_eq!(default_v4(text), None, "{text:?}");
        assert_eq!(default_v6(text), None, "{text:?}");
    }
    // A down default route (flags without RTF_UP) is not used.
    let down = "h\neth9\t00000000\t01000000\t0002\t0\t0\t0\t00000000\t0\t0\t0\n";
    assert_eq!(default_v4(down), None);
}

#[test]
fn prefix_lengths_from_masks() {
    assert_eq!(prefix_len("255.255.255.0".parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))), 24);
    assert_eq!(prefix_len("ffff:ffff:ffff:ffff::".parse().unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED))), 64);
}

/// In a namespace set up with known interfaces, list() reports exactly them.
#[test]
fn list_and_default_route_in_a_namespace() {
    if !(crate::testenv::lab_ready()) {
        return;
    }
    let ns = NetnsPair::new().expect("namespace setup (needs root)");
    ip(&["-n", &ns.a, "addr", "add", "fd99::1/64", "dev", &ns.va, "nodad"]).expect("v6 addr");
    ip(&["-n", &ns.a, "route", "add", "default", "via", &ns.addr(2)]).expect("default route");
    let (va, v4) = (ns.va.clone(), ns.addr(1));
    let (all, local, any, default) =
        in_netns(&ns.a, move || (list(), local_addresses(&va), local_addresses("any"), default_route_interface()))
            .join()
            .expect("thread")
            .expect("setns");
    let all = all.expect("getifaddrs");
    let names: Vec<&str> = all.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["lo", ns.va.as_str()]);

    let lo = &all[0];
    assert!(lo.loopback && lo.up);
    assert_eq!(lo.index, 1);
    assert_eq!(lo.hw_type, Some(libc::ARPHRD_LOOPBACK));
    assert!(lo.addresses.contains(&IfAddress { ip: "127.0.0.1".parse().expect("ip"), prefix_len: 8 }));

    let veth = &all[1];
    assert!(veth.up && !veth.loopback && veth.index > 1);
    assert_eq!(veth.hw_type, Some(libc::ARPHRD_ETHER));
    let v4: IpAddr = v4.parse().expect("ip");
    let v6: IpAddr = "fd99::1".parse().expect("ip");
    assert!(veth.addresses.contains(&IfAddress { ip: v4, prefix_len: 24 }));
    assert!(veth.addresses.contains(&IfAddress { ip: v6, prefix_len: 64 }));
    // Besides those, only the kernel's link-local address may be there.
    for a in &veth.addresses {
        let link_local = matches!(a.ip, IpAddr::V6(v) if v.segments()[0] == 0xfe80);
        assert!(a.ip == v4 || a.ip == v6 || link_local, "{a:?}");
    }

    assert!(local.contains(&v4) && local.contains(&v6));
    assert!(!local.contains(&"127.0.0.1".parse::<IpAddr>().expect("ip")));
    assert!(any.contains(&v4) && any.contains(&"127.0.0.1".parse::<IpAddr>().expect("ip")));
    assert_eq!(default.as_deref(), Some(ns.va.as_str()));
}

#[test]
fn unknown_interface_has_no_local_addresses() {
    assert!(local_addresses("rnlt-no-such-if").is_empty());
}
