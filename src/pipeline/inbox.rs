//! A worker's queue of messages that puts the worker to sleep at once when
//! it is empty. crossbeam's own blocking receive first spins and then calls
//! `sched_yield` several times before it parks: on a live capture that hands
//! a worker a small batch every 2 ms, the yields (and the task switches they
//! caused on a busy 2-core machine) were 38 % of rustnet's CPU under a UDP
//! flood (`perf`, scripts/bench-live.sh). Here the worker parks on a futex
//! as soon as the queue is empty, and a sender unparks it only when it
//! said it sleeps.

use super::worker::ToWorker;
use crossbeam_channel::{Receiver, RecvTimeoutError, SendError, SendTimeoutError, Sender, TryRecvError, TrySendError};
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// The longest a worker sleeps without a deadline before it looks again
/// (a safety net: every send and every sender's drop wakes it).
const NAP: Duration = Duration::from_millis(500);

/// Shared by a worker and its senders.
#[derive(Debug, Default)]
struct Bell {
    sleeping: AtomicBool,
    worker: OnceLock<Thread>,
}

impl Bell {
    fn ring(&self) {
        // Pairs with the fence in `recv_until`: either the worker sees the
        // message, or this sees it sleeping (Dekker).
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::Relaxed)
            && let Some(t) = self.worker.get()
        {
            t.unpark();
        }
    }
}

/// A sending end (cloned per dispatcher, snapshot and metrics caller).
#[derive(Debug)]
pub struct WorkerTx {
    tx: Option<Sender<ToWorker>>,
    bell: Arc<Bell>,
}

/// The worker's end.
pub struct WorkerRx {
    rx: Receiver<ToWorker>,
    bell: Arc<Bell>,
}

/// A queue of `cap` messages.
pub fn inbox(cap: usize) -> (WorkerTx, WorkerRx) {
    let (tx, rx) = crossbeam_channel::bounded(cap);
    let bell = Arc::new(Bell::default());
    (WorkerTx { tx: Some(tx), bell: bell.clone() }, WorkerRx { rx, bell })
}

impl Clone for WorkerTx {
    fn clone(&self) -> Self {
        WorkerTx { tx: self.tx.clone(), bell: self.bell.clone() }
    }
}

impl Drop for WorkerTx {
    /// The last sender gone ends the worker: wake it to see that.
    fn drop(&mut self) {
        drop(self.tx.take());
        self.bell.ring();
    }
}

impl WorkerTx {
    fn sender(&self) -> &Sender<ToWorker> {
        // Some until drop: `tx` is only taken there.
        self.tx.as_ref().expect("a sender lives until dropped")
    }

    /// Wakes the worker after a send that queued its message.
    fn rung<E>(&self, sent: Result<(), E>) -> Result<(), E> {
        sent?;
        self.bell.ring();
        Ok(())
    }

    pub fn send(&self, m: ToWorker) -> Result<(), SendError<ToWorker>> {
        self.rung(self.sender().send(m))
    }

    pub fn try_send(&self, m: ToWorker) -> Result<(), TrySendError<ToWorker>> {
        self.rung(self.sender().try_send(m))
    }

    pub fn send_timeout(&self, m: ToWorker, d: Duration) -> Result<(), SendTimeoutError<ToWorker>> {
        self.rung(self.sender().send_timeout(m, d))
    }
}

impl WorkerRx {
    /// Called on the worker's thread before its first receive.
    pub fn register(&self) {
        let _ = self.bell.worker.set(std::thread::current());
    }

    /// The next message, waiting until `deadline` (None: for ever).
    pub fn recv_until(&self, deadline: Option<Instant>) -> Result<ToWorker, RecvTimeoutError> {
        loop {
            match self.rx.try_recv() {
                Ok(m) => return Ok(m),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) => {}
            }
            let now = Instant::now();
            let nap = match deadline {
                Some(d) if d <= now => return Err(RecvTimeoutError::Timeout),
                Some(d) => (d - now).min(NAP),
                None => NAP,
            };
            self.bell.sleeping.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            if self.rx.is_empty() {
                std::thread::park_timeout(nap);
            }
            self.bell.sleeping.store(false, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustnet_core::Timestamp;

    /// Messages sent from another thread while the worker sleeps arrive at
    /// once (not after the nap), a deadline ends the wait, and the last
    /// sender's drop ends it too.
    #[test]
    fn wakes_on_send_deadline_and_last_drop() {
        let (tx, rx) = inbox(4);
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            rx.register();
            let t = Instant::now();
            let m = rx.recv_until(None);
            let _ = done_tx.send(t.elapsed());
            assert!(matches!(m, Ok(ToWorker::Advance(_))));
            let t = Instant::now();
            let m = rx.recv_until(Some(Instant::now() + Duration::from_millis(30)));
            assert!(matches!(m, Err(RecvTimeoutError::Timeout)));
            assert!(t.elapsed() >= Duration::from_millis(30));
            let t = Instant::now();
            let m = rx.recv_until(None);
            assert!(matches!(m, Err(RecvTimeoutError::Disconnected)));
            t.elapsed()
        });
        std::thread::sleep(Duration::from_millis(50));
        let sent = Instant::now();
        tx.send(ToWorker::Advance(Timestamp::ZERO)).expect("worker is there");
        let waited = done_rx.recv().expect("worker reports");
        assert!(sent.elapsed() < NAP / 2 && waited < NAP, "woken by the send: {waited:?}");
        std::thread::sleep(Duration::from_millis(80));
        drop(tx);
        let last = worker.join().expect("worker");
        assert!(last < NAP / 2, "woken by the last sender's drop: {last:?}");
    }
}
