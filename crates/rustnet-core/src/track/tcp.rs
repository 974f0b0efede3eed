//! TCP state as the local socket would report it (`ss` names), inferred from
//! the segments of both directions.

use super::state::State;
use crate::wire::tcp_flags::{ACK, FIN, RST, SYN};

/// `a >= b` in sequence space (RFC 1982 arithmetic).
fn seq_ge(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) >= 0
}

/// Per-connection TCP tracking state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TcpTracker {
    state: State,
    /// Sequence number just past the local FIN, once sent.
    local_fin_end: Option<u32>,
    /// Sequence number just past the remote FIN, once seen.
    remote_fin_end: Option<u32>,
}

impl TcpTracker {
    /// A tracker for a new connection: ESTABLISHED until its first segment
    /// says otherwise (without a SYN it was picked up mid-stream).
    pub(crate) fn new() -> Self {
        TcpTracker { state: State::Established, local_fin_end: None, remote_fin_end: None }
    }

    /// The TCP state as of the last segment fed.
    pub(crate) fn state(&self) -> State {
        self.state
    }

    /// Feeds one segment; `from_local` is its direction.
    pub(crate) fn on_segment(
        &mut self,
        from_local: bool,
        flags: u8,
        seq: u32,
        ack: u32,
        payload_len: usize,
        first: bool,
    ) {
        use State::*;
        if flags & RST != 0 {
            self.state = Closed;
            return;
        }
        let syn = flags & SYN != 0;
        let has_ack = flags & ACK != 0;
        if syn {
            self.state = match (from_local, has_ack, self.state) {
                // A fresh or retransmitted SYN; the table starts a new
                // connection for a SYN after close.
                (true, false, s) if first || s == SynSent => SynSent,
                (false, false, s) if first || s == SynRecv => SynRecv,
                (false, true, s) if first || s == SynSent => Established,
                (true, true, s) if first || s == SynRecv => SynRecv,
                (_, _, s) => s,
            };
            return;
        }
        if first {
            self.state = Established;
        }
        if has_ack {
            self.on_ack(from_local, ack);
        }
        if flags & FIN != 0 {
            let end = seq.wrapping_add(payload_len as u32).wrapping_add(1);
            self.on_fin(from_local, end);
        }
    }

    fn on_ack(&mut self, from_local: bool, ack: u32) {
        use State::*;
        if from_local {
            // The local side completing a passive open.
            if self.state == SynSent {
                self.state = Established;
            }
            return;
        }
        if self.state == SynRecv {
            self.state = Established;
        }
        let acks_our_fin = self.local_fin_end.is_some_and(|end| seq_ge(ack, end));
        if acks_our_fin {
            self.state = match self.state {
                FinWait1 => FinWait2,
                Closing => TimeWait,
                LastAck => Closed,
                s => s,
            };
        }
    }

    fn on_fin(&mut self, from_local: bool, end: u32) {
        use State::*;
        if from_local {
            self.local_fin_end.get_or_insert(end);
            self.state = match self.state {
                SynSent | SynRecv | Established => FinWait1,
                CloseWait => LastAck,
                s => s,
            };
        } else {
            self.remote_fin_end.get_or_insert(end);
            self.state = match self.state {
                SynSent | SynRecv | Established => CloseWait,
                FinWait1 => Closing,
                FinWait2 => TimeWait,
                s => s,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use State::*;

    /// (from_local, flags, seq, ack, len)
    type Seg = (bool, u8, u32, u32, usize);

    fn run(segs: &[Seg]) -> Vec<State> {
        let mut t = TcpTracker::new();
        segs.iter()
            .enumerate()
            .map(|(i, &(l, f, s, a, n))| {
                t.on_segment(l, f, s, a, n, i == 0);
                t.state()
            })
            .collect()
    }

    const L: bool = true;
    const R: bool = false;

    #[test]
    fn active_open_and_active_close() {
        let s = run(&[
            (L, SYN, 100, 0, 0),
            (R, SYN | ACK, 500, 101, 0),
            (L, ACK, 101, 501, 0),
            (L, ACK | FIN, 101, 501, 10),
            (R, ACK, 501, 112, 0),
            (R, ACK | FIN, 501, 112, 0),
            (L, ACK, 112, 502, 0),
        ]);
        assert_eq!(s, vec![SynSent, Established, Established, FinWait1, FinWait2, TimeWait, TimeWait]);
    }

    #[test]
    fn passive_open_and_passive_close() {
        let s = run(&[
            (R, SYN, 100, 0, 0),
            (L, SYN | ACK, 500, 101, 0),
            (R, ACK, 101, 501, 0),
            (R, ACK | FIN, 101, 501, 0),
            (L, ACK | FIN, 501, 102, 0),
            (R, ACK, 102, 502, 0),
        ]);
        assert_eq!(s, vec![SynRecv, SynRecv, Established, CloseWait, LastAck, Closed]);
    }

    #[test]
    fn simultaneous_close() {
        let s = run(&[(L, ACK, 1, 1, 0), (L, ACK | FIN, 1, 1, 0), (R, ACK | FIN, 1, 1, 0), (R, ACK, 2, 2, 0)]);
        assert_eq!(s, vec![Established, FinWait1, Closing, TimeWait]);
    }

    #[test]
    fn rst_closes_from_any_state() {
        assert_eq!(run(&[(L, SYN, 1, 0, 0), (R, RST | ACK, 0, 2, 0)]), vec![SynSent, Closed]);
        assert_eq!(run(&[(L, ACK, 1, 1, 5), (L, RST, 6, 0, 0)]), vec![Established, Closed]);
    }

    #[test]
    fn retransmitted_syn_and_fin_change_nothing() {
        let s = run(&[
            (L, SYN, 100, 0, 0),
            (L, SYN, 100, 0, 0),
            (R, SYN | ACK, 500, 101, 0),
            (R, SYN | ACK, 500, 101, 0),
            (L, ACK | FIN, 101, 501, 0),
            (L, ACK | FIN, 101, 501, 0),
        ]);
        assert_eq!(s, vec![SynSent, SynSent, Established, Established, FinWait1, FinWait1]);
    }

    #[test]
    fn stale_ack_does_not_complete_close() {
        // The remote acks data before our FIN: still FIN_WAIT1.
        let s = run(&[(L, ACK, 1, 1, 0), (L, ACK | FIN, 1, 1, 100), (R, ACK, 1, 50, 0), (R, ACK, 1, 102, 0)]);
        assert_eq!(s, vec![Established, FinWait1, FinWait1, FinWait2]);
    }

    #[test]
    fn mid_stream_pickup_is_established() {
        assert_eq!(run(&[(R, ACK | 0x08, 7, 9, 100)]), vec![Established]);
        assert_eq!(run(&[(R, SYN | ACK, 7, 9, 0)]), vec![Established]);
    }

    #[test]
    fn sequence_wraparound() {
        let s = run(&[(L, ACK, 1, 1, 0), (L, ACK | FIN, u32::MAX - 1, 1, 0), (R, ACK, 1, 0, 0)]);
        assert_eq!(s[2], FinWait2);
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_segment_sequence_is_safe(segs in proptest::collection::vec(
                (any::<bool>(), any::<u8>(), any::<u32>(), any::<u32>(), 0usize..2000), 0..40)) {
                let states = run(&segs);
                // Once CLOSED by a RST, only a new SYN (a new connection in the table) leaves it.
                for (i, st) in states.iter().enumerate() {
                    if *st == Closed && i + 1 < states.len() {
                        let (_, f, ..) = segs[i + 1];
                        if f & SYN == 0 { prop_assert!(states[i + 1] == Closed); }
                    }
                }
            }
        }
    }
}
