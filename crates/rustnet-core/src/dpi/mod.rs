//! Deep packet inspection: per-connection state that reads application
//! protocols from payloads until the connection is classified and its fields
//! are complete, then stops.

mod dispatch;
pub(crate) mod dns;
pub(crate) mod http;
pub(crate) mod inspect;
pub(crate) mod quic;
pub(crate) mod reassembly;
pub(crate) mod side;
pub(crate) mod ssh;
#[cfg(test)]
mod tests;
pub(crate) mod tls;

use inspect::{DatagramClassifier, StreamClassifier};

pub use crate::app::{AppInfo, DnsAnswer, DnsInfo, DnsQuestion, HttpInfo, QuicClose, QuicInfo, SshInfo, TlsInfo};
pub(crate) use dispatch::{DpiInput, DpiState};
pub(crate) use side::Dir;

/// At most this many DNS questions and answers are kept per connection.
pub use dns::MAX_ITEMS as DNS_MAX_ITEMS;
/// The default bound on bytes held for TCP reassembly, per engine
/// (`Config::reassembly_budget`).
pub use reassembly::DEFAULT_BUDGET as DEFAULT_REASSEMBLY_BUDGET;
/// How long a connection's DPI may hold reassembly bytes without a new
/// payload packet before it is given up, by default (`Config::reassembly_idle`).
pub use reassembly::DEFAULT_IDLE as DEFAULT_REASSEMBLY_IDLE;

/// Stream (TCP) protocols, tried in this order on the first bytes of each
/// direction; the first that says yes wins.
pub(crate) const STREAM_PROTOCOLS: &[StreamClassifier] =
    &[ssh::classify, tls::classify, http::classify, dns::classify_stream];

/// Datagram (UDP) protocols, tried in this order on each datagram until one
/// says yes: DNS on its ports first (parsed leniently there), then QUIC, then
/// DNS anywhere (strictly), then HTTP requests (SSDP).
pub(crate) const DATAGRAM_PROTOCOLS: &[DatagramClassifier] =
    &[dns::classify_on_dns_port, quic::classify, dns::classify_anywhere, http::classify_datagram];

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
