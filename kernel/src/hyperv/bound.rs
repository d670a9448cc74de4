//! The devices a VMBus driver has bound, each watched by a thread of its
//! own until the host rescinds its channel, the device goes out of
//! service, or the driver stops them all.
//!
//! storvsc disks and netvsc adapters keep one [`Registry`] each. Removal
//! happens in one place ([`Registry::remove`]) outside the registry's
//! lock, so a device's own teardown (which may sleep) never runs under
//! a spin lock.
#![forbid(unsafe_code)]

use super::channel::Channel;
use crate::sync::SpinLock;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// How long [`Registry::stop_all`] waits for the watch threads.
const STOP_NS: u64 = 1_000_000_000;

/// A bound device, as its driver keeps it.
pub trait Bound: Clone + Send + 'static {
    /// Its name in its service (`sda`, `eth1`).
    fn name(&self) -> String;
    /// One turn of the watch thread; `Some(why)` takes the device out of
    /// service.
    fn service(&self) -> Option<String> {
        None
    }
    /// Takes the device out of its service and lets go of it; `host_gone`
    /// when the host rescinded it (nothing more may be asked of it).
    fn remove(self, host_gone: bool);
}

struct Entry<T> {
    serial: u64,
    relid: u32,
    channel: Arc<Channel>,
    device: T,
}

/// The devices one driver has bound.
pub struct Registry<T> {
    thread: &'static str,
    bound: SpinLock<Vec<Entry<T>>>,
    serial: AtomicU64,
    watchers: AtomicUsize,
}

impl<T: Bound> Registry<T> {
    /// An empty registry whose watch threads are called `thread`.
    pub const fn new(thread: &'static str) -> Self {
        Self {
            thread,
            bound: SpinLock::new(Vec::new()),
            serial: AtomicU64::new(0),
            watchers: AtomicUsize::new(0),
        }
    }

    /// The devices bound now.
    pub fn devices(&self) -> Vec<T> {
        self.bound.lock().iter().map(|e| e.device.clone()).collect()
    }

    /// Whether any watch thread runs.
    pub fn running(&self) -> bool {
        self.watchers.load(Ordering::Acquire) > 0
    }

    /// Adds `device` on channel `relid` and starts its watch thread,
    /// whose body is `watch` (a function calling [`Registry::watch`]).
    /// Without a thread the device is removed again.
    pub fn add(
        &self,
        relid: u32,
        channel: Arc<Channel>,
        device: T,
        watch: fn(u64),
    ) -> Result<(), String> {
        let serial = self.serial.fetch_add(1, Ordering::Relaxed) + 1;
        let name = device.name();
        self.bound.lock().push(Entry {
            serial,
            relid,
            channel,
            device,
        });
        self.watchers.fetch_add(1, Ordering::AcqRel);
        let started = crate::task::Thread::new(
            self.thread,
            None,
            crate::task::Entry::Kernel(watch, serial),
            crate::task::priority::NORMAL,
        )
        .and_then(crate::task::sched::start);
        if started.is_err() {
            self.watchers.fetch_sub(1, Ordering::AcqRel);
            self.remove(serial, "no watch thread", false);
            return Err(format!("{name}: no watch thread"));
        }
        Ok(())
    }

    /// Removes every device (as a rescind would, but asking the host to
    /// let go) and waits up to a second for the watch threads to end;
    /// whether they did.
    pub fn stop_all(&self) -> bool {
        let serials: Vec<u64> = self.bound.lock().iter().map(|e| e.serial).collect();
        for s in serials {
            self.remove(s, "stopped", false);
        }
        let deadline = crate::time::now_ns().saturating_add(STOP_NS);
        while self.running() && crate::time::now_ns() < deadline {
            let _ = crate::task::sched::sleep_ns(5_000_000);
        }
        !self.running()
    }

    /// Removes device `serial` if it is still bound (outside the lock).
    fn remove(&self, serial: u64, why: &str, host_gone: bool) {
        let entry = {
            let mut all = self.bound.lock();
            all.iter()
                .position(|e| e.serial == serial)
                .map(|at| all.swap_remove(at))
        };
        let Some(e) = entry else {
            return;
        };
        log::info!("{}: relid {} removed: {why}", e.device.name(), e.relid);
        e.device.remove(host_gone);
    }

    /// The watch thread of device `serial`: every `period_ns` it serves
    /// the device; it removes it on a rescind or when it goes out of
    /// service, and ends once the device is gone.
    pub fn watch(&self, serial: u64, period_ns: u64) {
        loop {
            let found = self
                .bound
                .lock()
                .iter()
                .find(|e| e.serial == serial)
                .map(|e| (e.channel.rescinded(), e.device.clone()));
            match found {
                None => break,
                Some((true, _)) => {
                    self.remove(serial, "the host rescinded the channel", true);
                    break;
                }
                Some((false, device)) => {
                    if let Some(why) = device.service() {
                        self.remove(serial, &format!("out of service ({why})"), false);
                        break;
                    }
                    let _ = crate::task::sched::sleep_ns(period_ns);
                }
            }
        }
        self.watchers.fetch_sub(1, Ordering::AcqRel);
    }
}
