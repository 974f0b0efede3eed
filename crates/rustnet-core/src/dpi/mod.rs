//! Deep packet inspection: per-connection state that reads application
//! protocols from payloads until the connection is classified and its fields
//! are complete, then stops.

mod bittorrent;
mod dhcp;
mod dispatch;
pub(crate) mod dns;
pub(crate) mod ftp;
pub(crate) mod http;
pub(crate) mod inspect;
pub(crate) mod ja4;
mod llmnr;
mod mdns;
pub(crate) mod mqtt;
pub(crate) mod netbios;
pub(crate) mod ntp;
pub(crate) mod quic;
pub(crate) mod reassembly;
pub(crate) mod side;
pub(crate) mod snmp;
pub(crate) mod ssdp;
pub(crate) mod ssh;
pub(crate) mod stun;
#[cfg(test)]
mod tests;
mod text;
pub(crate) mod tls;

use inspect::{DatagramClassifier, StreamClassifier};

pub use crate::app::{AppInfo, DnsAnswer, DnsInfo, DnsQuestion, HttpInfo, QuicClose, QuicInfo, SshInfo, TlsInfo};
pub use crate::app::{BitTorrentInfo, DhcpInfo, NetBiosInfo};
// Issue 14 part A (proto14a).
pub use crate::app::{FieldValue, FtpDataInfo, FtpInfo, MqttInfo, NtpInfo, SnmpInfo, SsdpInfo, StunInfo};
pub(crate) use dispatch::{DpiInput, DpiState};
/// FTP data connections announced on a control connection (issue 14).
pub use ftp::{Announce as FtpAnnounce, announcements as ftp_announcements};
pub(crate) use side::Dir;

/// At most this many DNS questions and answers are kept per connection.
pub use dns::MAX_ITEMS as DNS_MAX_ITEMS;
/// At most this many DNS messages are read per connection (one more is
/// looked at to set `DnsInfo::truncated` when it would have added a name).
pub use dns::MAX_MESSAGES as DNS_MAX_MESSAGES;
/// At most this many NetBIOS names are kept per connection.
pub use netbios::MAX_NAMES as NETBIOS_MAX_NAMES;
/// The default bound on bytes held for TCP reassembly, per engine
/// (`Config::reassembly_budget`).
pub use reassembly::DEFAULT_BUDGET as DEFAULT_REASSEMBLY_BUDGET;
/// How long a connection's DPI may hold reassembly bytes without a new
/// payload packet before it is given up, by default (`Config::reassembly_idle`).
pub use reassembly::DEFAULT_IDLE as DEFAULT_REASSEMBLY_IDLE;

/// Stream (TCP) protocols, tried in this order on the first bytes of each
/// direction; the first that says yes wins.
pub(crate) const STREAM_PROTOCOLS: &[StreamClassifier] = &[
    ssh::classify,
    tls::classify,
    http::classify,
    dns::classify_stream,
    // Bound to their ports (issue 14).
    ftp::classify,
    ftp::classify_data,
    netbios::classify_stream,
    // Recognised anywhere by their first bytes (issue 14).
    mqtt::classify,
    bittorrent::classify_stream,
    stun::classify_stream,
];

/// Datagram (UDP) protocols, tried in this order on each datagram until one
/// says yes: those bound to their ports first (DNS, mDNS, LLMNR parsed
/// leniently there; NetBIOS, DHCP, NTP, SNMP, SSDP), then QUIC and STUN
/// (recognised anywhere by their headers), then DNS anywhere (strictly),
/// then BitTorrent's DHT and uTP.
pub(crate) const DATAGRAM_PROTOCOLS: &[DatagramClassifier] = &[
    dns::classify_on_dns_port,
    mdns::classify,
    llmnr::classify,
    netbios::classify_datagram,
    dhcp::classify,
    ntp::classify,
    snmp::classify,
    ssdp::classify,
    quic::classify,
    stun::classify,
    dns::classify_anywhere,
    bittorrent::classify_datagram,
];

/// The connection's `app` as the given variant, created if it is not yet that.
macro_rules! app_as {
    ($name:ident, $variant:ident, $ty:ty) => {
        fn $name(app: &mut Option<AppInfo>) -> Option<&mut $ty> {
            if !matches!(app, Some(AppInfo::$variant(_))) {
                *app = Some(AppInfo::$variant(<$ty>::default()));
            }
            match app {
                Some(AppInfo::$variant(x)) => Some(x),
                _ => None,
            }
        }
    };
}
app_as!(tls_info, Tls, TlsInfo);
app_as!(dns_info, Dns, DnsInfo);
app_as!(ssh_info, Ssh, SshInfo);
app_as!(quic_info, Quic, QuicInfo);
app_as!(mdns_info, Mdns, DnsInfo);
app_as!(llmnr_info, Llmnr, DnsInfo);
app_as!(netbios_info, NetBios, NetBiosInfo);
app_as!(dhcp_info, Dhcp, DhcpInfo);
app_as!(bittorrent_info, BitTorrent, BitTorrentInfo);
// Issue 14 part A (proto14a).
app_as!(ftp_info, Ftp, FtpInfo);
app_as!(mqtt_info, Mqtt, MqttInfo);
app_as!(stun_info, Stun, StunInfo);
app_as!(ntp_info, Ntp, NtpInfo);
app_as!(snmp_info, Snmp, SnmpInfo);
