//! A tmux server of a test's own (its own socket, killed on drop) driving
//! one session: keys in, screen out, waits with a deadline.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
    /// The session `keys`, `text` and `screen` address (the test creates it).
    session: String,
}

impl Tmux {
    pub fn new(socket: impl Into<String>, session: &str) -> Tmux {
        Tmux { socket: socket.into(), session: session.to_string() }
    }

    pub fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().expect("tmux runs")
    }

    /// Creates the session, `width` x `height`, running `cmd` (a shell line).
    pub fn start(&self, width: u16, height: u16, cmd: &str) {
        let (w, h) = (width.to_string(), height.to_string());
        let started = self.cmd(&["new-session", "-d", "-s", &self.session, "-x", &w, "-y", &h, cmd]);
        assert!(started.status.success(), "tmux new-session: {}", String::from_utf8_lossy(&started.stderr));
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.session.as_str()];
        args.extend_from_slice(keys);
        assert!(self.cmd(&args).status.success());
    }

    /// Literal text (no key-name lookup).
    pub fn text(&self, s: &str) {
        assert!(self.cmd(&["send-keys", "-t", &self.session, "-l", s]).status.success());
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", &self.session]).stdout).into_owned()
    }

    /// Waits until the screen shows every one of `want` (a frame may be caught half drawn).
    pub fn wait_all(&self, what: &str, want: &[&str]) -> String {
        self.wait_for(what, |s| want.iter().all(|w| s.contains(w)))
    }

    /// Waits up to 15 s until `pred` holds for the screen; panics with the screen if it never does.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_within(what, Duration::from_secs(15), pred)
    }

    /// [`Tmux::wait_for`] with its own deadline.
    pub fn wait_within(&self, what: &str, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > limit {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}
