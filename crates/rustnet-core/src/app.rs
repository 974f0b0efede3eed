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
}

impl AppInfo {
    /// The protocol's name as JSON prints it: "HTTP", "TLS", "DNS", "SSH", "QUIC".
    pub fn protocol(&self) -> &'static str {
        match self {
            AppInfo::Http(_) => "HTTP",
            AppInfo::Tls(_) => "TLS",
            AppInfo::Dns(_) => "DNS",
            AppInfo::Ssh(_) => "SSH",
            AppInfo::Quic(_) => "QUIC",
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
    /// Negotiated version if the ServerHello was seen, else the highest offered
    /// ("TLSv1.3", "TLSv1.2", …).
    pub version: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    /// The ClientHello offered Encrypted Client Hello (the SNI shown is then the outer one).
    pub ech: bool,
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
