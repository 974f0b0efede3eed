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

pub use crate::app::{AppInfo, DnsAnswer, DnsInfo, DnsQuestion, HttpInfo, QuicClose, QuicInfo, SshInfo, TlsInfo};
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
