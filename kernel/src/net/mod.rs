//! The network service: the `net` crate's stack over the first network
//! device, run by the network thread.
//!
//! Drivers hand their devices over with [`add_device`] (`eth0`, `eth1`,
//! ...). The first one gets the stack, which starts its DHCP client at
//! once; the network thread polls it (device I/O, timers, DHCP) when the
//! device's interrupt raises its signal, when the stack asks, and every
//! [`POLL_MS`] at most. Later devices are
//! named and logged, not used yet. Everything else reaches the stack
//! through [`with_stack`], under its lock.
#![forbid(unsafe_code)]

use crate::sync::{Signal, SpinLock};
use crate::task::{priority, Entry, Thread};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};
use net::{DeviceError, NetDevice, Stack};

mod socket;
pub use socket::Socket;

/// The longest the network thread sleeps between polls, in
/// milliseconds (a device interrupt wakes it sooner).
pub const POLL_MS: u64 = 2;

/// A driver's device.
pub struct Device(Box<dyn NetDevice + Send>);

impl NetDevice for Device {
    fn mac(&self) -> [u8; 6] {
        self.0.mac()
    }
    fn mtu(&self) -> usize {
        self.0.mtu()
    }
    fn receive(&mut self, buf: &mut [u8]) -> Result<Option<usize>, DeviceError> {
        self.0.receive(buf)
    }
    fn transmit(&mut self, frame: &[u8]) -> Result<(), DeviceError> {
        self.0.transmit(frame)
    }
    fn can_transmit(&self) -> bool {
        self.0.can_transmit()
    }
}

static STACK: SpinLock<Option<Stack<Device>>> = SpinLock::new(None);
/// What eth0's interrupt raises.
static SIGNAL: SpinLock<Option<Arc<Signal>>> = SpinLock::new(None);
static DEVICES: AtomicUsize = AtomicUsize::new(0);

/// Milliseconds since boot, the stack's clock.
pub fn now_ms() -> u64 {
    crate::time::now_ns() / 1_000_000
}

/// Takes a driver's device (made by `make` with its name) and the signal
/// its interrupt raises; returns the name. The first device gets the
/// stack and the network thread.
pub fn add_device(
    make: impl FnOnce(&str) -> Box<dyn NetDevice + Send>,
    signal: Arc<Signal>,
) -> String {
    let n = DEVICES.fetch_add(1, Ordering::Relaxed);
    let name = format!("eth{n}");
    let device = Device(make(&name));
    if n > 0 {
        log::info!("{name}: only eth0 carries the stack for now; {name} is idle");
        return name;
    }
    // TCP sequence numbers, DHCP transaction ids and ephemeral ports come
    // from this seed: the TSC at boot, not only the MAC.
    let seed = crate::arch::cpu::rdtsc() ^ crate::time::now_ns().rotate_left(32);
    match Stack::with_seed(device, now_ms(), seed) {
        Ok(stack) => {
            *STACK.lock() = Some(stack);
            *SIGNAL.lock() = Some(signal);
            match Thread::new(
                "net",
                None,
                Entry::Kernel(network_thread, 0),
                priority::HIGH,
            )
            .and_then(crate::task::sched::start)
            {
                Ok(()) => log::info!("{name}: network stack up, DHCP started"),
                Err(e) => log::error!("{name}: cannot start the network thread: {e}"),
            }
        }
        Err(e) => log::error!("{name}: the network stack would not start: {e}"),
    }
    name
}

/// Interrupts eth0's device has raised since boot (0 without one).
pub fn interrupts() -> u64 {
    SIGNAL.lock().as_ref().map_or(0, |s| s.raises())
}

/// Runs `f` on the stack under its lock; `None` without a network device.
pub fn with_stack<R>(f: impl FnOnce(&mut Stack<Device>) -> R) -> Option<R> {
    STACK.lock().as_mut().map(f)
}

/// The network thread: polls the stack forever.
fn network_thread(_: u64) {
    let mut had_lease = false;
    loop {
        let now = now_ms();
        let (delay, lease) = with_stack(|s| {
            s.poll(now);
            (s.poll_delay(now_ms()), s.lease())
        })
        .unwrap_or((None, None));
        match (had_lease, lease) {
            (false, Some(l)) => log::info!(
                "eth0: {} /{} gateway {:?} ({:?})",
                l.address,
                l.prefix_len,
                l.gateway,
                l.origin
            ),
            (true, None) => log::warn!("eth0: lost its address"),
            _ => {}
        }
        had_lease = lease.is_some();
        let ms = delay.unwrap_or(POLL_MS).clamp(1, POLL_MS);
        let deadline = crate::time::now_ns().saturating_add(ms * 1_000_000);
        let signal = SIGNAL.lock().clone();
        match signal {
            Some(s) => {
                s.wait_until(deadline);
            }
            None => {
                let _ = crate::task::sched::sleep_ns(ms * 1_000_000);
            }
        }
    }
}
