//! Messages from other threads while the TUI owns the terminal.
//!
//! Nothing may be written to the terminal then: a panic on a capture,
//! worker or export thread used to go to ratatui's hook, which left the
//! alternate screen and printed the message while the UI went on drawing
//! over it in cooked mode. While [`Notices`] is installed, such a panic is
//! logged, queued, and ends the session; the queue is printed on stderr
//! once the terminal is restored. A panic on the UI thread itself still
//! goes to the previous hook (which restores the terminal first).

use std::panic::{self, PanicHookInfo};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

type Hook = dyn Fn(&PanicHookInfo<'_>) + Send + Sync + 'static;

/// The panic hook of a running TUI and what it queued.
pub struct Notices {
    queued: Arc<Mutex<Vec<String>>>,
    previous: Arc<Hook>,
}

impl Notices {
    /// Installs the hook; `stop` is set by a panic on any thread but this one.
    pub fn install(stop: Arc<AtomicBool>) -> Notices {
        let previous: Arc<Hook> = Arc::from(panic::take_hook());
        let queued = Arc::new(Mutex::new(Vec::new()));
        let ui_thread = std::thread::current().id();
        let (prev, q) = (previous.clone(), queued.clone());
        panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == ui_thread {
                prev(info);
                return;
            }
            let msg = describe(info);
            log::error!("{msg}");
            q.lock().unwrap_or_else(PoisonError::into_inner).push(msg);
            stop.store(true, Ordering::SeqCst);
        }));
        Notices { queued, previous }
    }

    /// Puts the previous hook back; returns the queued messages, to be
    /// printed now that the terminal is the user's again.
    pub fn finish(self) -> Vec<String> {
        drop(panic::take_hook());
        let previous = self.previous;
        panic::set_hook(Box::new(move |info| previous(info)));
        std::mem::take(&mut *self.queued.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// "thread 'NAME' panicked at FILE:LINE:COL: MESSAGE", as the default hook says it.
fn describe(info: &PanicHookInfo<'_>) -> String {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    let payload = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    match info.location() {
        Some(l) => format!("thread '{name}' panicked at {}:{}:{}: {payload}", l.file(), l.line(), l.column()),
        None => format!("thread '{name}' panicked: {payload}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic on another thread while the TUI runs is queued and stops the
    /// session; the hook in place before (ratatui's, which writes to the
    /// terminal) is not called. Before, nothing caught it: the previous hook
    /// left the screen and printed over the running UI.
    #[test]
    fn a_panic_on_another_thread_is_queued_not_printed() {
        let printed = Arc::new(AtomicBool::new(false));
        let p = printed.clone();
        let original = panic::take_hook();
        panic::set_hook(Box::new(move |_| p.store(true, Ordering::SeqCst)));
        let stop = Arc::new(AtomicBool::new(false));
        let notices = Notices::install(stop.clone());
        let joined = std::thread::Builder::new()
            .name("worker-test".into())
            .spawn(|| panic!("boom in a worker"))
            .expect("spawn")
            .join();
        let queued = notices.finish();
        panic::set_hook(original);
        assert!(joined.is_err(), "the thread panicked");
        assert!(!printed.load(Ordering::SeqCst), "the previous hook wrote over the TUI");
        assert!(stop.load(Ordering::SeqCst), "the session stops");
        assert_eq!(queued.len(), 1, "{queued:?}");
        assert!(queued[0].starts_with("thread 'worker-test' panicked at "), "{}", queued[0]);
        assert!(queued[0].ends_with(": boom in a worker"), "{}", queued[0]);
    }
}
