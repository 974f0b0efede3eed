//! What DPI learned about a connection: the public record types (the JSON
//! `app` object). A leaf module, so connection tracking can hold them without
//! depending on the inspectors that fill them in.

use serde::{Deserialize, Serialize};

/// What DPI learned about a connection (the JSON `app` object).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    // Issue 14 part A (proto14a).
    #[serde(rename = "FTP")]
    /// An FTP control connection.
    Ftp(FtpInfo),
    #[serde(rename = "FTP-data")]
    /// An FTP data connection (active mode: from port 20).
    FtpData(FtpDataInfo),
    #[serde(rename = "MQTT")]
    /// An MQTT session.
    Mqtt(MqttInfo),
    #[serde(rename = "STUN")]
    /// STUN or TURN messages.
    Stun(StunInfo),
    #[serde(rename = "NTP")]
    /// NTP packets.
    Ntp(NtpInfo),
    #[serde(rename = "SNMP")]
    /// SNMP messages.
    Snmp(SnmpInfo),
    #[serde(rename = "SSDP")]
    /// SSDP (UPnP discovery) over UDP.
    Ssdp(SsdpInfo),
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
            // Issue 14 part A (proto14a).
            AppInfo::Ftp(_) => "FTP",
            AppInfo::FtpData(_) => "FTP-data",
            AppInfo::Mqtt(_) => "MQTT",
            AppInfo::Stun(_) => "STUN",
            AppInfo::Ntp(_) => "NTP",
            AppInfo::Snmp(_) => "SNMP",
            AppInfo::Ssdp(_) => "SSDP",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
/// One DNS question.
pub struct DnsQuestion {
    /// The name asked for, dot-separated (UTF-8 shown as text, other bytes escaped `\\DDD`).
    pub name: String,
    /// Record type asked for: "A", "AAAA", "PTR", … or "TYPEn".
    #[serde(rename = "type")]
    pub qtype: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
/// The DNS messages of a connection, merged (at most `dpi::DNS_MAX_ITEMS` of each).
#[non_exhaustive]
pub struct DnsInfo {
    /// Questions, first seen first, without repeats.
    pub queries: Vec<DnsQuestion>,
    /// Answers, first seen first, without repeats.
    pub answers: Vec<DnsAnswer>,
    /// "NOERROR", "NXDOMAIN", …; None until a response is seen.
    pub rcode: Option<String>,
    /// Questions or answers were left out: the lists hold `dpi::DNS_MAX_ITEMS`
    /// each, or DPI stopped reading after `dpi::DNS_MAX_MESSAGES` messages
    /// while more came. In the JSON only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
/// A CONNECTION_CLOSE frame seen in a packet DPI could decrypt.
pub struct QuicClose {
    /// The error code.
    pub code: u64,
    /// The reason phrase (may be empty).
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
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

// Issue 14 part A (proto14a): FTP, MQTT, STUN, NTP, SNMP, SSDP.

/// One field's value, as [`AppInfo::any_field`] shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValue<'a> {
    /// A text field.
    Text(&'a str),
    /// A number field.
    Number(u64),
}

impl AppInfo {
    /// Calls `f` with each set field (JSON name, value) of the protocols
    /// FTP, FTP-data, MQTT, STUN, NTP, SNMP and SSDP until it returns true; whether one
    /// did. Other protocols have no fields here. The filter's bare words and
    /// the TUI details read the fields this way, without allocating.
    pub fn any_field(&self, f: &mut dyn FnMut(&'static str, FieldValue<'_>) -> bool) -> bool {
        fn t(v: &Option<String>) -> Option<FieldValue<'_>> {
            v.as_deref().map(FieldValue::Text)
        }
        fn n(v: Option<u8>) -> Option<FieldValue<'static>> {
            v.map(|v| FieldValue::Number(u64::from(v)))
        }
        const NONE: (&str, Option<FieldValue<'_>>) = ("", None);
        let fields: [(&'static str, Option<FieldValue<'_>>); 5] = match self {
            AppInfo::Ftp(x) => [
                ("banner", t(&x.banner)),
                ("user", t(&x.user)),
                ("command", t(&x.command)),
                ("reply", t(&x.reply)),
                ("data", t(&x.data)),
            ],
            AppInfo::FtpData(x) => [("control", t(&x.control)), NONE, NONE, NONE, NONE],
            AppInfo::Mqtt(x) => [("version", t(&x.version)), ("client_id", t(&x.client_id)), NONE, NONE, NONE],
            AppInfo::Stun(x) => [("message_type", t(&x.message_type)), ("software", t(&x.software)), NONE, NONE, NONE],
            AppInfo::Ntp(x) => [("version", n(x.version)), ("mode", t(&x.mode)), ("stratum", n(x.stratum)), NONE, NONE],
            AppInfo::Snmp(x) => [("version", t(&x.version)), ("pdu_type", t(&x.pdu_type)), NONE, NONE, NONE],
            AppInfo::Ssdp(x) => [
                ("method", t(&x.method)),
                ("st", t(&x.st)),
                ("nt", t(&x.nt)),
                ("usn", t(&x.usn)),
                ("server", t(&x.server)),
            ],
            _ => [NONE; 5],
        };
        fields.into_iter().any(|(k, v)| v.is_some_and(|v| f(k, v)))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
/// What an FTP control connection showed (never the password).
#[non_exhaustive]
pub struct FtpInfo {
    /// The server's greeting, e.g. "220 (vsFTPd 3.0.3)".
    pub banner: Option<String>,
    /// The user name of the USER command.
    pub user: Option<String>,
    /// The last command seen, e.g. "RETR file.txt" (PASS and ACCT without their argument).
    pub command: Option<String>,
    /// The last reply seen, e.g. "226 Transfer complete.".
    pub reply: Option<String>,
    /// The last data connection announced (PASV/EPSV reply or PORT/EPRT
    /// command), "addr:port" ("[v6]:port"); an EPSV reply names only a port (":port").
    pub data: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
/// An FTP data connection (its bytes are files and listings, not read).
#[non_exhaustive]
pub struct FtpDataInfo {
    /// The control connection that announced it, "client -> server"
    /// ("10.0.0.1:40000 -> 10.0.0.2:21"); null for an active-mode connection
    /// from port 20 whose announcement was not seen.
    pub control: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
/// What an MQTT CONNECT showed (never the password).
#[non_exhaustive]
pub struct MqttInfo {
    /// Protocol version: "3.1", "3.1.1" or "5.0"; None when no CONNECT was seen.
    pub version: Option<String>,
    /// The client identifier of the CONNECT (may be empty).
    pub client_id: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
/// STUN/TURN messages of a connection.
#[non_exhaustive]
pub struct StunInfo {
    /// The first message's type, e.g. "Binding Request", "Allocate Success Response".
    pub message_type: Option<String>,
    /// The first SOFTWARE attribute seen (either side).
    pub software: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
/// The last NTP packet of a connection.
#[non_exhaustive]
pub struct NtpInfo {
    /// NTP version (1-4).
    pub version: Option<u8>,
    /// "client", "server", "symmetric active", "symmetric passive", "broadcast",
    /// "control", "private" or "reserved".
    pub mode: Option<String>,
    /// Stratum (0 in a client's request).
    pub stratum: Option<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
/// The first SNMP message of a connection (never the community string).
#[non_exhaustive]
pub struct SnmpInfo {
    /// "v1", "v2c" or "v3".
    pub version: Option<String>,
    /// The PDU type as tshark names it ("get-request", "get-response", "trap",
    /// "getBulkRequest", …); None when encrypted (SNMPv3 privacy).
    pub pdu_type: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
/// The first SSDP message of a connection.
#[non_exhaustive]
pub struct SsdpInfo {
    /// "M-SEARCH" or "NOTIFY"; None for a response ("HTTP/1.1 200 OK").
    pub method: Option<String>,
    /// The search target (ST header) of an M-SEARCH or a response.
    pub st: Option<String>,
    /// The notification type (NT header) of a NOTIFY.
    pub nt: Option<String>,
    /// Unique service name (USN header).
    pub usn: Option<String>,
    /// The SERVER header (responses and NOTIFY).
    pub server: Option<String>,
}
