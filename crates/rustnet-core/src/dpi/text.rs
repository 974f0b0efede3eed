//! Untrusted protocol text (host names, vendor strings) made safe to show.

/// Longest text kept from one field, in bytes of input.
pub(crate) const MAX_TEXT: usize = 128;

/// `bytes` (at most [`MAX_TEXT`] of them) as text: printable ASCII as is,
/// every other byte as `\xNN`, so a value can neither drive the terminal nor
/// hide what follows it.
pub(crate) fn shown(bytes: &[u8]) -> String {
    let bytes = bytes.get(..MAX_TEXT).unwrap_or(bytes);
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        if b == b' ' || b.is_ascii_graphic() && b != b'\\' {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn control_bytes_are_escaped() {
        assert_eq!(super::shown(b"ab c\x1b[2J\\\xff"), "ab c\\x1b[2J\\x5c\\xff");
        assert_eq!(super::shown(&[b'a'; 300]).len(), super::MAX_TEXT);
    }
}
