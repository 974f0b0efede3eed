//! The information elements rustnet exports: one template per IP version,
//! and how each element is read from a connection.

use super::{NTOP_PEN, REVERSE_PEN, RUSTNET_PEN};

/// Where an element's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Value {
    SrcV4,
    DstV4,
    SrcV6,
    DstV6,
    SrcPort,
    DstPort,
    Protocol,
    Packets(Dir),
    Octets(Dir),
    L2Octets(Dir),
    FlowStartMs,
    FlowEndMs,
    TcpFlags(Dir),
    EndReason,
    BiflowDirection,
    IcmpTypeCode,
    HttpMethod,
    HttpHost,
    HttpTarget,
    HttpUserAgent,
    ProcessPid,
    ProcessName,
    AppName,
    TlsSni,
    DnsQuery,
    State,
    RttUs,
    SmoothedRttUs,
    Tcp(Dir, TcpCounter),
}

/// Forward (local → remote) or reverse (RFC 5103).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dir {
    Fwd,
    Rev,
}

/// A TCP analysis counter of one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TcpCounter {
    Retransmits,
    FastRetransmits,
    OutOfOrder,
    DupAcks,
    ZeroWindow,
}

/// Variable length (RFC 7011 §7).
pub(super) const VARLEN: u16 = 0xffff;

/// One field specifier of a template.
#[derive(Clone, Copy, Debug)]
pub(super) struct Field {
    pub id: u16,
    pub len: u16,
    /// 0 for IANA elements.
    pub pen: u32,
    pub value: Value,
}

const fn iana(id: u16, len: u16, value: Value) -> Field {
    Field { id, len, pen: 0, value }
}

/// The reverse of an IANA element (RFC 5103 §6.1: PEN 29305, same id).
const fn rev(id: u16, len: u16, value: Value) -> Field {
    Field { id, len, pen: REVERSE_PEN, value }
}

const fn ntop(id: u16, len: u16, value: Value) -> Field {
    Field { id, len, pen: NTOP_PEN, value }
}

/// Own elements are numbered from 101: pmacct 1.7 mixes up enterprise
/// elements whose number an RFC 5103 reverse element (PEN 29305) of the
/// same template also has (1, 2, 6, 352 here).
const fn own(id: u16, len: u16, value: Value) -> Field {
    Field { id, len, pen: RUSTNET_PEN, value }
}

/// RFC 5103 §6.2: the reverse of an enterprise element sets bit 0x4000.
const fn own_rev(id: u16, len: u16, value: Value) -> Field {
    Field { id: id | 0x4000, len, pen: RUSTNET_PEN, value }
}

use Dir::{Fwd, Rev};
use TcpCounter::*;
use Value::*;

/// The elements after the addresses, shared by both templates.
const COMMON: [Field; 38] = [
    iana(7, 2, SrcPort),
    iana(11, 2, DstPort),
    iana(4, 1, Protocol),
    iana(2, 8, Packets(Fwd)),
    iana(1, 8, Octets(Fwd)),
    iana(352, 8, L2Octets(Fwd)),
    rev(2, 8, Packets(Rev)),
    rev(1, 8, Octets(Rev)),
    rev(352, 8, L2Octets(Rev)),
    iana(152, 8, FlowStartMs),
    iana(153, 8, FlowEndMs),
    iana(6, 1, TcpFlags(Fwd)),
    rev(6, 1, TcpFlags(Rev)),
    iana(136, 1, EndReason),
    iana(239, 1, BiflowDirection),
    // 32 or 139, set per template.
    iana(0, 2, IcmpTypeCode),
    // Fixed-length elements before the variable-length ones: collectors
    // then know their offsets from the template (pmacct 1.7 decodes no
    // more than the first few elements after a variable-length one).
    ntop(168, 4, ProcessPid),
    own(102, 4, RttUs),
    own(103, 4, SmoothedRttUs),
    own(104, 4, Tcp(Fwd, Retransmits)),
    own(105, 4, Tcp(Fwd, FastRetransmits)),
    own(106, 4, Tcp(Fwd, OutOfOrder)),
    own(107, 4, Tcp(Fwd, DupAcks)),
    own(108, 4, Tcp(Fwd, ZeroWindow)),
    own_rev(104, 4, Tcp(Rev, Retransmits)),
    own_rev(105, 4, Tcp(Rev, FastRetransmits)),
    own_rev(106, 4, Tcp(Rev, OutOfOrder)),
    own_rev(107, 4, Tcp(Rev, DupAcks)),
    own_rev(108, 4, Tcp(Rev, ZeroWindow)),
    ntop(169, VARLEN, ProcessName),
    ntop(119, VARLEN, AppName),
    ntop(188, VARLEN, TlsSni),
    ntop(205, VARLEN, DnsQuery),
    own(101, VARLEN, State),
    iana(459, VARLEN, HttpMethod),
    iana(460, VARLEN, HttpHost),
    iana(461, VARLEN, HttpTarget),
    iana(468, VARLEN, HttpUserAgent),
];

/// The template of one IP version: addresses, then [`COMMON`].
pub(super) fn template(v6: bool) -> Vec<Field> {
    let mut t =
        if v6 { vec![iana(27, 16, SrcV6), iana(28, 16, DstV6)] } else { vec![iana(8, 4, SrcV4), iana(12, 4, DstV4)] };
    for f in COMMON {
        let id = if f.value == IcmpTypeCode { if v6 { 139 } else { 32 } } else { f.id };
        t.push(Field { id, ..f });
    }
    t
}

/// Longest value of each text element, in bytes: with these caps the
/// largest record fits in a message of [`super::MIN_MTU`] bytes.
pub(super) fn text_cap(v: Value) -> usize {
    match v {
        HttpMethod => 16,
        HttpHost | TlsSni | DnsQuery => 120,
        HttpTarget | HttpUserAgent => 180,
        ProcessName => 64,
        AppName | State => 24,
        _ => 0,
    }
}
