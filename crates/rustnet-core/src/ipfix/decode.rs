//! IPFIX decoding (RFC 7011, biflows RFC 5103) for collector mode
//! (`--ipfix-listen`): messages from many exporters in, flow records out.
//! Sans-IO: the caller receives the datagrams and names their sender.
//!
//! Hand-written, in smoltcp's style (named offsets, every length checked,
//! accessors that return None instead of panicking): netflow_parser, the
//! maintained Rust crate, decodes no data record of rustnet's own messages
//! (see tests.rs), and the decoder is the mirror of the encoder here.
//!
//! Hostile input is counted and dropped: a bad set ends its message
//! (counted malformed); records of unknown templates are counted; memory is
//! bounded by [`MAX_EXPORTERS`] × [`MAX_TEMPLATES`] templates of at most
//! [`MAX_FIELDS`] fields (6 bytes each), the least recently used dropped.

use super::elements::{Kind, kind_of};
use super::{REVERSE_PEN, VERSION};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub use super::elements::FlowData;

/// Most exporters (transport session and observation domain) kept.
pub const MAX_EXPORTERS: usize = 64;
/// Most templates kept per exporter.
pub const MAX_TEMPLATES: usize = 256;
/// Most fields in a template; longer ones are malformed.
pub const MAX_FIELDS: usize = 256;
/// Longest observation domain name kept, in bytes.
const MAX_NAME: usize = 128;

/// Message header (RFC 7011 §3.1): named offsets.
mod header {
    pub(super) const VERSION: usize = 0;
    pub(super) const LENGTH: usize = 2;
    pub(super) const EXPORT_TIME: usize = 4;
    pub(super) const SEQUENCE: usize = 8;
    pub(super) const DOMAIN: usize = 12;
    pub(super) const LEN: usize = 16;
}
const SET_HEADER: usize = 4;
const TEMPLATE_SET: u16 = 2;
const OPTIONS_TEMPLATE_SET: u16 = 3;
const FIRST_DATA_SET: u16 = 256;
const VARLEN: u16 = 0xffff;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// An unsigned integer of 1 to 8 bytes (reduced-size encoding, RFC 7011 §6.2).
pub(super) fn uint(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 8 {
        return None;
    }
    Some(b.iter().fold(0u64, |v, &x| v << 8 | u64::from(x)))
}

/// Where an exporter's messages come from: its address and observation
/// domain (templates are scoped to both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExporterKey {
    /// The sender's address and port.
    pub addr: SocketAddr,
    /// The message header's Observation Domain ID.
    pub domain: u32,
}

/// One decoded data record.
#[derive(Clone, Debug)]
pub struct Received {
    /// Who sent it.
    pub exporter: ExporterKey,
    /// The exporter's observationDomainName, else its address.
    pub label: Arc<str>,
    /// Export time of the message (seconds since the Unix epoch).
    pub export_time: u32,
    /// The record's elements.
    pub flow: FlowData,
}

/// What the decoder counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Messages received.
    pub messages: u64,
    /// Data records decoded.
    pub records: u64,
    /// Messages (or their rest, from the bad set on) dropped as malformed.
    pub malformed: u64,
    /// Data sets dropped because their template is unknown.
    pub unknown_template: u64,
    /// Templates dropped to stay within [`MAX_TEMPLATES`].
    pub templates_dropped: u64,
    /// Exporters forgotten to stay within [`MAX_EXPORTERS`].
    pub exporters_dropped: u64,
    /// Data records missing according to the sequence numbers.
    pub lost: u64,
}

/// One field of a template, compiled: its length and meaning.
#[derive(Clone, Copy, Debug)]
pub(super) struct Spec {
    len: u16,
    kind: Kind,
}

#[derive(Debug)]
struct Template {
    fields: Box<[Spec]>,
    /// Shortest record: fixed lengths plus one byte per variable field.
    min_len: usize,
    /// Generation, to find the oldest.
    generation: u64,
}

#[derive(Debug)]
struct Exporter {
    key: ExporterKey,
    label: Arc<str>,
    templates: HashMap<u16, Template>,
    /// Template ids in the order defined (stale entries skipped).
    order: VecDeque<(u16, u64)>,
    next_sequence: Option<u32>,
    used: u64,
}

/// The collector's decoding state: exporters and their templates.
#[derive(Debug, Default)]
pub struct Decoder {
    exporters: Vec<Exporter>,
    tick: u64,
    stats: DecodeStats,
}

/// A reason to drop the rest of a message.
struct Malformed;

impl Decoder {
    /// A decoder that knows no exporter yet.
    pub fn new() -> Self {
        Decoder::default()
    }

    /// What was counted so far.
    pub fn stats(&self) -> &DecodeStats {
        &self.stats
    }

    /// Exporters known now.
    pub fn exporters(&self) -> usize {
        self.exporters.len()
    }

    /// Templates known now, over all exporters.
    pub fn template_count(&self) -> usize {
        self.exporters.iter().map(|e| e.templates.len()).sum()
    }

    /// Decodes one message from `from`, appending its data records to `out`.
    pub fn receive(&mut self, from: SocketAddr, msg: &[u8], out: &mut Vec<Received>) {
        self.stats.messages += 1;
        if self.message(from, msg, out).is_err() {
            self.stats.malformed += 1;
        }
    }

    fn message(&mut self, from: SocketAddr, msg: &[u8], out: &mut Vec<Received>) -> Result<(), Malformed> {
        if be16(msg, header::VERSION) != Some(VERSION) {
            return Err(Malformed);
        }
        let len = usize::from(be16(msg, header::LENGTH).ok_or(Malformed)?);
        if len < header::LEN || len > msg.len() {
            return Err(Malformed);
        }
        let msg = msg.get(..len).ok_or(Malformed)?;
        let export_time = be32(msg, header::EXPORT_TIME).ok_or(Malformed)?;
        let sequence = be32(msg, header::SEQUENCE).ok_or(Malformed)?;
        let domain = be32(msg, header::DOMAIN).ok_or(Malformed)?;
        let key = ExporterKey { addr: from, domain };
        let ex = self.exporter(key);
        let mut records = 0u32;
        let mut rest = msg.get(header::LEN..).ok_or(Malformed)?;
        let mut result = Ok(());
        while !rest.is_empty() {
            let (Some(id), Some(set_len)) = (be16(rest, 0), be16(rest, 2)) else {
                result = Err(Malformed);
                break;
            };
            let set_len = usize::from(set_len);
            let (Some(body), true) = (rest.get(SET_HEADER..set_len), set_len >= SET_HEADER) else {
                result = Err(Malformed);
                break;
            };
            rest = rest.get(set_len..).unwrap_or_default();
            let r = match id {
                TEMPLATE_SET => self.templates(ex, body, false),
                OPTIONS_TEMPLATE_SET => self.templates(ex, body, true),
                id if id >= FIRST_DATA_SET => self.data(ex, id, body, export_time, &mut records, out),
                // Sets 0, 1 (NetFlow v9's) and 4..=255 are reserved: skipped.
                _ => Ok(()),
            };
            if r.is_err() {
                result = r;
                break;
            }
        }
        self.sequence(ex, sequence, records);
        result
    }

    /// Counts records lost by the sequence number (RFC 7011 §3.1: the
    /// number of data records sent before this message, modulo 2^32).
    fn sequence(&mut self, ex: usize, sequence: u32, records: u32) {
        let Some(e) = self.exporters.get_mut(ex) else { return };
        if let Some(want) = e.next_sequence {
            let gap = sequence.wrapping_sub(want);
            // A gap "behind" (reordering, a restart) is not a loss.
            if gap > 0 && gap < 1 << 31 {
                self.stats.lost = self.stats.lost.saturating_add(u64::from(gap));
            }
        }
        e.next_sequence = Some(sequence.wrapping_add(records));
    }

    /// The index of `key`'s exporter, added (the least recently used
    /// forgotten when full).
    fn exporter(&mut self, key: ExporterKey) -> usize {
        self.tick += 1;
        if let Some(i) = self.exporters.iter().position(|e| e.key == key) {
            if let Some(e) = self.exporters.get_mut(i) {
                e.used = self.tick;
            }
            return i;
        }
        let e = Exporter {
            key,
            label: key.addr.ip().to_string().into(),
            templates: HashMap::new(),
            order: VecDeque::new(),
            next_sequence: None,
            used: self.tick,
        };
        if self.exporters.len() >= MAX_EXPORTERS
            && let Some((i, _)) = self.exporters.iter().enumerate().min_by_key(|(_, e)| e.used)
        {
            self.stats.exporters_dropped += 1;
            self.exporters[i] = e;
            return i;
        }
        self.exporters.push(e);
        self.exporters.len() - 1
    }

    /// A (options) template set: each template compiled and kept; a
    /// withdrawal (no fields) removes one.
    fn templates(&mut self, ex: usize, mut body: &[u8], options: bool) -> Result<(), Malformed> {
        // Padding: fewer bytes than the smallest template header.
        while body.len() >= 4 {
            let id = be16(body, 0).ok_or(Malformed)?;
            let count = usize::from(be16(body, 2).ok_or(Malformed)?);
            if id < FIRST_DATA_SET {
                return Err(Malformed);
            }
            let mut at = 4;
            if count == 0 {
                if let Some(e) = self.exporters.get_mut(ex) {
                    e.templates.remove(&id);
                }
                body = body.get(at..).unwrap_or_default();
                continue;
            }
            if options {
                // Scope field count: at least one (RFC 7011 §3.4.2.2).
                let scope = be16(body, at).ok_or(Malformed)?;
                if scope == 0 || usize::from(scope) > count {
                    return Err(Malformed);
                }
                at += 2;
            }
            if count > MAX_FIELDS {
                return Err(Malformed);
            }
            let mut fields = Vec::with_capacity(count);
            let mut min_len = 0usize;
            for _ in 0..count {
                let raw = be16(body, at).ok_or(Malformed)?;
                let len = be16(body, at + 2).ok_or(Malformed)?;
                at += 4;
                let pen = if raw & 0x8000 != 0 {
                    at += 4;
                    be32(body, at - 4).ok_or(Malformed)?
                } else {
                    0
                };
                let id = raw & 0x7fff;
                min_len += if len == VARLEN { 1 } else { usize::from(len) };
                let kind = kind_of(pen, id, len);
                fields.push(Spec { len, kind });
            }
            if min_len == 0 {
                // Records of no bytes would never end a set.
                return Err(Malformed);
            }
            self.keep(ex, id, Template { fields: fields.into_boxed_slice(), min_len, generation: 0 });
            body = body.get(at..).unwrap_or_default();
        }
        Ok(())
    }

    fn keep(&mut self, ex: usize, id: u16, mut t: Template) {
        self.tick += 1;
        t.generation = self.tick;
        let Some(e) = self.exporters.get_mut(ex) else { return };
        if !e.templates.contains_key(&id) && e.templates.len() >= MAX_TEMPLATES {
            while let Some((old, generation)) = e.order.pop_front() {
                if e.templates.get(&old).is_some_and(|t| t.generation == generation) {
                    e.templates.remove(&old);
                    self.stats.templates_dropped += 1;
                    break;
                }
            }
        }
        e.templates.insert(id, t);
        e.order.push_back((id, self.tick));
        // Redefinitions leave stale entries: compact now and then.
        if e.order.len() > 4 * MAX_TEMPLATES {
            let templates = &e.templates;
            e.order.retain(|(id, g)| templates.get(id).is_some_and(|t| t.generation == *g));
        }
    }

    /// A data set: its records, while they fit (the rest is padding).
    fn data(
        &mut self,
        ex: usize,
        id: u16,
        mut body: &[u8],
        export_time: u32,
        records: &mut u32,
        out: &mut Vec<Received>,
    ) -> Result<(), Malformed> {
        let Some(e) = self.exporters.get_mut(ex) else { return Ok(()) };
        let Some(t) = e.templates.get(&id) else {
            self.stats.unknown_template += 1;
            return Ok(());
        };
        while body.len() >= t.min_len {
            let mut flow = FlowData::default();
            let mut domain_name = None;
            for f in t.fields.iter() {
                let (value, after) = field(body, f.len).ok_or(Malformed)?;
                body = after;
                if let Kind::DomainName = f.kind {
                    domain_name = Some(value);
                } else {
                    flow.set(f.kind, value);
                }
            }
            *records = records.wrapping_add(1);
            if let Some(name) = domain_name {
                // An options record naming the domain (rustnet's, nProbe's).
                let name = super::elements::text(name, MAX_NAME);
                if !name.is_empty() {
                    e.label = name.into();
                }
                continue;
            }
            if flow.is_flow() {
                self.stats.records += 1;
                out.push(Received { exporter: e.key, label: e.label.clone(), export_time, flow });
            }
        }
        Ok(())
    }
}

/// One field's value of `len` (or variable length) at the start of `b`,
/// and what follows it.
fn field(b: &[u8], len: u16) -> Option<(&[u8], &[u8])> {
    let (n, skip) = if len == VARLEN {
        match *b.first()? {
            255 => (usize::from(be16(b, 1)?), 3),
            n => (usize::from(n), 1),
        }
    } else {
        (usize::from(len), 0usize)
    };
    let end = skip.checked_add(n)?;
    Some((b.get(skip..end)?, b.get(end..)?))
}

/// Whether an IANA element id under `pen` is a reverse one (RFC 5103).
pub(super) fn is_reverse(pen: u32) -> bool {
    pen == REVERSE_PEN
}

/// An address from 4 or 16 bytes.
pub(super) fn addr(b: &[u8]) -> Option<IpAddr> {
    match b.len() {
        4 => Some(IpAddr::from(<[u8; 4]>::try_from(b).ok()?)),
        16 => Some(IpAddr::from(<[u8; 16]>::try_from(b).ok()?)),
        _ => None,
    }
}
