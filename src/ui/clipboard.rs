//! Copying to the user's clipboard: the system clipboard through arboard, and
//! the OSC 52 escape, which terminals (also over SSH) turn into a clipboard write.

use base64::Engine as _;
use std::io::Write;

/// Keeps the arboard handle alive: on X11 the copied text is served by it.
#[derive(Default)]
pub struct Clipboard {
    system: Option<arboard::Clipboard>,
}

impl Clipboard {
    /// Copies `text`; writes OSC 52 to `term` when there is no system
    /// clipboard or we are in an SSH session. Returns a status message.
    pub fn copy(&mut self, text: &str, term: &mut impl Write) -> String {
        if self.system.is_none() {
            self.system = arboard::Clipboard::new().ok();
        }
        let system_ok = self.system.as_mut().is_some_and(|c| c.set_text(text.to_string()).is_ok());
        let remote = std::env::var_os("SSH_CONNECTION").is_some() || std::env::var_os("SSH_TTY").is_some();
        if system_ok && !remote {
            return format!("copied {text}");
        }
        match term.write_all(osc52(text).as_bytes()).and_then(|()| term.flush()) {
            Ok(()) => format!("copied {text} (terminal clipboard)"),
            Err(e) => format!("copy failed: {e}"),
        }
    }
}

/// `ESC ] 52 ; c ; <base64> BEL`: set the clipboard selection.
pub fn osc52(text: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{b64}\x07")
}

#[cfg(test)]
mod tests {
    #[test]
    fn osc52_sequence() {
        // base64("10.0.0.1:443") per RFC 4648.
        assert_eq!(super::osc52("10.0.0.1:443"), "\x1b]52;c;MTAuMC4wLjE6NDQz\x07");
    }
}
