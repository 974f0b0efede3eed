//! What DPI learned about a connection: the public record types (the JSON
//! `app` object). A leaf module, so connection tracking can hold them without
//! depending on the inspectors that fill them in.

use serde::Serialize;

/// What DPI learned about a connection (the JSON `app` object).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "protocol")]
pub enum AppInfo {
    #[serde(rename = "HTTP")]
    Http(HttpInfo),
    #[serde(rename = "TLS")]
    Tls(TlsInfo),
    #[serde(rename = "DNS")]
    Dns(DnsInfo),
    #[serde(rename = "SSH")]
    Ssh(SshInfo),
    #[serde(rename = "QUIC")]
    Quic(QuicInfo),
}

impl AppInfo {
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
pub struct HttpInfo {
    pub host: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    /// Shown in the details view; not part of the JSON contract.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// Negotiated version if the ServerHello was seen, else the highest offered
    /// ("TLSv1.3", "TLSv1.2", …).
    pub version: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ech: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DnsQuestion {
    pub name: String,
    #[serde(rename = "type")]
    pub qtype: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DnsAnswer {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub data: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DnsInfo {
    pub queries: Vec<DnsQuestion>,
    pub answers: Vec<DnsAnswer>,
    /// "NOERROR", "NXDOMAIN", …; None until a response is seen.
    pub rcode: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SshInfo {
    /// Full identification strings, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2".
    pub client: Option<String>,
    pub server: Option<String>,
    /// Software of the server (or client if only it was seen), e.g. "OpenSSH_9.2p1".
    pub software: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QuicClose {
    pub code: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QuicInfo {
    /// "v1", "v2", "draft-29", "Q046", or the hex value.
    pub version: Option<String>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    pub close: Option<QuicClose>,
}
