//! Filter text to terms. Hand-written: the grammar is one loop over
//! whitespace-separated terms with quotes, smaller than any parser crate's setup.

use super::numeric::{NumField, NumTerm};
use super::{Field, FilterError, Needle, PortSet, Term, matcher};
use crate::track::all_service_names;

/// Keywords in the order the error message lists them.
const KEYWORDS: [(&str, Field); 19] = [
    ("port", Field::Port),
    ("sport", Field::Sport),
    ("dport", Field::Dport),
    ("src", Field::Src),
    ("dst", Field::Dst),
    ("proto", Field::Proto),
    ("process", Field::Process),
    ("user", Field::User),
    ("container", Field::Container),
    ("country", Field::Country),
    ("exporter", Field::Exporter),
    ("service", Field::Service),
    ("state", Field::State),
    ("sni", Field::Sni),
    ("host", Field::Host),
    ("ssh", Field::Ssh),
    ("app", Field::App),
    ("rtt", Field::Numeric),
    ("retrans", Field::Numeric),
];

/// Splits `text` into terms in the order written (negation and quotes
/// resolved, keywords checked); empty or all-whitespace text gives no terms.
pub(super) fn parse(text: &str) -> Result<Vec<Term>, FilterError> {
    let mut terms = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(terms);
        }
        let (term, after) = one_term(rest)?;
        terms.push(term);
        rest = after;
    }
}

fn err(message: String) -> FilterError {
    FilterError { message }
}

/// Parses the term at the start of `s` (no leading whitespace); returns it
/// and the text after it.
fn one_term(s: &str) -> Result<(Term, &str), FilterError> {
    let (negate, body) = match s.strip_prefix('!') {
        Some(b) => (true, b),
        None => (false, s),
    };
    if body.is_empty() || body.starts_with(char::is_whitespace) {
        return Err(err("\"!\" must be followed by a term, e.g. !proto:udp".to_string()));
    }
    if negate && body.starts_with('!') {
        return Err(err(format!("\"{}\": use a single \"!\" to negate a term", raw_term(s))));
    }
    let mut field = Field::Any;
    let mut numeric = None;
    let mut keyword_done = false;
    let mut in_quote = false;
    let mut quoted = false;
    let mut value = String::new();
    let mut end = body.len();
    for (i, c) in body.char_indices() {
        if c == '"' {
            in_quote = !in_quote;
            quoted = true;
            keyword_done = true;
        } else if in_quote {
            value.push(c);
        } else if c.is_whitespace() {
            end = i;
            break;
        } else if c == ':' && !keyword_done {
            keyword_done = true;
            match keyword(&value, s)? {
                Some(f) => {
                    field = f;
                    numeric = numeric_field(&value);
                    value.clear();
                }
                None => value.push(c),
            }
        } else {
            value.push(c);
        }
    }
    let raw = &s[..end + (s.len() - body.len())];
    if in_quote {
        return Err(err(format!("unterminated quote in {raw}")));
    }
    // A keyword with an empty value ("sni:") is a term still being typed: it
    // matches connections where the field is present (the empty string is a
    // substring of every value), so the table does not blank out meanwhile.
    if value.is_empty() && field == Field::Any && quoted {
        return Err(err(format!("empty quoted term {raw}")));
    }
    value.make_ascii_lowercase();
    let num = numeric.map(|f| NumTerm::parse(f, &value, raw)).transpose()?;
    let term = Term { negate, field, needle: needle(value), num };
    Ok((term, &body[end..]))
}

/// The numeric keyword named `kw`, if it is one.
fn numeric_field(kw: &str) -> Option<NumField> {
    if kw.eq_ignore_ascii_case("rtt") {
        Some(NumField::Rtt)
    } else if kw.eq_ignore_ascii_case("retrans") {
        Some(NumField::Retrans)
    } else {
        None
    }
}

/// The whitespace-delimited start of `s`, for messages.
fn raw_term(s: &str) -> &str {
    s.split(char::is_whitespace).next().unwrap_or(s)
}

/// The keyword named by `prefix` (text before the first unquoted `:`), or
/// None when the colon is part of a bare word (an IPv6 address like
/// `fe80::1` or `dead:beef::1`, an endpoint like `10.0.0.1:443`).
fn keyword(prefix: &str, term: &str) -> Result<Option<Field>, FilterError> {
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_') {
        return Ok(None);
    }
    if let Some((_, f)) = KEYWORDS.iter().find(|(k, _)| k.eq_ignore_ascii_case(prefix)) {
        return Ok(Some(*f));
    }
    // Hex-only words up to 4 letters are IPv6 groups, not keywords.
    if prefix.len() <= 4 && prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let known: Vec<&str> = KEYWORDS.iter().map(|(k, _)| *k).collect();
    let lower = prefix.to_ascii_lowercase();
    let hint = KEYWORDS
        .iter()
        .map(|(k, _)| (*k, strsim::levenshtein(k, &lower)))
        .filter(|(_, d)| *d <= 2)
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| format!(" (did you mean \"{k}:\"?)"))
        .unwrap_or_default();
    Err(err(format!("unknown keyword \"{prefix}:\" in {}{hint} — known: {}", raw_term(term), known.join(", "))))
}

fn needle(text: String) -> Needle {
    let found = |hay: &str| matcher::contains(&text, hay);
    let ports = (text.bytes().all(|b| b.is_ascii_digit())).then(|| port_set(text.as_bytes()));
    let addr = text.bytes().all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b':' | b'[' | b']'));
    let states = crate::track::State::ALL.iter().filter(|s| found(s.name())).fold(0u64, |m, s| m | 1 << (*s as u32));
    let protos = matcher::ALL_PROTOS.iter().filter(|p| found(p.name())).fold(0u8, |m, p| m | 1 << (*p as u8));
    let apps = matcher::APP_NAMES.iter().enumerate().filter(|(_, name)| found(name)).fold(0u32, |m, (i, _)| m | 1 << i);
    let service = all_service_names().any(found);
    let dots = text.bytes().filter(|&b| b == b'.').count();
    let v4 = ((1..=3).contains(&dots) && text.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        .then(|| text.split('.').map(|p| p.as_bytes().into()).collect());
    let uid = text.parse::<u32>().ok();
    Needle {
        ports,
        addr,
        dotted: text.contains('.'),
        states,
        protos,
        apps,
        service,
        v4,
        uid,
        text: text.into_boxed_str(),
    }
}

/// The ports whose decimal text contains `digits` (ASCII digits only).
/// Built from the shape of the text rather than by formatting and searching
/// all 65 536 ports (0.5 ms per numeric term, on every keystroke): a port of
/// `d` digits holds the needle at offset `k` exactly when it is
/// `prefix·10^(d-k) + needle·10^r + suffix`, with a `k`-digit prefix without
/// a leading zero and any `r = d-k-len` digit suffix — a run of 10^r ports.
fn port_set(digits: &[u8]) -> Box<PortSet> {
    let mut set = Box::new(PortSet([0; 1024]));
    let len = digits.len();
    if len == 0 {
        // The empty needle is in every text.
        set.0 = [u64::MAX; 1024];
        return set;
    }
    if len > 5 {
        return set;
    }
    let value = digits.iter().fold(0u32, |v, b| v * 10 + u32::from(b - b'0'));
    let pow = |e: usize| 10u32.pow(e as u32);
    for d in len..=5 {
        for k in 0..=d - len {
            // Only the one-digit "0" starts with a zero.
            if k == 0 && digits[0] == b'0' && d > 1 {
                continue;
            }
            let r = d - k - len;
            let prefixes = if k == 0 { 0..1 } else { pow(k - 1)..pow(k) };
            for prefix in prefixes {
                // At most 9999·10^5 + 99999: fits in u32.
                let start = prefix * pow(d - k) + value * pow(r);
                if start > u32::from(u16::MAX) {
                    break;
                }
                set.insert_range(start, start + pow(r) - 1);
            }
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Formats every port and searches it, as the parser once did.
    fn ports_by_search(needle: &str) -> Vec<u64> {
        let mut set = vec![0u64; 1024];
        for p in 0..=u16::MAX {
            if p.to_string().contains(needle) {
                set[usize::from(p >> 6)] |= 1 << (p & 63);
            }
        }
        set
    }

    /// Every needle of up to 3 digits (leading zeros included) gives the
    /// same ports as searching the text of each port.
    #[test]
    fn port_set_equals_search_short_needles() {
        // index: 10^len + value, so "7" and "07" differ.
        let mut want = vec![vec![0u64; 1024]; 2000];
        for p in 0..=u16::MAX {
            let t = p.to_string();
            for i in 0..t.len() {
                for j in i + 1..=(i + 3).min(t.len()) {
                    let v: usize = t[i..j].parse().unwrap_or(0);
                    want[10usize.pow((j - i) as u32) + v][usize::from(p >> 6)] |= 1 << (p & 63);
                }
            }
        }
        assert_eq!(port_set(b"").0.to_vec(), ports_by_search(""));
        for len in 1..=3 {
            for v in 0..10usize.pow(len) {
                let needle = format!("{v:0width$}", width = len as usize);
                let got = port_set(needle.as_bytes());
                assert!(got.0[..] == want[10usize.pow(len) + v][..], "{needle}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn port_set_equals_search(needle in "[0-9]{4,7}|[1-6][0-9]{3,4}") {
            proptest::prop_assert!(port_set(needle.as_bytes()).0[..] == ports_by_search(&needle)[..], "{}", needle);
        }
    }

    fn one(s: &str) -> Term {
        let mut t = parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(t.len(), 1, "{s}");
        t.remove(0)
    }

    fn error(s: &str) -> String {
        match parse(s) {
            Ok(t) => panic!("{s} parsed to {t:?}"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn keywords_and_values() {
        let t = one("PORT:443");
        assert_eq!((t.field, &*t.needle.text, t.negate), (Field::Port, "443", false));
        assert!(t.needle.addr);
        let ports = t.needle.ports.as_ref().unwrap();
        assert!(ports.contains(443) && ports.contains(4430) && ports.contains(8443));
        assert!(!ports.contains(44) && !ports.contains(4343) && !ports.contains(0));
        let t = one("!state:SYN_RECV");
        assert_eq!((t.field, &*t.needle.text, t.negate), (Field::State, "syn_recv", true));
        assert!(t.needle.ports.is_none() && !t.needle.addr);
        assert_eq!(t.needle.states, 1 << (crate::track::State::SynRecv as u32));
        let t = one("process:\"Web Content\"");
        assert_eq!((t.field, &*t.needle.text), (Field::Process, "web content"));
        let t = one("\"a:b c\"");
        assert_eq!((t.field, &*t.needle.text), (Field::Any, "a:b c"));
        for (kw, f) in KEYWORDS.iter().filter(|(_, f)| *f != Field::Numeric) {
            assert_eq!(one(&format!("{kw}:x")).field, *f);
        }
    }

    #[test]
    fn colons_in_bare_words() {
        for w in ["fe80::1", "dead:beef::1", "::1", "10.0.0.1:443", "[::1]:443"] {
            let t = one(w);
            assert_eq!((t.field, &*t.needle.text), (Field::Any, w), "{w}");
            assert!(t.needle.addr, "{w}");
        }
        // The value of a keyword may hold colons.
        let t = one("dst:fe80::1");
        assert_eq!((t.field, &*t.needle.text), (Field::Dst, "fe80::1"));
    }

    #[test]
    fn several_terms() {
        let t = parse("  sport:443   state:syn_recv\t!udp ").unwrap();
        let got: Vec<_> = t.iter().map(|t| (t.field, &*t.needle.text, t.negate)).collect();
        assert_eq!(got, [(Field::Sport, "443", false), (Field::State, "syn_recv", false), (Field::Any, "udp", true)]);
        assert!(parse("").unwrap().is_empty());
        assert!(parse(" \t ").unwrap().is_empty());
    }

    #[test]
    fn errors_are_clear() {
        let e = error("prot:tcp");
        assert!(e.contains("unknown keyword \"prot:\""), "{e}");
        assert!(e.contains("did you mean \"proto:\""), "{e}");
        assert!(e.contains("known: port, sport, dport, src, dst, proto"), "{e}");
        // An empty keyword value means "has this field".
        assert!(parse("port:").is_ok());
        assert!(parse("google sni: tcp").is_ok());
        assert!(error("!").contains("\"!\" must be followed by a term"));
        assert!(error("tcp ! udp").contains("\"!\" must be followed"));
        assert!(error("!!tcp").contains("single \"!\""));
        assert!(error("process:\"Web Content").contains("unterminated quote"));
        assert!(error("\"\"").contains("empty quoted term"));
        assert!(parse("sni:\"\"").is_ok());
        assert!(error("zzzzz:1").contains("unknown keyword \"zzzzz:\""));
        assert!(!error("zzzzz:1").contains("did you mean"));
    }
}
