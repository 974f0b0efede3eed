//! What DPI learned about a connection: the public record types (the JSON
//! `app` object). A leaf module, so connection tracking can hold them without
//! depending on the inspectors that fill them in.

use serde::Serialize;

/// What DPI learned about a connection (the JSON `app` object).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "protocol")]
#[non_exhaustive]
pub enum AppInfo {
    #[serde(rename = "HTTP")]
    /// An HTTP/1.x request (also HTTP over UDP: SSDP).
    Http(HttpInfo),
    #[serde(rename = "TLS")]
    /// A TLS handshake.
    Tls(TlsInfo),
    #[serde(rename = "DNS")]
    /// DNS (also mDNS and LLMNR) questions and answers.
    Dns(DnsInfo),
    #[serde(rename = "SSH")]
    /// An SSH identification exchange.
    Ssh(SshInfo),
    #[serde(rename = "QUIC")]
    /// A QUIC connection (fields from its decrypted Initial packets).
    Quic(QuicInfo),
    // Issue 14 part B (proto14b): mDNS, LLMNR, NetBIOS, DHCP, BitTorrent.
    #[serde(rename = "mDNS")]
    /// Multicast DNS (RFC 6762, udp/5353): the same fields as DNS.
    Mdns(DnsInfo),
    #[serde(rename = "LLMNR")]
    /// Link-Local Multicast Name Resolution (RFC 4795, udp/5355): the same fields as DNS.
    Llmnr(DnsInfo),
    #[serde(rename = "NetBIOS")]
    /// NetBIOS over TCP/IP (RFC 1002): name service, datagram service or session service.
    NetBios(NetBiosInfo),
    #[serde(rename = "DHCP")]
    /// DHCP (RFC 2131) or DHCPv6 (RFC 8415).
    Dhcp(DhcpInfo),
    #[serde(rename = "BitTorrent")]
    /// The BitTorrent peer protocol (TCP handshake, or over uTP) or its DHT (UDP).
    BitTorrent(BitTorrentInfo),
}

impl AppInfo {
    /// The protocol's name as JSON prints it: "HTTP", "TLS", "DNS", "SSH", "QUIC", "mDNS", …
    pub fn protocol(&self) -> &'static str {
        match self {
            AppInfo::Http(_) => "HTTP",
            AppInfo::Tls(_) => "TLS",
            AppInfo::Dns(_) => "DNS",
            AppInfo::Ssh(_) => "SSH",
            AppInfo::Quic(_) => "QUIC",
            AppInfo::Mdns(_) => "mDNS",
            AppInfo::Llmnr(_) => "LLMNR",
            AppInfo::NetBios(_) => "NetBIOS",
            AppInfo::Dhcp(_) => "DHCP",
            AppInfo::BitTorrent(_) => "BitTorrent",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
/// The first HTTP request of a connection.
#[non_exhaustive]
pub struct HttpInfo {
    /// The `Host` header as sent (may carry a port).
    pub host: Option<String>,
    /// The request method: "GET", "POST", "M-SEARCH", …
    pub method: Option<String>,
    /// The request target as sent, e.g. "/index.html".
    pub path: Option<String>,
    /// Shown in the details view; not part of the JSON contract.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
/// What the TLS handshake showed in clear.
#[non_exhaustive]
pub struct TlsInfo {
    /// Server name from the ClientHello (SNI extension).
    pub sni: Option<String>,
    /// Application protocols offered in the ClientHello (ALPN), in order.
    pub alpn: Vec<String>,
    /// The highest version the ClientHello offered ("TLSv1.3", "TLSv1.2", …).
    pub version: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    /// The ClientHello offered Encrypted Client Hello (the SNI shown is then the outer one).
    pub ech: bool,
    /// JA4 fingerprint of the ClientHello (FoxIO's JA4 spec), e.g. "t13d1516h2_8daaf6152771_e5627efa2ab1".
    pub ja4: Option<String>,
    /// The version the ServerHello chose (supported_versions, else its legacy field).
    pub negotiated_version: Option<String>,
    /// The cipher suite the ServerHello chose, by its IANA name
    /// ("TLS_AES_128_GCM_SHA256"), or "0x1234" when it has none.
    pub cipher: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
/// One DNS question.
pub struct DnsQuestion {
    /// The name asked for, dot-separated (UTF-8 shown as text, other bytes escaped `\\DDD`).
    pub name: String,
    /// Record type asked for: "A", "AAAA", "PTR", … or "TYPEn".
    #[serde(rename = "type")]
    pub qtype: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
/// One DNS answer record.
pub struct DnsAnswer {
    /// The owner name of the record.
    pub name: String,
    /// Record type: "A", "AAAA", "CNAME", … or "TYPEn".
    #[serde(rename = "type")]
    pub rtype: String,
    /// The record data in presentation form (an address, a name, …).
    pub data: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
/// The DNS messages of a connection, merged (at most `dpi::DNS_MAX_ITEMS` of each).
#[non_exhaustive]
pub struct DnsInfo {
    /// Questions, first seen first, without repeats.
    pub queries: Vec<DnsQuestion>,
    /// Answers, first seen first, without repeats.
    pub answers: Vec<DnsAnswer>,
    /// "NOERROR", "NXDOMAIN", …; None until a response is seen.
    pub rcode: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
/// The identification strings of an SSH connection.
#[non_exhaustive]
pub struct SshInfo {
    /// Full identification strings, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2".
    pub client: Option<String>,
    /// The server's full identification string.
    pub server: Option<String>,
    /// Software of the server (or client if only it was seen), e.g. "OpenSSH_9.2p1".
    pub software: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
/// A CONNECTION_CLOSE frame seen in a packet DPI could decrypt.
pub struct QuicClose {
    /// The error code.
    pub code: u64,
    /// The reason phrase (may be empty).
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
/// What QUIC's Initial packets showed.
#[non_exhaustive]
pub struct QuicInfo {
    /// "v1", "v2", "draft-29", "Q046", or the hex value.
    pub version: Option<String>,
    /// Server name from the ClientHello in the Initial packets.
    pub sni: Option<String>,
    /// Application protocols offered in the ClientHello.
    pub alpn: Vec<String>,
    /// The connection close, if one was seen in a readable packet.
    pub close: Option<QuicClose>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
/// What NetBIOS over TCP/IP showed.
#[non_exhaustive]
pub struct NetBiosInfo {
    /// "name" (NBNS, udp/137), "datagram" (NBDGM, udp/138) or "session" (NBSS, tcp/139).
    pub service: String,
    /// NetBIOS names seen (questions, registrations, datagram or session
    /// source and destination), shown as tshark does: "WORKGROUP<1d>"; at most
    /// `dpi::NETBIOS_MAX_NAMES`, first seen first.
    pub names: Vec<String>,
    /// Name service opcode of the first message ("query", "registration",
    /// "release", "wack", "refresh"); None for the other services.
    pub opcode: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
/// What DHCP or DHCPv6 messages showed, merged over a conversation.
#[non_exhaustive]
pub struct DhcpInfo {
    /// 4 (DHCP) or 6 (DHCPv6).
    pub version: u8,
    /// Message types in the order first seen, without repeats: "DISCOVER",
    /// "OFFER", "REQUEST", "ACK", … (DHCPv6: "SOLICIT", "ADVERTISE", "REPLY", …).
    pub message_types: Vec<String>,
    /// Client host name (option 12; DHCPv6: the client FQDN, option 39).
    pub hostname: Option<String>,
    /// Vendor class identifier (option 60; DHCPv6: option 16's first entry).
    pub vendor_class: Option<String>,
    /// Address the client asked for (option 50; DHCPv6: IA address in a client message).
    pub requested_address: Option<String>,
    /// Address the server offered or assigned (yiaddr of OFFER/ACK; DHCPv6:
    /// IA address in ADVERTISE/REPLY).
    pub offered_address: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
/// What BitTorrent showed.
#[non_exhaustive]
pub struct BitTorrentInfo {
    /// "peer" (peer wire handshake over TCP), "utp" (the same over uTP) or "dht" (the DHT's KRPC).
    pub transport: String,
    /// The torrent's info-hash from the handshake, 40 hex digits.
    pub info_hash: Option<String>,
    /// The client from an Azureus-style peer id ("-qB4250-" gives "qB4250"), if it has one.
    pub client: Option<String>,
    /// DHT query methods seen ("ping", "find_node", "get_peers", "announce_peer"), first seen first.
    pub dht_queries: Vec<String>,
}
