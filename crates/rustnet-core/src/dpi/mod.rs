//! Deep packet inspection: per-connection state that reads application
//! protocols from payloads until the connection is classified and its fields
//! are complete, then stops.

mod dispatch;
pub mod dns;
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod inspect;
pub mod quic;
pub mod reassembly;
pub mod side;
pub mod ssh;
#[cfg(test)]
mod tests;
pub mod tls;

use inspect::{DatagramClassifier, StreamClassifier};
use serde::Serialize;

pub use dispatch::{DpiInput, DpiState};
pub use side::{Dir, Side};

/// Stream (TCP) protocols, tried in this order on the first bytes of each
/// direction; the first that says yes wins.
pub const STREAM_PROTOCOLS: &[StreamClassifier] = &[ssh::classify, tls::classify, http::classify, dns::classify_stream];

/// Datagram (UDP) protocols, tried in this order on each datagram until one
/// says yes: DNS on its ports first (parsed leniently there), then QUIC, then
/// DNS anywhere (strictly), then HTTP requests (SSDP).
pub const DATAGRAM_PROTOCOLS: &[DatagramClassifier] =
    &[dns::classify_on_dns_port, quic::classify, dns::classify_anywhere, http::classify_datagram];

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
