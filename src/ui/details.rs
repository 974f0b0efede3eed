//! Details tab: everything known about the selected connection.

use super::app::App;
use super::format;
use super::theme::Theme;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};
use rustnet_core::dpi::AppInfo;
use rustnet_core::track::Connection;
use std::time::Duration;

pub struct Details<'a>(pub &'a App);

impl Widget for Details<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let t = app.theme;
        let ended = if app.gone.is_some() { "(ended) " } else { "" };
        let title = Span::styled(format!(" Connection details {ended}"), t.title());
        let mut block = Block::default().borders(Borders::TOP).title(title);
        let Some(c) = app.details_conn() else {
            Paragraph::new("no connection selected").style(t.label()).block(block).render(area, buf);
            return;
        };
        let para = Paragraph::new(lines(app, c, t)).wrap(Wrap { trim: false });
        // Scrolled by J/K, PgUp/PgDn; clamped so the last line stays in view.
        let height = area.height.saturating_sub(1);
        let total = u16::try_from(para.line_count(area.width)).unwrap_or(u16::MAX);
        let top = app.details_scroll.get().min(total.saturating_sub(height));
        app.details_scroll.set(top);
        if total > height {
            let end = (top + height).min(total);
            let pos = format!(" lines {}–{end} of {total} (J/K PgUp/PgDn scroll) ", top + 1);
            block = block.title(Line::styled(pos, t.label()).right_aligned());
        }
        para.block(block).scroll((top, 0)).render(area, buf);
    }
}

fn lines(app: &App, c: &Connection, t: Theme) -> Vec<Line<'static>> {
    let now = app.snapshot.now;
    let none = || "-".to_string();
    let mut out = Vec::new();
    let section = |out: &mut Vec<Line<'static>>, name: &str| {
        if !out.is_empty() {
            out.push(Line::raw(""));
        }
        out.push(Line::from(Span::styled(name.to_string(), t.section())));
    };
    let field = |out: &mut Vec<Line<'static>>, label: &str, value: String| {
        out.push(Line::from(vec![Span::styled(format!("  {label:<14} "), t.label()), Span::styled(value, t.value())]));
    };

    section(&mut out, "Connection");
    field(&mut out, "protocol", c.proto.name().to_string());
    field(&mut out, "local", c.local.display(c.proto).to_string());
    field(&mut out, "remote", c.remote.display(c.proto).to_string());
    field(&mut out, "hostname", c.hostname.clone().unwrap_or_else(none));
    if let Some(e) = &c.exporter {
        field(&mut out, "exporter", e.to_string());
    }
    if let Some(g) = format::geo(c) {
        field(&mut out, "geo", g);
    }
    if let Some(mac) = c.mac {
        let vendor = crate::host::oui::vendor(mac).unwrap_or("unknown vendor");
        field(&mut out, "device", format!("{} ({vendor})", crate::host::oui::format(mac)));
    }
    if c.gateway {
        field(&mut out, "gateway", "the default gateway".to_string());
    }
    // One that left the view (expired) is marked ended, whatever its state.
    let kind = if app.gone.is_some() { super::app::RowKind::Closed } else { app.row_kind(c) };
    field(&mut out, "state", format!("{} {}", c.state.name(), kind.marker().trim()));
    if let Some(r) = c.end_reason {
        field(&mut out, "ended", r.name().to_string());
    }
    field(&mut out, "service", c.service().map_or_else(none, str::to_string));
    field(&mut out, "id", c.id.to_string());

    section(&mut out, "Process");
    match &c.process {
        Some(p) => {
            field(&mut out, "pid", p.pid.to_string());
            field(&mut out, "name", p.name.clone());
            field(&mut out, "cmdline", p.cmdline.clone().unwrap_or_else(none));
            // Owner, lineage and container only when known: rows stay for what is there.
            if let Some(uid) = p.uid {
                field(&mut out, "user", format!("{} ({uid})", p.user.as_deref().unwrap_or("?")));
            }
            if let Some(exe) = &p.exe {
                field(&mut out, "exe", exe.clone());
            }
            if !p.parents.is_empty() {
                let chain: Vec<String> = p.parents.iter().map(|q| format!("{} {}", q.name, q.pid)).collect();
                field(&mut out, "parents", chain.join(" < "));
            }
            if let Some(k) = &p.container {
                let short = k.id.get(..12).unwrap_or(&k.id);
                let name = k.name.as_deref().map_or_else(String::new, |n| format!("{n} "));
                field(&mut out, "container", format!("{} {name}({short})", k.runtime));
                if let Some(pod) = &k.pod {
                    field(&mut out, "pod", pod.clone());
                }
            }
        }
        None => field(&mut out, "process", "unknown".to_string()),
    }

    section(&mut out, "Timing");
    field(&mut out, "first seen", format::timestamp(c.first_seen, app.utc));
    field(&mut out, "last seen", format::timestamp(c.last_seen, app.utc));
    field(&mut out, "age", format::duration(now.since(c.first_seen)));
    field(&mut out, "idle", format::duration(now.since(c.last_seen)));

    section(&mut out, "Traffic");
    let (tx, rx) = c.rates(app.rate_now());
    let packets = |n: u64| if n == 1 { "1 packet".to_string() } else { format!("{n} packets") };
    field(&mut out, "sent", format!("{}, {}", packets(c.tx_packets), format::bytes(c.tx_bytes as f64)));
    field(&mut out, "received", format!("{}, {}", packets(c.rx_packets), format::bytes(c.rx_bytes as f64)));
    field(&mut out, "rate up", format!("{}/s", format::bytes(tx)));
    field(&mut out, "rate down", format!("{}/s", format::bytes(rx)));

    analysis(&mut out, c, &field, &section);

    section(&mut out, "Application");
    match &c.app {
        None => field(&mut out, "protocol", "not identified".to_string()),
        Some(a) => {
            field(&mut out, "protocol", a.protocol().to_string());
            for (label, value) in app_fields(a) {
                field(&mut out, label, value);
            }
        }
    }
    out
}

type Out = Vec<Line<'static>>;

/// RTT, TCP analysis per direction and the last non-echo ICMP message.
fn analysis(out: &mut Out, c: &Connection, field: &dyn Fn(&mut Out, &str, String), section: &dyn Fn(&mut Out, &str)) {
    section(out, "Analysis");
    let rtt = |d: Option<Duration>| d.map_or_else(|| "-".to_string(), format::rtt);
    // TCP: the handshake's (as in JSON) and the smoothed one from data/ACK pairs.
    field(out, if c.tcp.is_some() { "handshake rtt" } else { "rtt" }, rtt(c.rtt));
    if let Some(t) = &c.tcp {
        field(out, "smoothed rtt", rtt(t.smoothed_rtt));
        for (label, d) in [("sent", &t.tx), ("received", &t.rx)] {
            let v = format!(
                "{} retransmits ({} fast), {} out of order, {} dup acks, {} zero window, flags {}",
                d.retransmits,
                d.fast_retransmits,
                d.out_of_order,
                d.dup_acks,
                d.zero_window,
                Some(d.flag_letters().as_str()).filter(|f| !f.is_empty()).unwrap_or("-")
            );
            field(out, label, v);
        }
    }
    if let Some(i) = &c.icmp {
        field(out, "icmp", format!("{} (type {}, code {})", i.name(), i.icmp_type, i.code));
    }
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".to_string())
}

fn list(v: &[String]) -> String {
    if v.is_empty() { "-".to_string() } else { v.join(", ") }
}

/// Every DPI field, labelled.
fn app_fields(a: &AppInfo) -> Vec<(&'static str, String)> {
    match a {
        AppInfo::Http(h) => vec![
            ("method", opt(&h.method)),
            ("host", opt(&h.host)),
            ("path", opt(&h.path)),
            ("user-agent", opt(&h.user_agent)),
        ],
        AppInfo::Tls(t) => vec![
            ("sni", opt(&t.sni)),
            ("alpn", list(&t.alpn)),
            ("version", opt(&t.version)),
            ("ech", if t.ech { "yes" } else { "no" }.to_string()),
            ("negotiated", opt(&t.negotiated_version)),
            ("cipher", opt(&t.cipher)),
            ("ja4", opt(&t.ja4)),
        ],
        AppInfo::Dns(d) | AppInfo::Mdns(d) | AppInfo::Llmnr(d) => {
            let mut v = vec![("rcode", opt(&d.rcode))];
            if d.queries.is_empty() {
                v.push(("query", "-".to_string()));
            }
            for q in &d.queries {
                v.push(("query", format!("{} {}", q.qtype, q.name)));
            }
            for r in &d.answers {
                v.push(("answer", format!("{} {} {}", r.name, r.rtype, r.data)));
            }
            v
        }
        AppInfo::Ssh(s) => vec![("client", opt(&s.client)), ("server", opt(&s.server)), ("software", opt(&s.software))],
        AppInfo::Quic(q) => vec![
            ("version", opt(&q.version)),
            ("sni", opt(&q.sni)),
            ("alpn", list(&q.alpn)),
            ("close", q.close.as_ref().map_or("-".to_string(), |c| format!("code {} {}", c.code, c.reason))),
        ],
        AppInfo::NetBios(b) => {
            vec![("service", b.service.clone()), ("opcode", opt(&b.opcode)), ("names", list(&b.names))]
        }
        AppInfo::Dhcp(d) => vec![
            ("version", d.version.to_string()),
            ("messages", list(&d.message_types)),
            ("hostname", opt(&d.hostname)),
            ("vendor class", opt(&d.vendor_class)),
            ("requested", opt(&d.requested_address)),
            ("offered", opt(&d.offered_address)),
        ],
        AppInfo::BitTorrent(b) => vec![
            ("transport", b.transport.clone()),
            ("info-hash", opt(&b.info_hash)),
            ("client", opt(&b.client)),
            ("dht queries", list(&b.dht_queries)),
        ],
        // Others (FTP, MQTT, STUN, NTP, SNMP, SSDP, …): the fields AppInfo lists.
        _ => {
            let mut v = vec![("protocol", a.protocol().to_string())];
            a.any_field(&mut |k, x| {
                v.push((k, format::field_text(x)));
                false
            });
            v
        }
    }
}
