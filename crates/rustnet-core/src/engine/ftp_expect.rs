//! FTP data connections the engine expects: each PASV/EPSV reply and
//! PORT/EPRT command a control connection carries names an endpoint that a
//! data connection will open to. A new connection to (or from) one of them
//! is labelled FTP-data and linked to its control connection, as tshark's
//! FTP dissector links them. Nothing in a data connection's own bytes says
//! FTP, so this is the only way to know a passive one.
//!
//! Bounded: at most [`MAX`] endpoints, each forgotten [`LIFETIME`] (packet
//! time) after it was announced. Pipelines with several engines must route a
//! data connection to its control connection's engine (the dispatcher does,
//! from [`crate::dpi::ftp_announcements`]).

use crate::dpi::{AppInfo, FtpAnnounce, FtpDataInfo};
use crate::time::Timestamp;
use crate::track::{Endpoint, Proto};
use std::collections::HashMap;
use std::time::Duration;

/// Announced endpoints kept at most; more are not expected.
const MAX: usize = 1024;
/// How long an announced endpoint is expected. Clients open the data
/// connection right after the reply; tshark keeps its link for the whole
/// file, which an attacker could fill.
const LIFETIME: Duration = Duration::from_secs(300);
/// The control port: a connection on it is never a data connection.
const FTP_PORT: u16 = 21;

/// Endpoint → (control connection "client -> server", announced at).
#[derive(Debug, Default)]
pub(super) struct FtpExpect {
    map: HashMap<Endpoint, (String, Timestamp)>,
}

impl FtpExpect {
    pub(super) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Expects the data connection `a` announces on the control connection
    /// between `local` and `remote` (its server is the end on port 21).
    #[cold]
    pub(super) fn announce(&mut self, a: FtpAnnounce, local: Endpoint, remote: Endpoint, now: Timestamp) {
        let (client, server) = if remote.port == FTP_PORT { (local, remote) } else { (remote, local) };
        let control = format!("{} -> {}", client.display(Proto::Tcp), server.display(Proto::Tcp));
        for ep in a.listeners(client, server).into_iter().flatten() {
            if self.map.len() >= MAX && !self.map.contains_key(&ep) {
                self.sweep(now);
                if self.map.len() >= MAX {
                    return;
                }
            }
            self.map.insert(ep, (control.clone(), now));
        }
    }

    /// The label of a new TCP connection between `a` and `b`, when one end
    /// is an endpoint announced within the lifetime.
    #[cold]
    pub(super) fn label(&self, a: Endpoint, b: Endpoint, now: Timestamp) -> Option<AppInfo> {
        if a.port == FTP_PORT || b.port == FTP_PORT {
            return None;
        }
        let (control, at) = self.map.get(&b).or_else(|| self.map.get(&a))?;
        (now.since(*at) < LIFETIME).then(|| AppInfo::FtpData(FtpDataInfo { control: Some(control.clone()) }))
    }

    /// Forgets endpoints announced longer ago than the lifetime.
    pub(super) fn sweep(&mut self, now: Timestamp) {
        if !self.map.is_empty() {
            self.map.retain(|_, (_, at)| now.since(*at) < LIFETIME);
        }
    }
}
