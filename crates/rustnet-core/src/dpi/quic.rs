//! QUIC (to be written): header parsing, Initial decryption, CRYPTO reassembly.

use super::QuicInfo;
use crate::track::State;

/// Per-connection QUIC inspection state.
#[derive(Clone, Debug, Default)]
pub struct QuicState {
    done: bool,
}

impl QuicState {
    /// Whether a UDP payload looks like a QUIC long-header packet.
    pub fn looks_like_quic(payload: &[u8]) -> bool {
        let _ = payload;
        false
    }

    /// Feeds one UDP datagram; returns the QUIC state.
    pub fn on_datagram(&mut self, from_client: bool, payload: &[u8], info: &mut QuicInfo) -> Option<State> {
        let _ = (from_client, payload, info);
        None
    }

    pub fn is_done(&self) -> bool {
        self.done
    }
}
